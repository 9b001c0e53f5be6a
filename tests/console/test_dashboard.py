"""The console's index for staff: today's and the last 30 days' money by currency and kind, and what needs a look.

The daily figures come from ``transactions.totals``: settled days stored once, the rest counted
live; they must equal the raw sums of the transactions, whatever was stored before.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import account_status_change
from audit.models import AuditRecord
from reconciliation.models import ReconciliationRun
from tests.console.helpers import admin_url, logged_in, make_user
from tests.console.test_query_counts import grow
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.models import DailyTotal, Transaction
from transactions.totals import SETTLE_MARGIN, daily_totals

pytestmark = pytest.mark.django_db


def at(moment: datetime.datetime, monkeypatch, post) -> Transaction:
    """Post with the ledger's clock at ``moment`` (postings are stamped by the journal's clock)."""
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: moment)
        return post()


def raw_sums(first: datetime.date, last: datetime.date) -> dict[tuple, tuple[int, int]]:
    """The count and volume of each (day, currency, kind), summed in Python from every transaction."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for txn in Transaction.objects.all():
        day = timezone.localdate(txn.created_at)
        if first <= day <= last:
            sums[(day, txn.currency, txn.kind)][0] += 1
            sums[(day, txn.currency, txn.kind)][1] += txn.amount_minor
    return {key: tuple(value) for key, value in sums.items()}


def as_dict(totals) -> dict[tuple, tuple[int, int]]:
    return {(t.day, t.currency, t.kind): (t.count, t.volume_minor) for t in totals}


@pytest.fixture
def history(monkeypatch):
    """Movements in USD and JPY today, yesterday, 3, 29 and 40 days ago, and a reversal today."""
    owner = UserFactory()
    usd, usd2 = AccountFactory(owner=owner, currency="USD"), AccountFactory(owner=owner, currency="USD")
    jpy = AccountFactory(owner=owner, currency="JPY")
    now = timezone.now()
    for days in (40, 29, 3, 1, 0):
        moment = now - datetime.timedelta(days=days)
        at(moment, monkeypatch, lambda: services.deposit_create(actor=owner, account_id=usd.public_id, amount="100.00"))
        at(moment, monkeypatch, lambda: services.deposit_create(actor=owner, account_id=jpy.public_id, amount="500"))
        at(
            moment,
            monkeypatch,
            lambda: services.transfer_create(
                actor=owner, source_account_id=usd.public_id, destination_account_id=usd2.public_id, amount="7.25"
            ),
        )
        at(moment, monkeypatch, lambda: services.withdrawal_create(actor=owner, account_id=jpy.public_id, amount="30"))
    staff = make_user("reverser")
    last = Transaction.objects.filter(kind="withdrawal").latest("id")
    services.transaction_reverse(actor=staff, transaction_id=last.public_id, reason="customer dispute")
    return owner, usd, jpy


def test_daily_totals_equal_the_raw_sums_and_settled_days_are_stored_once(history):
    today = timezone.localdate()
    first = today - datetime.timedelta(days=45)

    assert as_dict(daily_totals(first=first, last=today)) == raw_sums(first, today)
    stored = set(DailyTotal.objects.values_list("day", flat=True))
    settled = timezone.localdate(timezone.now() - SETTLE_MARGIN)
    assert stored
    assert all(day < settled for day in stored), "only settled days are stored"
    assert today not in stored

    # Read again: the stored days answer, and a movement today shows at once.
    owner, usd, _ = history
    services.deposit_create(actor=owner, account_id=usd.public_id, amount="1.01")
    with CaptureQueriesContext(connection) as queries:
        again = daily_totals(first=first, last=today)
    assert as_dict(again) == raw_sums(first, today)
    # The stored days, the settled days without transactions (probed again) and today's, counted live.
    assert len(queries) == 3
    assert DailyTotal.objects.filter(day=today).count() == 0


def test_a_day_is_not_stored_before_its_margin_has_passed(history):
    today = timezone.localdate()
    just_after_midnight = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min)) + (SETTLE_MARGIN / 2)
    yesterday = today - datetime.timedelta(days=1)
    totals = as_dict(daily_totals(first=yesterday, last=yesterday, now=just_after_midnight))

    assert totals == raw_sums(yesterday, yesterday)
    assert not DailyTotal.objects.filter(day=yesterday).exists(), "a write may still commit a transaction dated then"


def test_the_dashboard_shows_each_currency_s_money_by_kind_today_and_over_30_days(history, auditor):
    _owner, usd, _jpy = history
    account_status_change(operator=auditor, account_id=usd.public_id, action="freeze", reason="KYC review pending")
    run = ReconciliationRun.objects.create(
        started_at=timezone.now(),
        finished_at=timezone.now(),
        scope=ReconciliationRun.Scope.ALL,
        result=ReconciliationRun.Result.CLEAN,
        run_by="manage.py reconcile (ops@db1)",
    )
    response = logged_in(auditor).get(admin_url("index"))
    assert response.status_code == 200
    page = response.content.decode()
    usd_rows = {
        row["kind"]: row
        for row in next(c for c in response.context["dashboard"]["currencies"] if c["code"] == "USD")["rows"]
    }

    # Today: one deposit of 100.00 and one transfer of 7.25; 30 days: today, yesterday, 3 and 29 days ago.
    assert (usd_rows["Deposit"]["today_count"], usd_rows["Deposit"]["today_volume"]) == (1, "100.00 USD")
    assert (usd_rows["Deposit"]["period_count"], usd_rows["Deposit"]["period_volume"]) == (4, "400.00 USD")
    assert (usd_rows["Transfer"]["period_count"], usd_rows["Transfer"]["period_volume"]) == (4, "29.00 USD")
    jpy_rows = {
        row["kind"]: row
        for row in next(c for c in response.context["dashboard"]["currencies"] if c["code"] == "JPY")["rows"]
    }
    assert (jpy_rows["Withdrawal"]["period_count"], jpy_rows["Withdrawal"]["period_volume"]) == (4, "120 JPY")
    assert (jpy_rows["Reversal"]["today_count"], jpy_rows["Reversal"]["today_volume"]) == (1, "30 JPY")

    chart = response.context["dashboard"]["chart"]
    assert json.loads(page.split('id="dashboard-chart" type="application/json">')[1].split("</script>")[0]) == chart
    assert len(chart["days"]) == 30
    assert chart["days"][-1] == timezone.localdate().isoformat()
    deposits = chart["currencies"]["USD"][chart["kinds"].index("Deposit")]
    # 29, 3 and 1 days ago and today; nothing on the other days (40 days ago is outside).
    assert [n for n, volume in enumerate(deposits) if volume != "0.00"] == [0, 26, 28, 29]
    assert deposits[29] == "100.00"
    assert 'id="dashboard-chart"' in page
    assert "console/vendor/chartjs/chart.umd.min.js" in page
    assert "cdn" not in page.lower()

    assert admin_url("reconciliation_reconciliationrun_change", run.pk) in page
    assert admin_url("accounts_account_change", usd.pk) in page
    assert "KYC review pending" in page
    reversal = Transaction.objects.get(kind="reversal")
    assert admin_url("transactions_transaction_change", reversal.pk) in page
    assert 'id="content-main"' in page, "the app list stays below the dashboard"


def test_open_holds_show_what_they_reserve(hold, auditor):
    response = logged_in(auditor).get(admin_url("index"))
    usd = next(c for c in response.context["dashboard"]["currencies"] if c["code"] == "USD")
    assert (usd["open_holds"], usd["reserved"]) == (1, "10.00 USD")


def test_staff_without_the_books_permission_get_the_app_list_only(bare_staff, history):
    response = logged_in(bare_staff).get(admin_url("index"))
    assert response.status_code == 200
    assert "dashboard" not in response.context
    assert 'id="dashboard"' not in response.content.decode()


def test_visitors_who_are_not_staff_are_sent_to_log_in(non_staff):
    assert logged_in(non_staff).get(admin_url("index")).status_code == 302
    assert logged_in(None).get(admin_url("index")).status_code == 302


def test_the_dashboard_costs_the_same_queries_with_more_rows_and_never_reads_postings(auditor):
    client = logged_in(auditor)
    operator = make_user("operator-dash")

    def queries() -> list[str]:
        client.get(admin_url("index"))  # The first read stores the settled days; count the next.
        with CaptureQueriesContext(connection) as captured:
            assert client.get(admin_url("index")).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    grow(2, operator)
    few = queries()
    grow(12, operator)
    many = queries()
    assert len(few) == len(many)
    assert not [sql for sql in many if "transactions_posting" in sql], "the dashboard never reads postings"
    on_transactions = [sql for sql in many if 'FROM "transactions_transaction"' in sql]
    assert on_transactions
    assert all("LIMIT" in sql or '"created_at" >=' in sql for sql in on_transactions), (
        "every read of the transactions is bounded: a page of the latest, or a range of days"
    )


def test_an_audit_record_naming_no_account_does_not_break_the_page(auditor):
    AuditRecord.objects.create(
        operator_label="manage.py (ops@db1)", action="freeze", target_type="account", target_id="5", reason="imported"
    )
    response = logged_in(auditor).get(admin_url("index"))
    assert response.status_code == 200
    assert "imported" in response.content.decode()


def test_with_a_broker_the_dashboard_says_how_late_publishing_is(auditor, settings, monkeypatch):
    settings.LEDGER_EVENTS_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD")
    services.deposit_create(actor=owner, account_id=account.public_id, amount="1.00")
    client = logged_in(auditor)
    # Ninety seconds later, no relay has run: the deposit's event still waits.
    later = timezone.now() + datetime.timedelta(seconds=90)
    publishing = at(later, monkeypatch, lambda: client.get(admin_url("index"))).context["dashboard"]["publishing"]
    assert publishing["configured"] is True
    assert 90 <= publishing["lag_seconds"] < 150
    assert publishing["heartbeat_at"] == "-"

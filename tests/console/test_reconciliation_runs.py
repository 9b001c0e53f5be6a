"""The admin shows reconciliation runs and their findings, and nobody can add, change or delete them there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from harness.commands import run
from reconciliation.models import ReconciliationRun
from tests.commands.helpers import sql

pytestmark = pytest.mark.postgres


@pytest.fixture
def admin_client(db) -> Client:
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("auditor", password="not-used-here-1"))
    return browser


def _get(browser: Client, url: str):
    return browser.get(url, secure=True)  # production settings redirect plain HTTP


def test_the_list_shows_each_run_with_its_scope_result_and_count(ledger, admin_client):
    run("reconcile")
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE id = %s", [ledger.bob.pk])
    run("reconcile", "--account", str(ledger.bob.public_id))

    page = _get(admin_client, "/admin/reconciliation/reconciliationrun/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "All accounts" in html
    assert f'account <span class="id-chip"><code class="short-id" title="{ledger.bob.public_id}">' in html
    assert "Discrepancies found" in html
    assert "Clean" in html


def test_a_runs_page_lists_its_findings(ledger, admin_client):
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE id = %s", [ledger.bob.pk])
    run("reconcile")
    dirty = ReconciliationRun.objects.get()

    page = _get(admin_client, f"/admin/reconciliation/reconciliationrun/{dirty.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    bob_page = f"/admin/accounts/account/{ledger.bob.pk}/change/"
    assert f'<a href="{bob_page}" class="short-id-link"><code class="short-id" title="{ledger.bob.public_id}">' in html
    assert "stored balance differs from the sum of its postings" in html
    assert "<td>45.25</td><td>45.26</td>" in html  # expected, found
    assert "<td>balances</td><td>1</td>" in html  # the checks table
    assert 'name="_save"' not in html  # read-only


def test_a_finding_about_a_hold_names_the_hold(ledger, admin_client):
    from decimal import Decimal

    from tests.commands.helpers import disable_triggers
    from transactions.holds import hold_create

    held = hold_create(actor=ledger.bob.owner, account_id=ledger.bob.public_id, amount=Decimal("5.00"))
    disable_triggers("accounts_hold", "hold_guard", "hold_capture_total", "hold_reservation")
    sql("UPDATE accounts_hold SET captured_minor = 100 WHERE id = %s", [held.pk])
    run("reconcile")
    dirty = ReconciliationRun.objects.get()

    html = _get(admin_client, f"/admin/reconciliation/reconciliationrun/{dirty.pk}/change/").content.decode()

    assert "<th>hold</th>" in html
    hold_page = f"/admin/accounts/hold/{held.pk}/change/"
    assert f'<a href="{hold_page}" class="short-id-link"><code class="short-id" title="{held.public_id}">' in html


def test_runs_cannot_be_added_changed_or_deleted(ledger, admin_client):
    run("reconcile")
    recorded = ReconciliationRun.objects.get()
    base = "/admin/reconciliation/reconciliationrun"

    assert _get(admin_client, f"{base}/add/").status_code == 403
    assert _get(admin_client, f"{base}/{recorded.pk}/delete/").status_code == 403
    changed = admin_client.post(
        f"{base}/{recorded.pk}/change/", {"result": "error", "discrepancy_count": "7"}, secure=True
    )
    assert changed.status_code == 403
    assert ReconciliationRun.objects.get().result == "clean"
    assert ReconciliationRun.objects.count() == 1


def test_a_runs_checks_and_findings_are_listed_in_the_order_the_checks_run_with_links(ledger, admin_client):
    from django.utils import timezone

    from reconciliation.checks import CHECKS

    now = timezone.now()
    names = [check.name for check in CHECKS]
    recorded = ReconciliationRun.objects.create(
        started_at=now,
        finished_at=now,
        scope="all",
        checks={name: {"discrepancies": 0, "seconds": 0.01} for name in reversed(names)},  # Stored out of order.
        result="discrepancies",
        discrepancy_count=2,
        discrepancies=[
            {"check": "events", "problem": "no event", "expected": "1", "found": "0", "transaction": "x"},
            {
                "check": "balances",
                "problem": "stored balance differs",
                "expected": "1",
                "found": "2",
                "account": str(ledger.bob.public_id),
            },
        ],
        run_by="test",
    )

    html = _get(admin_client, f"/admin/reconciliation/reconciliationrun/{recorded.pk}/change/").content.decode()

    positions = [html.index(f"<td>{name}</td>") for name in names]
    assert positions == sorted(positions)  # The checks table, as the checks run.
    assert html.index("stored balance differs") < html.index("no event")  # Findings too: balances first.
    bob_page = f"/admin/accounts/account/{ledger.bob.pk}/change/"
    assert f'<a href="{bob_page}" class="short-id-link">' in html  # The account links to its page.

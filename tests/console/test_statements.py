"""An account's statement in the console, and its CSV: the same statement ``manage.py statement`` proves."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.console.helpers import admin_url, logged_in
from tests.factories import AccountFactory, UserFactory
from transactions import services

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def statement_url(account, **query) -> str:
    url = admin_url("accounts_account_statement", account.pk)
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def today_query(**extra) -> dict:
    day = TODAY().isoformat()
    return {"start": day, "end": day, **extra}


def streamed(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_a_statement_shows_opening_postings_with_counterparties_running_balances_and_closing(books, auditor):
    services.withdrawal_create(
        actor=books.client_user, account_id=books.alice.public_id, amount="5.00", reference="ATM-1"
    )
    response = logged_in(auditor).get(statement_url(books.alice, **today_query()))
    assert response.status_code == 200
    statement = response.context["statement"]

    assert (statement["opening"], statement["closing"]) == ("0.00 USD", "65.00 USD")
    assert (statement["credits"], statement["debits"]) == ("100.00 USD", "-35.00 USD")
    rows = [(r["kind"], r["counterparty"], r["reference"], r["amount"], r["balance_after"]) for r in statement["rows"]]
    assert rows == [
        ("deposit", "the outside world", "INV-100", "100.00 USD", "100.00 USD"),
        ("transfer", "Bob", "RENT-7", "-30.00 USD", "70.00 USD"),
        ("withdrawal", "the outside world", "ATM-1", "-5.00 USD", "65.00 USD"),
    ]
    page = response.content.decode()
    assert "checked (3 postings)" in page
    assert statement["csv_url"] in page.replace("&amp;", "&")


def test_bob_sees_alice_as_the_counterparty_of_what_he_received(books, auditor):
    statement = logged_in(auditor).get(statement_url(books.bob, **today_query())).context["statement"]
    assert [(r["counterparty"], r["amount"]) for r in statement["rows"]] == [("Alice", "30.00 USD")]


def test_the_csv_is_the_statement_command_s_own(books, auditor):
    response = logged_in(auditor).get(statement_url(books.alice, **today_query(format="csv")))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    downloaded = streamed(response)

    printed = io.StringIO()
    day = TODAY().isoformat()
    call_command("statement", str(books.alice.public_id), "--from", day, "--to", day, stdout=printed)

    def as_rows(text: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(text)))

    def strip(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        """The rows but the closing instant (each is "now" when the statement was read)."""
        return [{k: v for k, v in r.items() if not (r["type"] == "closing" and k == "created_at")} for r in rows]

    assert strip(as_rows(downloaded)) == strip(as_rows(printed.getvalue()))
    kinds = [(r["type"], r["counterparty"], r["amount"], r["balance_after"]) for r in as_rows(downloaded)]
    assert kinds[0] == ("opening", "", "", "0.00")
    assert kinds[-1] == ("closing", "", "70.00", "70.00")


def test_client_text_in_the_csv_is_never_a_formula(auditor):
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD", name="=HYPERLINK(evil)")
    services.deposit_create(
        actor=owner, account_id=account.public_id, amount="1.00", reference="=1+2", description="@SUM(A1)"
    )
    rows = list(
        csv.DictReader(
            io.StringIO(streamed(logged_in(auditor).get(statement_url(account, **today_query(format="csv")))))
        )
    )
    posting = next(r for r in rows if r["type"] == "posting")
    assert (posting["reference"], posting["description"], posting["amount"]) == ("'=1+2", "'@SUM(A1)", "1.00")


def test_without_a_period_it_is_last_month(books, auditor):
    response = logged_in(auditor).get(statement_url(books.alice))
    first = TODAY().replace(day=1) - datetime.timedelta(days=1)
    assert response.context["form"].initial["end"] == first
    assert response.context["form"].initial["start"] == first.replace(day=1)
    assert response.context["statement"]["rows"] == []  # Everything happened today.
    assert response.context["statement"]["closing"] == "0.00 USD"


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-13-01", "end": "2026-12-01"},
        {"start": "2026-12-01", "end": "2026-11-01"},
        {"start": "0001-01-01", "end": "9999-12-31"},
        {"start": "\u0663", "end": "x"},
        {"start": "2026-01-01"},
    ],
)
def test_a_bad_period_is_a_form_error_not_a_500(books, auditor, query):
    response = logged_in(auditor).get(statement_url(books.alice, **query))
    assert response.status_code == 200
    assert response.context["statement"] is None
    assert response.context["form"].errors


def test_no_such_account_and_no_permission(books, auditor, bare_staff):
    assert logged_in(auditor).get(admin_url("accounts_account_statement", 10**12)).status_code == 404
    assert logged_in(auditor).get("/admin/accounts/account/x/statement/").status_code == 404
    assert logged_in(bare_staff).get(statement_url(books.alice)).status_code == 403


def test_the_account_page_links_its_statement(books, auditor):
    page = logged_in(auditor).get(admin_url("accounts_account_change", books.alice.pk)).content.decode()
    assert statement_url(books.alice) in page


def test_a_statement_page_costs_the_same_queries_with_more_postings(auditor):
    owner = UserFactory()
    account, other = AccountFactory(owner=owner, currency="USD"), AccountFactory(owner=owner, currency="USD")
    client = logged_in(auditor)

    def grow(n: int) -> None:
        for _ in range(n):
            services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("3.00"))
            services.transfer_create(
                actor=owner, source_account_id=account.public_id, destination_account_id=other.public_id, amount="1.00"
            )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(statement_url(account, **today_query())).status_code == 200
        return len(queries)

    grow(2)
    few = count()
    grow(20)
    assert count() == few

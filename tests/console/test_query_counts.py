"""Admin list and detail pages cost the same number of queries however many rows there are,
and never count a table (no ``COUNT(*)``: the lists page with "previous / next").

Run with ``-s`` to see the SQL of each page.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db import transaction as db_transaction
from django.test.utils import CaptureQueriesContext

from accounts.services import account_status_change
from audit.services import audit_record_create
from tests.console.helpers import admin_url, logged_in, make_user
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.holds import hold_capture, hold_create

pytestmark = pytest.mark.django_db

# Measured when these tests were written (session, user, then the page's own queries);
# a change that adds queries per page fails here.
# The lists: the session, the user, the page's rows (with everything shown, joined), and, for
# lists with a date hierarchy, MIN/MAX of the dates; the audit trail also lists the staff for
# its operator filter.
LIST_BUDGET = {
    "accounts_account_changelist": 3,
    "transactions_transaction_changelist": 4,
    "transactions_posting_changelist": 3,
    "audit_auditrecord_changelist": 5,
    "accounts_hold_changelist": 3,
}
# The details: the session, the user, the record (with what it links to, joined), and its
# postings (an account's latest, a transaction's legs with their accounts); an account's
# latest holds too, a hold's captures.
DETAIL_BUDGET = {"account": 5, "transaction": 4, "audit record": 3, "hold": 4}


def grow(n: int, operator) -> None:
    """Add ``n`` customers, each with an account, a deposit, a transfer, a freeze, an unfreeze and a hold."""
    for _ in range(n):
        owner = UserFactory()
        account = AccountFactory(owner=owner, currency="USD")
        other = AccountFactory(owner=owner, currency="USD")
        services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("10.00"))
        services.transfer_create(
            actor=owner, source_account_id=account.public_id, destination_account_id=other.public_id, amount=Decimal(1)
        )
        account_status_change(operator=operator, account_id=other.public_id, action="freeze", reason="check")
        account_status_change(operator=operator, account_id=other.public_id, action="unfreeze", reason="ok")
        hold_create(actor=owner, account_id=account.public_id, destination_account_id=other.public_id, amount="1.00")


def count_queries(client, url: str) -> tuple[int, list[str]]:
    client.get(url)  # Warm process-wide caches (content types) first.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    sql = [q["sql"] for q in queries.captured_queries]
    print(f"\n--- {url}: {len(sql)} queries")
    for number, statement in enumerate(sql, 1):
        print(f"{number:2}. {statement[:300]}")
    return len(sql), sql


@pytest.fixture
def superuser_client(db):
    return logged_in(make_user("root", superuser=True))


@pytest.mark.parametrize("page", list(LIST_BUDGET))
def test_list_pages_cost_the_same_with_more_rows_and_never_count(page, superuser_client):
    operator = make_user("operator-qc")
    url = admin_url(page)
    grow(2, operator)
    few, _ = count_queries(superuser_client, url)
    grow(25, operator)  # More rows than a page holds (50), in every list.
    many, sql = count_queries(superuser_client, url)

    assert few == many == LIST_BUDGET[page]
    assert not [s for s in sql if "COUNT(" in s.upper()], "a list page must not count rows"


def test_searched_and_filtered_lists_cost_the_same_with_more_rows(superuser_client):
    operator = make_user("operator-qc")
    urls = [
        admin_url("transactions_transaction_changelist") + "?kind__exact=transfer&currency=USD&status__exact=posted",
        admin_url("transactions_transaction_changelist") + "?q=INV",
        admin_url("accounts_account_changelist") + "?status__exact=active&type=customer&currency=USD",
        admin_url("audit_auditrecord_changelist") + f"?action__exact=freeze&operator={operator.pk}",
        admin_url("accounts_hold_changelist") + "?status=pending&expiry=24h&currency=USD",
        admin_url("accounts_hold_changelist") + "?status=expired&q=ORDER",
        # Any part of a text, an account's name (its transactions), a short id.
        admin_url("transactions_transaction_changelist") + "?q=account",
        admin_url("transactions_transaction_changelist") + "?q=0123abcd",
        admin_url("accounts_account_changelist") + "?q=ACCOUNT",
        admin_url("transactions_posting_changelist") + "?q=0123abcd",
        admin_url("accounts_hold_changelist") + "?q=account",
    ]
    grow(2, operator)
    few = [count_queries(superuser_client, url)[0] for url in urls]
    grow(8, operator)
    many = [count_queries(superuser_client, url)[0] for url in urls]
    assert few == many


def test_an_account_page_costs_the_same_with_more_postings(superuser_client):
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD")
    url = admin_url("accounts_account_change", account.pk)
    services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("1.00"))
    services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("1.00"))
    hold_create(actor=owner, account_id=account.public_id, amount="0.10")
    few, _ = count_queries(superuser_client, url)
    for _ in range(30):
        services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("1.00"))
        hold_create(actor=owner, account_id=account.public_id, amount="0.10")
    many, sql = count_queries(superuser_client, url)

    assert few == many == DETAIL_BUDGET["account"]
    assert not [s for s in sql if "COUNT(" in s.upper()]


def test_a_transaction_page_costs_a_fixed_number_of_queries(superuser_client):
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD")
    other = AccountFactory(owner=owner, currency="USD")
    deposit = services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("5.00"))
    transfer = services.transfer_create(
        actor=owner, source_account_id=account.public_id, destination_account_id=other.public_id, amount=Decimal(1)
    )
    reversal = services.transaction_reverse(actor=owner, transaction_id=transfer.public_id, reason="test")
    counts = [
        count_queries(superuser_client, admin_url("transactions_transaction_change", txn.pk))[0]
        for txn in (deposit, transfer, reversal)
    ]
    assert counts == [DETAIL_BUDGET["transaction"]] * 3


def test_the_audit_record_page_is_cheap(superuser_client):
    with db_transaction.atomic():
        record = audit_record_create(action="freeze", target_type="account", target_id="x", reason="why")
    count, _ = count_queries(superuser_client, admin_url("audit_auditrecord_change", record.pk))
    assert count == DETAIL_BUDGET["audit record"]


def test_a_hold_page_costs_the_same_with_more_captures(superuser_client):
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD")
    other = AccountFactory(owner=owner, currency="USD")
    services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("50.00"))
    held = hold_create(actor=owner, account_id=account.public_id, destination_account_id=other.public_id, amount=40)
    url = admin_url("accounts_hold_change", held.pk)
    hold_capture(actor=owner, hold_id=held.public_id, amount="1.00")
    few, _ = count_queries(superuser_client, url)
    for _ in range(10):
        hold_capture(actor=owner, hold_id=held.public_id, amount="1.00")
    many, _ = count_queries(superuser_client, url)

    assert few == many == DETAIL_BUDGET["hold"]

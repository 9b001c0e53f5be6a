"""Finding things in the operator console: searches, filters, pages and the date hierarchy.

Searches match any part of a text in any case (a reference, a description, an account's
name, which finds its transactions), an id whole or by its first 8+ characters, an exact
idempotency key or username; lists page with "previous / next" and never count the table.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_status_change
from console.transactions import PostingAdmin, TransactionAdmin
from tests.clients import client_for
from tests.console.helpers import admin_url, logged_in
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.models import Posting, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(superuser):
    return logged_in(superuser)


def listed(client, name: str, query: str = "") -> list:
    response = client.get(admin_url(name) + query)
    assert response.status_code == 200, response
    return list(response.context["cl"].result_list)


def test_transactions_are_found_by_id_account_reference_and_idempotency_key(books, admin_client_):
    api_deposit = client_for(books.client_user).post(
        "/api/v1/deposits/",
        {"account_id": str(books.bob.public_id), "amount": "5.00"},
        HTTP_IDEMPOTENCY_KEY="order-5521",
    )
    keyed = Transaction.objects.get(public_id=api_deposit.json()["id"])
    name = "transactions_transaction_changelist"

    assert listed(admin_client_, name, f"?q={books.transfer.public_id}") == [books.transfer]
    assert listed(admin_client_, name, f"?q={books.alice.public_id}") == [books.transfer, books.deposit]
    system = Account.objects.get(is_system=True, currency="USD")
    assert listed(admin_client_, name, f"?q={system.public_id}") == [keyed, books.deposit]  # The deposits.
    assert listed(admin_client_, name, "?q=INV-100") == [books.deposit]
    assert listed(admin_client_, name, "?q=+RENT-7+") == [books.transfer]
    assert listed(admin_client_, name, "?q=order-5521") == [keyed]
    assert listed(admin_client_, name, "?q=inv") == [books.deposit]  # Any part of a reference, any case.
    assert listed(admin_client_, name, "?q=rent-7") == [books.transfer]
    assert listed(admin_client_, name, "?q=ORDER-5521") == []  # An idempotency key is exact.
    assert listed(admin_client_, name, "?q=aLiCe") == [books.transfer, books.deposit]  # Alice's transactions.
    assert listed(admin_client_, name, "?q=bob") == [keyed, books.transfer]
    short = str(books.transfer.public_id)[:8]
    assert listed(admin_client_, name, f"?q={short.upper()}") == [books.transfer]  # A short id, any case.
    assert listed(admin_client_, name, "?q=00000000-0000-0000-0000-000000000000") == []


def test_the_transaction_list_shows_what_moved(books, admin_client_):
    html = admin_client_.get(admin_url("transactions_transaction_changelist")).content.decode()
    assert str(books.transfer.public_id) in html
    assert "30.00" in html
    assert "RENT-7" in html
    assert admin_url("accounts_account_change", books.alice.pk) in html  # Accounts link to their pages.
    assert "Alice" in html
    assert "Bob" in html


def test_transactions_are_filtered_by_kind_status_and_currency(books, admin_client_):
    services.transaction_reverse(actor=books.client_user, transaction_id=books.transfer.public_id, reason="x")
    euro_owner = UserFactory()
    euro = AccountFactory(owner=euro_owner, currency="EUR")
    euro_deposit = services.deposit_create(actor=euro_owner, account_id=euro.public_id, amount=Decimal(1))
    name = "transactions_transaction_changelist"

    assert listed(admin_client_, name, "?kind__exact=transfer") == [books.transfer]
    assert listed(admin_client_, name, "?status__exact=reversed") == [books.transfer]
    assert listed(admin_client_, name, "?currency=EUR") == [euro_deposit]
    assert {t.kind for t in listed(admin_client_, name, "?currency=USD")} == {"deposit", "transfer", "reversal"}


def test_the_date_hierarchy_drills_down_from_the_range_of_dates(books, admin_client_):
    today = timezone.localdate()
    name = "transactions_transaction_changelist"
    page = admin_client_.get(admin_url(name))
    # Everything is from today: Django's behaviour, drilled down to this month's days.
    hierarchy = page.context["cl"].cheap_date_hierarchy
    assert [c["title"] for c in hierarchy["choices"]] == [today.strftime("%B %-d")]
    assert f"created_at__day={today.day}" in hierarchy["choices"][0]["link"]

    on_the_day = f"?created_at__year={today.year}&created_at__month={today.month}&created_at__day={today.day}"
    assert len(listed(admin_client_, name, on_the_day)) == 2
    next_year = f"?created_at__year={today.year + 1}"
    assert listed(admin_client_, name, next_year) == []


def test_lists_page_with_previous_and_next_without_counting(books, admin_client_, monkeypatch):
    monkeypatch.setattr(TransactionAdmin, "list_per_page", 1)
    name = "transactions_transaction_changelist"

    first = admin_client_.get(admin_url(name))
    second = admin_client_.get(admin_url(name) + "?p=2")
    beyond = admin_client_.get(admin_url(name) + "?p=3")

    assert list(first.context["cl"].result_list) == [books.transfer]
    assert first.context["cl"].page_links["next"] == "?p=2"
    assert first.context["cl"].page_links["previous"] is None
    assert list(second.context["cl"].result_list) == [books.deposit]
    assert second.context["cl"].page_links["next"] is None
    assert second.context["cl"].page_links["previous"] == "?p=1"
    html = first.content.decode()
    assert "Page 1" in html
    assert "Next" in html
    assert "Show all" not in html
    assert beyond.status_code == 302  # Django's answer to a page out of range: back with ?e=1.
    everything = admin_client_.get(admin_url(name) + "?all=")
    assert list(everything.context["cl"].result_list) == [books.transfer]  # "Show all" never loads a table.


def test_accounts_are_found_by_id_name_and_owner(books, admin_client_):
    name = "accounts_account_changelist"
    assert listed(admin_client_, name, f"?q={books.bob.public_id}") == [books.bob]
    assert listed(admin_client_, name, "?q=Ali") == [books.alice]
    assert listed(admin_client_, name, "?q=acme") == [books.bob, books.alice]
    assert listed(admin_client_, name, "?q=nobody") == []


def test_accounts_are_filtered_by_status_currency_and_type(books, operator, admin_client_):
    account_status_change(operator=operator, account_id=books.bob.public_id, action="freeze", reason="x")
    name = "accounts_account_changelist"

    assert listed(admin_client_, name, "?status__exact=frozen") == [books.bob]
    systems = listed(admin_client_, name, "?type=system")
    assert systems
    assert all(a.is_system for a in systems)
    assert Account.objects.get(is_system=True, currency="USD") in systems
    assert listed(admin_client_, name, "?type=customer") == [books.bob, books.alice]
    assert listed(admin_client_, name, "?currency=EUR&type=customer") == []
    assert listed(admin_client_, name, "?currency=USD&type=customer&status__exact=active") == [books.alice]


def test_the_account_list_shows_owner_balance_and_status(books, admin_client_):
    html = admin_client_.get(admin_url("accounts_account_changelist")).content.decode()
    assert "acme" in html
    assert "70.00 USD" in html
    assert "active" in html


def test_the_account_page_shows_its_latest_postings_and_links_to_its_history(books, admin_client_):
    page = admin_client_.get(admin_url("accounts_account_change", books.alice.pk)).content.decode()

    table = page[page.index('id="latest-postings"') :]
    # Newest first: the transfer out (-30.00, leaving 70.00), then the deposit (100.00).
    assert table.index("-30.00 USD") < table.index("70.00 USD") < table.index("100.00 USD")
    assert admin_url("transactions_transaction_change", books.transfer.pk) in table
    history = admin_url("transactions_posting_changelist") + f"?account={books.alice.pk}"
    assert history in page


def test_an_accounts_history_lists_its_postings_newest_first(books, admin_client_, monkeypatch):
    for _ in range(3):
        services.deposit_create(actor=books.client_user, account_id=books.alice.public_id, amount=Decimal(1))
    monkeypatch.setattr(PostingAdmin, "list_per_page", 3)
    query = f"?account={books.alice.pk}"

    first = listed(admin_client_, "transactions_posting_changelist", query)
    second = listed(admin_client_, "transactions_posting_changelist", query + "&p=2")

    assert [p.sequence for p in first + second] == [5, 4, 3, 2, 1]
    assert {p.account_id for p in first + second} == {books.alice.pk}
    assert [p.balance_after_minor for p in first] == [7300, 7200, 7100]


def test_postings_are_found_by_transaction_or_account_id(books, admin_client_):
    name = "transactions_posting_changelist"
    legs = listed(admin_client_, name, f"?q={books.transfer.public_id}")
    assert sorted(p.amount_minor for p in legs) == [-3000, 3000]
    assert {p.account_id for p in listed(admin_client_, name, f"?q={books.bob.public_id}")} == {books.bob.pk}
    assert listed(admin_client_, name, "?q=not-an-id") == []


def test_the_transaction_page_shows_every_posting_with_the_balance_after_it(books, admin_client_):
    response = admin_client_.get(admin_url("transactions_transaction_change", books.transfer.pk))
    html = response.content.decode()

    legs = Posting.objects.filter(transaction=books.transfer).select_related("account")
    assert {(p.account.name, p.balance_after_minor) for p in legs} == {("Alice", 7000), ("Bob", 3000)}
    assert "-30.00 USD" in html
    assert "70.00 USD" in html  # Alice's balance after it.
    assert "30.00 USD" in html
    assert "acme (API client)" in html  # Who posted it.
    assert "RENT-7" in html


def test_reversal_links_go_both_ways(books, operator, admin_client_):
    reversal = services.transaction_reverse(actor=operator, transaction_id=books.transfer.public_id, reason="oops")

    original_page = admin_client_.get(admin_url("transactions_transaction_change", books.transfer.pk)).content.decode()
    reversal_page = admin_client_.get(admin_url("transactions_transaction_change", reversal.pk)).content.decode()

    assert admin_url("transactions_transaction_change", reversal.pk) in original_page
    assert admin_url("transactions_transaction_change", books.transfer.pk) in reversal_page
    assert "operator (operator)" in reversal_page


def test_the_audit_trail_is_listed_and_filtered(books, operator, superuser, admin_client_):
    account_status_change(operator=operator, account_id=books.bob.public_id, action="freeze", reason="fraud check")
    account_status_change(operator=superuser, account_id=books.bob.public_id, action="unfreeze", reason="cleared")
    services.transaction_reverse(actor=operator, transaction_id=books.transfer.public_id, reason="chargeback")
    name = "audit_auditrecord_changelist"

    everything = listed(admin_client_, name)
    assert [r.action for r in everything] == ["reverse", "unfreeze", "freeze"]  # Newest first.
    assert [r.action for r in listed(admin_client_, name, f"?operator={operator.pk}")] == ["reverse", "freeze"]
    assert [r.action for r in listed(admin_client_, name, "?action__exact=unfreeze")] == ["unfreeze"]
    assert [r.action for r in listed(admin_client_, name, f"?q={books.bob.public_id}")] == ["unfreeze", "freeze"]
    assert [r.action for r in listed(admin_client_, name, "?target_type=transaction")] == ["reverse"]
    today = timezone.localdate()
    assert len(listed(admin_client_, name, f"?created_at__year={today.year}&created_at__month={today.month}")) == 3
    html = admin_client_.get(admin_url(name)).content.decode()
    assert "fraud check" in html

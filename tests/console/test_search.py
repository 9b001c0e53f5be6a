"""The console's search boxes: any part of a text in any case, an account's name finds its rows,
an id whole or by its first 8+ characters; a hostile term is answered, never a 500.

On PostgreSQL the text searches use the trigram indexes of ``accounts`` 0009 and
``transactions`` 0011 (their plans need a big table: ``bench/admin_pages.py``); here they are
checked for what they find, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Account
from console.search import id_prefix_range
from tests.console.helpers import admin_url, logged_in
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.holds import hold_create

pytestmark = pytest.mark.django_db

LISTS = [
    "accounts_account_changelist",
    "transactions_transaction_changelist",
    "transactions_posting_changelist",
    "accounts_hold_changelist",
    "audit_auditrecord_changelist",
    "webhooks_webhookendpoint_changelist",
    "webhooks_webhookdelivery_changelist",
]


@pytest.fixture
def root(superuser):
    return logged_in(superuser)


@pytest.fixture
def shop(db):
    """Two customers in USD (one with a long name), one in EUR; deposits, a transfer and a hold."""
    owner = UserFactory(username="shop")
    anna = AccountFactory(owner=owner, currency="USD", name="Anna Karenina Holdings")
    ben = AccountFactory(owner=owner, currency="USD", name="Ben")
    euro = AccountFactory(owner=owner, currency="EUR", name="Émile")
    deposit = services.deposit_create(
        actor=owner, account_id=anna.public_id, amount=Decimal("100.00"), reference="Invoice-2026/ABC"
    )
    transfer = services.transfer_create(
        actor=owner,
        source_account_id=anna.public_id,
        destination_account_id=ben.public_id,
        amount=Decimal("10.00"),
        description="Rent for the Flat",
    )
    euro_deposit = services.deposit_create(actor=owner, account_id=euro.public_id, amount=Decimal("5.00"))
    hold = hold_create(actor=owner, account_id=anna.public_id, amount="1.00", reference="Cart-77")
    return {
        "anna": anna,
        "ben": ben,
        "euro": euro,
        "deposit": deposit,
        "transfer": transfer,
        "euro_deposit": euro_deposit,
        "hold": hold,
    }


def found(client, name: str, term: str) -> list:
    response = client.get(admin_url(name), {"q": term})
    assert response.status_code == 200, (name, term, response.status_code)
    return list(response.context["cl"].result_list)


def test_transactions_are_found_by_any_part_of_their_reference_or_description_in_any_case(root, shop):
    name = "transactions_transaction_changelist"
    assert found(root, name, "invoice-2026/abc") == [shop["deposit"]]
    assert found(root, name, "2026/A") == [shop["deposit"]]
    assert found(root, name, "rent for THE flat") == [shop["transfer"]]
    assert found(root, name, "no such words") == []
    assert found(root, name, "100%") == []  # % and _ are literal, no wildcards.
    assert found(root, name, "Invoice_2026") == []


def test_an_accounts_name_finds_its_transactions(root, shop):
    name = "transactions_transaction_changelist"
    assert found(root, name, "karenina") == [shop["transfer"], shop["deposit"]]
    assert found(root, name, "BEN") == [shop["transfer"]]
    assert found(root, name, "émile") == [shop["euro_deposit"]]


def test_another_currencys_system_account_finds_that_currencys_deposits_only(root, shop):
    name = "transactions_transaction_changelist"
    eur = Account.objects.get(is_system=True, currency="EUR")
    usd = Account.objects.get(is_system=True, currency="USD")
    assert found(root, name, str(eur.public_id)) == [shop["euro_deposit"]]
    assert found(root, name, str(usd.public_id)) == [shop["deposit"]]
    assert found(root, name, str(eur.public_id)[:8]) == [shop["euro_deposit"]]  # By its short id too.


def test_a_short_id_finds_its_row_in_every_list_in_any_case(root, shop):
    txn, hold, anna = shop["transfer"], shop["hold"], shop["anna"]
    assert found(root, "transactions_transaction_changelist", str(txn.public_id)[:8].upper()) == [txn]
    assert found(root, "transactions_transaction_changelist", str(txn.public_id)[:13]) == [txn]  # With a hyphen.
    assert found(root, "accounts_account_changelist", str(anna.public_id)[:8]) == [anna]
    assert found(root, "accounts_hold_changelist", str(hold.public_id)[:8]) == [hold]
    postings = found(root, "transactions_posting_changelist", str(txn.public_id)[:8])
    assert sorted(p.amount_minor for p in postings) == [-1000, 1000]
    assert found(root, "transactions_transaction_changelist", str(txn.public_id)[:7]) == []  # Too short for an id.


def test_accounts_are_found_by_any_part_of_their_name_in_any_case(root, shop):
    assert found(root, "accounts_account_changelist", "HOLDINGS") == [shop["anna"]]
    assert found(root, "accounts_account_changelist", "nina hold") == [shop["anna"]]
    assert found(root, "accounts_account_changelist", "shop") == [shop["euro"], shop["ben"], shop["anna"]]  # Owner.


def test_holds_are_found_by_reference_in_any_case_and_by_account_name(root, shop):
    assert found(root, "accounts_hold_changelist", "cart-7") == [shop["hold"]]
    assert found(root, "accounts_hold_changelist", "anna") == [shop["hold"]]
    assert found(root, "accounts_hold_changelist", "ben") == []


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    "term",
    ["x" * 501, "Ä" * 5000, "%", "_", "\\", "'; DROP TABLE x; --", "0" * 8, "f" * 32, "-" * 40, "ffffffff-", "  "],
)
def test_hostile_terms_are_answered_never_a_500(root, shop, name, term):
    response = root.get(admin_url(name), {"q": term})
    assert response.status_code == 200


@pytest.mark.parametrize("name", LISTS)
def test_a_nul_in_a_term_is_refused_with_400(root, name):
    assert root.get(admin_url(name), {"q": "INV\x00"}).status_code == 400


def test_a_term_longer_than_any_text_finds_nothing(root, shop):
    long_reference = "Invoice-2026/ABC" + "x" * 600
    assert found(root, "transactions_transaction_changelist", long_reference) == []


def test_an_id_prefix_is_the_range_of_the_ids_that_start_with_it():
    low, high = id_prefix_range("1A2B3C4D")
    assert str(low) == "1a2b3c4d-0000-0000-0000-000000000000"
    assert str(high) == "1a2b3c4d-ffff-ffff-ffff-ffffffffffff"
    assert id_prefix_range("1a2b3c4") is None
    assert id_prefix_range("invoices") is None
    assert id_prefix_range("1a2b3c4d-5e") is not None


@pytest.mark.postgres
@pytest.mark.parametrize("lookup", ["unaccent", "trigram_similar", "search"])
def test_the_lookups_django_contrib_postgres_adds_are_answered_never_a_500(root, lookup):
    """``django.contrib.postgres`` (installed for the trigram indexes) registers text lookups on every
    field; Django's own lists (users) take field lookups from the URL. ``unaccent`` needs an extension
    the ledger lacks: refused as an incorrect lookup."""
    response = root.get(admin_url("auth_user_changelist"), {f"username__{lookup}": "root"})
    assert response.status_code in (200, 302)
    if lookup == "unaccent":
        assert response.status_code == 302
        assert response["Location"].endswith("?e=1")

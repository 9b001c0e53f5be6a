"""What the console's pages say: short ids, amounts in their currency, labels in words, one date-time
format with its zone, the system account explained, dangerous actions named and set apart."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from accounts.models import Account
from tests.console.helpers import admin_url, logged_in
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.models import Posting

pytestmark = pytest.mark.django_db

DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")


@pytest.fixture
def root(superuser):
    return logged_in(superuser)


@pytest.fixture
def alice(db) -> Account:
    account = AccountFactory(owner=UserFactory(username="acme"), currency="USD", name="Alice")
    services.deposit_create(actor=account.owner, account_id=account.public_id, amount=Decimal("250.00"))
    return account


def test_models_read_in_words_without_a_query(alice, django_assert_num_queries):
    posting = Posting.objects.select_related("account", "transaction").get(account=alice)
    with django_assert_num_queries(0):
        assert str(posting) == f"Credit of 250.00 USD to Alice #1 · {str(alice.public_id)[:8]}"
        assert str(posting.transaction) == f"Deposit of 250.00 USD · {str(posting.transaction.public_id)[:8]}"
        assert str(alice) == f"Alice (USD) · {str(alice.public_id)[:8]}"
    bare = Posting.objects.get(account=alice)
    with django_assert_num_queries(0):
        assert "posting" not in str(bare).lower()  # No internal "posting 1#1 +25000".
        assert str(bare).startswith("Credit of 25000 minor units to account")


def test_the_accounts_list_shows_short_ids_amounts_once_and_the_system_badge_only_where_true(root, alice):
    html = root.get(admin_url("accounts_account_changelist")).content.decode()
    assert f'<code class="short-id" title="{alice.public_id}">{str(alice.public_id)[:8]}</code>' in html
    assert '<span class="money">250.00 USD</span>' in html
    assert "column-currency" not in html  # The amount carries its code: no currency column.
    assert html.count(">System</span>") == Account.objects.filter(is_system=True).count()
    assert "The outside world for USD" in html  # The system account's badge says what it is.
    assert "icon-no.svg" not in html
    assert "icon-yes.svg" not in html
    assert DATE_TIME.search(html)


def test_a_system_accounts_page_says_what_it_is(root, alice):
    system = Account.objects.get(is_system=True, currency="USD")
    html = root.get(admin_url("accounts_account_change", system.pk)).content.decode()
    assert "The outside world for USD: deposits come from it and withdrawals go to it" in html
    assert "-250.00 USD" in html
    customer = root.get(admin_url("accounts_account_change", alice.pk)).content.decode()
    assert "The outside world" not in customer


def test_the_account_pages_dangerous_actions_are_named_red_and_after_djangos_own(root, alice):
    html = root.get(admin_url("accounts_account_change", alice.pk)).content.decode()
    assert 'class="danger status-freeze" id="account-freeze">Freeze account…</a>' in html
    assert 'class="danger status-close" id="account-close">Close account…</a>' in html
    assert html.index("historylink") < html.index('class="danger-separator"') < html.index("account-freeze")
    confirm = root.get(admin_url("accounts_account_close", alice.pk)).content.decode()
    assert "closing is irreversible" in confirm
    assert "Only an account with a zero balance can be closed." in confirm
    assert 'value="Close the account"' in confirm
    assert "Cancel, change nothing" in confirm


def test_the_transaction_list_shows_kinds_and_statuses_by_label_and_one_date_time_format(root, alice):
    html = root.get(admin_url("transactions_transaction_changelist")).content.decode()
    assert ">Deposit<" in html
    assert ">Posted<" in html
    assert '<span class="money">250.00 USD</span>' in html
    assert DATE_TIME.search(html)
    assert " p.m." not in html
    assert " a.m." not in html

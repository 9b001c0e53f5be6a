"""Reversing a transaction and freezing, unfreezing or closing an account from the admin.

Each action goes through the same service as the API: the books balance afterwards, the
original is marked reversed, an audit record (who, what, why, from where) and a Django
LogEntry are written, a refusal posts nothing, and a double submit posts once.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection

from accounts.models import Account
from accounts.services import account_status_change
from audit.models import AuditRecord
from console import transactions as console_transactions
from harness.books import assert_books_balance
from ledger.atomic import OUTCOME_UNKNOWN_DETAIL
from ledger.errors import Unavailable
from tests.clients import client_for
from tests.console.helpers import admin_url, logged_in, make_user, messages_of
from tests.factories import AccountFactory
from transactions import services
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def confirm(client, txn, reason="Customer disputed the transfer", token=None, follow=True):
    """Submit the confirmation page: the form's own one-time token, unless one is given (a resubmit)."""
    if token is None:
        page = client.get(admin_url("transactions_transaction_reverse", txn.pk))
        assert page.status_code == 200
        token = page.context["form"]["token"].value()
    return client.post(
        admin_url("transactions_transaction_reverse", txn.pk),
        {"reason": reason, "token": str(token)},
        follow=follow,
        REMOTE_ADDR="203.0.113.7",
    )


def test_the_confirmation_page_shows_the_postings_the_reversal_will_make(books, operator_client):
    page = operator_client.get(admin_url("transactions_transaction_reverse", books.transfer.pk))

    assert page.status_code == 200
    assert next(t.name for t in page.templates) == "admin/transactions/transaction/reverse_confirmation.html"
    rows = [(r["account"].name, r["amount"], r["balance_now"], r["balance_after"]) for r in page.context["preview"]]
    # Alice holds 70.00 and Bob 30.00: the reversal takes 30.00 back from Bob.
    assert sorted(rows) == [
        ("Alice", "30.00 USD", "70.00 USD", "100.00 USD"),
        ("Bob", "-30.00 USD", "30.00 USD", "0.00 USD"),
    ]
    html = page.content.decode()
    assert "100.00 USD" in html
    assert "0.00 USD" in html
    assert 'name="reason"' in html
    assert Transaction.objects.count() == 2  # Looking posts nothing.


def test_confirming_reverses_through_the_posting_service(books, operator, operator_client):
    response = confirm(operator_client, books.transfer, reason="Customer disputed the transfer")

    books.refresh()
    reversal = Transaction.objects.get(kind=Transaction.Kind.REVERSAL)
    assert reversal.reverses_id == books.transfer.pk
    assert books.transfer.status == Transaction.Status.REVERSED
    assert (books.alice.balance_minor, books.bob.balance_minor) == (10000, 0)
    assert reversal.posted_by == operator
    assert reversal.description == "Customer disputed the transfer"
    # The operator lands on the original, with a message linking to the reversal.
    assert response.redirect_chain[-1][0] == admin_url("transactions_transaction_change", books.transfer.pk)
    [message] = messages_of(response)
    assert f'<a href="{admin_url("transactions_transaction_change", reversal.pk)}">{reversal.public_id}</a>' in message
    page = response.content.decode()
    assert "reversed by" in page.lower()
    assert str(reversal.public_id) in page
    assert_books_balance()


def test_a_reversal_is_on_the_record(books, operator, operator_client):
    confirm(operator_client, books.transfer, reason="Wrong payee")

    reversal = Transaction.objects.get(kind=Transaction.Kind.REVERSAL)
    record = AuditRecord.objects.get()
    assert (record.operator, record.operator_label, record.action) == (operator, "operator", "reverse")
    assert (record.target_type, record.target_id) == ("transaction", str(books.transfer.public_id))
    assert (record.reason, record.ip_address) == ("Wrong payee", "203.0.113.7")
    assert record.details == {"reversal_id": str(reversal.public_id), "via": "admin"}
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id) == (operator, CHANGE, str(books.transfer.pk))
    assert "Wrong payee" in entry.get_change_message()
    assert str(reversal.public_id) in entry.get_change_message()


def test_the_reverse_button_is_gone_once_reversed(books, operator_client):
    confirm(operator_client, books.transfer)
    page = operator_client.get(admin_url("transactions_transaction_change", books.transfer.pk)).content.decode()
    assert admin_url("transactions_transaction_reverse", books.transfer.pk) not in page


def test_a_reason_is_required(books, operator_client):
    response = confirm(operator_client, books.transfer, reason="   ")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    books.refresh()
    assert books.transfer.status == Transaction.Status.POSTED
    assert Transaction.objects.count() == 2
    assert not AuditRecord.objects.exists()


def test_a_double_submit_posts_once_and_shows_the_same_reversal(books, operator_client):
    page = operator_client.get(admin_url("transactions_transaction_reverse", books.transfer.pk))
    token = page.context["form"]["token"].value()

    first = confirm(operator_client, books.transfer, reason="Duplicate", token=token)
    second = confirm(operator_client, books.transfer, reason="Duplicate", token=token)

    reversal = Transaction.objects.get(kind=Transaction.Kind.REVERSAL)
    assert messages_of(first) == messages_of(second)
    assert str(reversal.public_id) in messages_of(second)[0]
    assert AuditRecord.objects.count() == 1
    assert LogEntry.objects.count() == 1
    books.refresh()
    assert (books.alice.balance_minor, books.bob.balance_minor) == (10000, 0)


def test_the_same_confirmation_cannot_be_reused_for_another_reason(books, operator_client):
    token = uuid.uuid4()
    confirm(operator_client, books.transfer, reason="First", token=token)
    again = confirm(operator_client, books.deposit, reason="Second", token=token)

    assert "already used" in messages_of(again)[0]
    books.refresh()
    assert books.deposit.status == Transaction.Status.POSTED
    assert Transaction.objects.filter(kind=Transaction.Kind.REVERSAL).count() == 1


def refused(response) -> str:
    [message] = messages_of(response)
    assert message.startswith("Not reversed")
    return message


def assert_nothing_posted(books, transactions_before: int) -> None:
    assert Transaction.objects.count() == transactions_before
    assert not AuditRecord.objects.filter(action="reverse").exists()
    assert not LogEntry.objects.exists()
    assert_books_balance()


def test_an_already_reversed_transaction_is_refused(books, operator_client):
    stale_page = operator_client.get(admin_url("transactions_transaction_reverse", books.transfer.pk))
    services.transaction_reverse(actor=books.client_user, transaction_id=books.transfer.public_id, reason="API")
    before = Transaction.objects.count()
    audits = AuditRecord.objects.count()

    response = operator_client.post(
        admin_url("transactions_transaction_reverse", books.transfer.pk),
        {"reason": "again", "token": stale_page.context["form"]["token"].value()},
        follow=True,
    )

    assert "already been reversed" in refused(response)
    assert Transaction.objects.count() == before
    assert AuditRecord.objects.count() == audits
    assert not LogEntry.objects.exists()


def test_the_confirmation_page_of_a_reversed_transaction_sends_the_operator_back(books, operator_client):
    services.transaction_reverse(actor=books.client_user, transaction_id=books.transfer.public_id, reason="API")
    response = operator_client.get(admin_url("transactions_transaction_reverse", books.transfer.pk), follow=True)
    assert response.redirect_chain[-1][0] == admin_url("transactions_transaction_change", books.transfer.pk)
    assert "already been reversed" in refused(response)


def test_a_reversal_cannot_be_reversed(books, operator_client):
    reversal = services.transaction_reverse(
        actor=books.client_user, transaction_id=books.transfer.public_id, reason="API"
    )
    before = Transaction.objects.count()

    response = operator_client.post(
        admin_url("transactions_transaction_reverse", reversal.pk),
        {"reason": "undo the undo", "token": str(uuid.uuid4())},
        follow=True,
    )

    assert "cannot itself be reversed" in refused(response)
    assert Transaction.objects.count() == before
    assert AuditRecord.objects.filter(action="reverse").count() == 1  # The API's, only.


def test_reversing_money_that_was_spent_is_refused(books, operator_client):
    # Bob spends the 30.00 he received: taking it back would drive him below zero.
    services.withdrawal_create(actor=books.client_user, account_id=books.bob.public_id, amount=Decimal("30.00"))
    before = Transaction.objects.count()
    page = operator_client.get(admin_url("transactions_transaction_reverse", books.transfer.pk))
    assert "no longer holds the money" in page.content.decode()  # Warned before confirming.

    response = confirm(operator_client, books.transfer)

    assert "holds too little" in refused(response)
    books.refresh()
    assert books.transfer.status == Transaction.Status.POSTED
    assert (books.alice.balance_minor, books.bob.balance_minor) == (7000, 0)
    assert_nothing_posted(books, before)


@pytest.mark.parametrize("action", ["freeze", "close"])
def test_reversing_onto_an_inactive_account_is_refused(books, operator, operator_client, action):
    if action == "close":  # Only an empty account can be closed.
        services.withdrawal_create(actor=books.client_user, account_id=books.bob.public_id, amount=Decimal("30.00"))
    account_status_change(operator=operator, account_id=books.bob.public_id, action=action, reason="fraud")
    before = Transaction.objects.count()

    response = confirm(operator_client, books.transfer)

    assert f"is {'frozen' if action == 'freeze' else 'closed'}" in refused(response)
    books.refresh()
    assert books.transfer.status == Transaction.Status.POSTED
    assert Transaction.objects.count() == before
    assert not AuditRecord.objects.filter(action="reverse").exists()
    assert not LogEntry.objects.exists()


def test_a_deposit_reversal_takes_the_money_back_to_the_outside_world(books, operator_client):
    # Bob sends the 30.00 back, so Alice holds the whole deposit again.
    services.transfer_create(
        actor=books.client_user,
        source_account_id=books.bob.public_id,
        destination_account_id=books.alice.public_id,
        amount=Decimal("30.00"),
    )
    confirm(operator_client, books.deposit, reason="Chargeback")

    books.refresh()
    system = Account.objects.get(is_system=True, currency="USD")
    assert books.deposit.status == Transaction.Status.REVERSED
    assert (books.alice.balance_minor, system.balance_minor) == (0, 0)
    assert_books_balance()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_one_confirmation_post_once(ledger_groups):
    """Two requests with the same token race: the loser waits on the account locks, then replays."""
    client_user = make_user("acme", staff=False)
    alice = AccountFactory(owner=client_user, name="Alice")
    deposit = services.deposit_create(actor=client_user, account_id=alice.public_id, amount=Decimal("5.00"))
    operator = make_user("operator", groups=[ledger_groups["Ledger operators"]])
    token = str(uuid.uuid4())
    barrier = threading.Barrier(2)
    answers: list[list[str]] = []

    def submit() -> None:
        try:
            client = logged_in(operator)
            barrier.wait(timeout=10)
            response = client.post(
                admin_url("transactions_transaction_reverse", deposit.pk),
                {"reason": "double click", "token": token},
                follow=True,
            )
            answers.append(messages_of(response))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    reversal = Transaction.objects.get(kind=Transaction.Kind.REVERSAL)
    assert len(answers) == 2
    assert all(len(a) == 1 and str(reversal.public_id) in a[0] and "reversed by" in a[0] for a in answers), answers
    assert AuditRecord.objects.filter(action="reverse").count() == 1
    alice.refresh_from_db()
    assert alice.balance_minor == 0
    assert_books_balance()


# --- account status ---------------------------------------------------------------------


def change_status(client, account, action, reason="KYC review", follow=True):
    return client.post(
        admin_url(f"accounts_account_{action}", account.pk),
        {"reason": reason},
        follow=follow,
        REMOTE_ADDR="198.51.100.4",
    )


def test_freezing_asks_for_a_reason_first(books, operator_client):
    page = operator_client.get(admin_url("accounts_account_freeze", books.alice.pk))
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()

    response = change_status(operator_client, books.alice, "freeze", reason="")
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    books.refresh()
    assert books.alice.status == Account.Status.ACTIVE
    assert not AuditRecord.objects.exists()


def test_a_frozen_account_refuses_postings_through_the_api(books, operator, operator_client):
    response = change_status(operator_client, books.alice, "freeze", reason="Suspicious activity")

    books.refresh()
    assert books.alice.status == Account.Status.FROZEN
    assert messages_of(response) == [f"Account {books.alice.public_id} frozen."]
    record = AuditRecord.objects.get()
    assert (record.operator, record.action, record.reason, record.ip_address) == (
        operator,
        "freeze",
        "Suspicious activity",
        "198.51.100.4",
    )
    assert record.target_id == str(books.alice.public_id)
    assert "Suspicious activity" in LogEntry.objects.get(object_id=str(books.alice.pk)).get_change_message()

    api = client_for(books.client_user)
    refused = api.post(
        "/api/v1/deposits/",
        {"account_id": str(books.alice.public_id), "amount": "1.00"},
        HTTP_IDEMPOTENCY_KEY="after-freeze",
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "account_inactive")


def test_unfreezing_lets_postings_in_again(books, operator_client):
    change_status(operator_client, books.alice, "freeze")
    response = change_status(operator_client, books.alice, "unfreeze", reason="Cleared")

    books.refresh()
    assert books.alice.status == Account.Status.ACTIVE
    assert messages_of(response) == [f"Account {books.alice.public_id} unfrozen."]
    assert list(AuditRecord.objects.order_by("id").values_list("action", flat=True)) == ["freeze", "unfreeze"]


def test_closing_an_account_that_holds_money_is_refused(books, operator_client):
    response = change_status(operator_client, books.alice, "close", reason="Customer left")

    [message] = messages_of(response)
    assert message.startswith("Account not closed")
    assert "zero balance" in message
    books.refresh()
    assert books.alice.status == Account.Status.ACTIVE
    assert not AuditRecord.objects.exists()
    assert not LogEntry.objects.exists()


def test_closing_an_empty_account_is_final(books, operator_client):
    services.withdrawal_create(actor=books.client_user, account_id=books.bob.public_id, amount=Decimal("30.00"))
    response = change_status(operator_client, books.bob, "close", reason="Customer left")

    books.refresh()
    assert books.bob.status == Account.Status.CLOSED
    assert messages_of(response) == [f"Account {books.bob.public_id} closed."]
    page = operator_client.get(admin_url("accounts_account_change", books.bob.pk)).content.decode()
    assert admin_url("accounts_account_unfreeze", books.bob.pk) not in page
    again = change_status(operator_client, books.bob, "unfreeze", reason="oops")
    assert messages_of(again)[0].startswith("Account not unfrozen")
    assert AuditRecord.objects.filter(action="close").count() == 1


def test_a_reversal_whose_commit_outcome_is_unknown_tells_the_operator_to_look_before_retrying(
    books, operator_client, monkeypatch
):
    """When the connection fails during COMMIT (tests/serving/test_commit_outcome.py drives that
    against a real server), the page must not say "not reversed": it may have been posted."""

    def commit_lost(**kwargs):
        raise Unavailable(OUTCOME_UNKNOWN_DETAIL, outcome="unknown")

    monkeypatch.setattr(console_transactions, "transaction_reverse", commit_lost)
    response = confirm(operator_client, books.transfer, reason="Customer disputed the transfer")

    [message] = messages_of(response)
    assert "may or may not have been posted" in message
    assert "Not reversed" not in message
    assert response.redirect_chain[-1][0] == admin_url("transactions_transaction_change", books.transfer.pk)

"""The generated client (``ledger_client``) against a real server: what its user writes, and what they check.

Every request goes through the client's endpoint functions and every answer is read from its typed
models; the ORM only checks afterwards that the books hold what the client was told.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

# The client's endpoint modules, in one place: openapi-python-client groups them by the schema's
# tags (ledger_client.api.<tag>), so a change of tags is one change here (and make client).
from ledger_client.api.accounts import (
    accounts_balance_retrieve,
    accounts_create,
    accounts_history_retrieve,
    accounts_retrieve,
)
from ledger_client.api.deposits import deposits_create
from ledger_client.api.transfers import transfers_create
from ledger_client.api.withdrawals import withdrawals_create
from ledger_client.models import (
    Account,
    AccountOpenInput,
    Balance,
    DepositInput,
    HistoryEntry,
    PaginatedHistoryEntryList,
    Problem,
    Transaction,
    TransactionKind,
    TransferInput,
    WithdrawalInput,
)
from ledger_client.types import UNSET, Unset

from tests.factories import UserFactory
from transactions.models import Transaction as PostedTransaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def opened(client, currency: str = "USD", name: str = "main") -> Account:
    account = accounts_create.sync(
        client=client, body=AccountOpenInput(currency=currency, name=name), idempotency_key=f"open-{uuid4()}"
    )
    assert isinstance(account, Account), account
    return account


def deposited(client, account: Account, amount: str, key: str) -> Transaction:
    deposit = deposits_create.sync(
        client=client, body=DepositInput(account_id=account.id, amount=amount), idempotency_key=key
    )
    assert isinstance(deposit, Transaction), deposit
    return deposit


def whole_history(client, account: Account, page_size: int) -> tuple[list[HistoryEntry], int]:
    """Every entry of the account's history, following ``next`` page by page, and how many pages it took."""
    entries: list[HistoryEntry] = []
    cursor: str | Unset = UNSET
    pages = 0
    while True:
        page = accounts_history_retrieve.sync(account.id, client=client, page_size=page_size, cursor=cursor)
        assert isinstance(page, PaginatedHistoryEntryList), page
        pages += 1
        entries += page.results
        if not isinstance(page.next_, str):
            return entries, pages
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]


def test_a_client_opens_accounts_deposits_transfers_and_reads_its_books(client_as):
    client = client_as(UserFactory())
    alice, bob = opened(client, name="alice"), opened(client, name="bob")

    deposit = deposited(client, alice, "10.00", "deposit-1")
    deposited(client, alice, "0.05", "deposit-2")
    transfer = transfers_create.sync(
        client=client,
        body=TransferInput(source_account_id=alice.id, destination_account_id=bob.id, amount="3.50", reference="rent"),
        idempotency_key="transfer-1",
    )
    balance = accounts_balance_retrieve.sync(alice.id, client=client)
    bob_now = accounts_retrieve.sync(bob.id, client=client)

    assert (alice.name, alice.currency, alice.balance, alice.available_balance) == ("alice", "USD", "0.00", "0.00")
    assert (deposit.kind, deposit.amount, deposit.currency) == (TransactionKind.DEPOSIT, "10.00", "USD")
    legs = [(leg.account_id, leg.amount, leg.balance_after) for leg in deposit.postings]
    assert legs == [(alice.id, "10.00", "10.00")]
    assert isinstance(transfer, Transaction), transfer
    assert (transfer.kind, transfer.amount, transfer.reference) == (TransactionKind.TRANSFER, "3.50", "rent")
    assert (transfer.source_account_id, transfer.destination_account_id) == (alice.id, bob.id)
    assert isinstance(balance, Balance), balance
    assert (balance.account_id, balance.balance, balance.available_balance, balance.currency) == (
        alice.id,
        "6.55",
        "6.55",
        "USD",
    )
    assert isinstance(bob_now, Account), bob_now
    assert (bob_now.balance, bob_now.available_balance) == ("3.50", "3.50")
    assert PostedTransaction.objects.filter(public_id__in=[deposit.id, transfer.id]).count() == 2


def test_the_history_comes_a_page_at_a_time_through_next(client_as):
    client = client_as(UserFactory())
    account = opened(client)
    amounts = ["1.00", "2.50", "0.01", "7.00", "12.34"]
    for number, amount in enumerate(amounts):
        deposited(client, account, amount, f"deposit-{number}")

    entries, pages = whole_history(client, account, page_size=2)
    everything, single = whole_history(client, account, page_size=50)

    assert pages == 3  # 2 + 2 + 1
    assert single == 1
    assert [e.amount for e in entries] == list(reversed(amounts))  # newest first
    assert [e.balance_after for e in entries] == ["22.85", "10.51", "3.51", "3.50", "1.00"]
    assert {e.kind for e in entries} == {TransactionKind.DEPOSIT}
    assert [e.transaction_id for e in entries] == [e.transaction_id for e in everything]


def test_a_deposit_sent_again_with_its_key_is_the_same_transaction_replayed(client_as):
    client = client_as(UserFactory())
    account = opened(client)
    body = DepositInput(account_id=account.id, amount="10.00", reference="INV-1")

    first = deposits_create.sync_detailed(client=client, body=body, idempotency_key="retry-me")
    again = deposits_create.sync_detailed(client=client, body=body, idempotency_key="retry-me")
    balance = accounts_balance_retrieve.sync(account.id, client=client)

    assert isinstance(first.parsed, Transaction), first.parsed
    assert isinstance(again.parsed, Transaction), again.parsed
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.headers.get("Idempotent-Replayed") is None
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.parsed.id == first.parsed.id
    assert (again.parsed.amount, again.parsed.reference) == ("10.00", "INV-1")
    assert isinstance(balance, Balance)
    assert balance.balance == "10.00"  # posted once
    assert PostedTransaction.objects.filter(public_id=first.parsed.id).count() == 1


def test_a_withdrawal_of_more_than_the_balance_is_an_insufficient_funds_problem(client_as):
    client = client_as(UserFactory())
    account = opened(client)
    deposited(client, account, "10.00", "deposit-1")

    answer = withdrawals_create.sync_detailed(
        client=client, body=WithdrawalInput(account_id=account.id, amount="10.01"), idempotency_key="too-much"
    )
    balance = accounts_balance_retrieve.sync(account.id, client=client)

    problem = answer.parsed
    assert answer.status_code == 422
    assert isinstance(problem, Problem), problem
    assert (problem.status, problem.code) == (422, "insufficient_funds")
    assert str(account.id) in problem.detail
    assert problem.type_.endswith("/api/v1/problems/insufficient_funds/")
    assert problem.request_id == answer.headers["X-Request-ID"]  # what to quote to the operator
    assert isinstance(balance, Balance)
    assert balance.balance == "10.00"  # nothing moved


def test_another_clients_account_is_not_found_and_takes_no_deposit(client_as):
    mine, theirs = client_as(UserFactory()), client_as(UserFactory())
    their_account = opened(theirs, name="theirs")

    read = accounts_retrieve.sync_detailed(their_account.id, client=mine)
    deposit = deposits_create.sync_detailed(
        client=mine, body=DepositInput(account_id=their_account.id, amount="1.00"), idempotency_key="not-mine"
    )
    still = accounts_retrieve.sync(their_account.id, client=theirs)

    assert read.status_code == 404
    assert isinstance(read.parsed, Problem), read.parsed
    assert (read.parsed.status, read.parsed.code) == (404, "not_found")
    assert isinstance(deposit.parsed, Problem), deposit.parsed
    assert (deposit.status_code, deposit.parsed.code) == (404, "not_found")
    assert isinstance(still, Account)
    assert still.balance == "0.00"

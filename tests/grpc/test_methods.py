"""Every RPC of the five ledger.v1 services over a real channel, answering what a client would check.

Accounts (open, get, list with page tokens, balance now and at an instant, history with its
filters and pages), movements (deposit, withdrawal, transfer, staff's reversal, reads and the
kind filter), batches (movements and a hold, all in one), holds (place, capture partially then
finally, void, read, list with filters) and events (pages ``after`` an id, ``more``, one event,
and a stream read then cancelled). Where REST reads the same resource, the gRPC answer is
compared with the REST document parsed into the same message: the two interfaces answer alike.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from django.utils import timezone
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message

from accounts.models import Account
from accounts.services import account_status_change
from grpc_api.v1 import accounts_pb2, batches_pb2, events_pb2, holds_pb2, transactions_pb2
from tests.factories import AccountFactory
from transactions.models import Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


# --- helpers -------------------------------------------------------------------------------------


def new_key() -> str:
    return uuid.uuid4().hex


def instant(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def moment(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def as_rest(message_class: type[Message], document: dict[str, Any]) -> Message:
    """Return a REST document as the gRPC message of the same resource."""
    return json_format.ParseDict(document, message_class())


def rest(api, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(path, params)
    assert response.status_code == 200, (path, response.status_code, response.content[:500])
    return response.json()


def rest_event(document: dict[str, Any]) -> events_pb2.Event:
    """Return a REST event document as an Event: its ``data`` in the field its type names."""
    document = dict(document)
    document[document["type"].split(".", 1)[0]] = document.pop("data")
    return as_rest(events_pb2.Event, document)


def open_account(ledger, currency: str = "USD", **fields: Any) -> accounts_pb2.Account:
    return ledger.call(
        ledger.accounts.OpenAccount,
        accounts_pb2.OpenAccountRequest(idempotency_key=f"open-{uuid.uuid4()}", currency=currency, **fields),
    )


def deposit(
    ledger, account_id: str, amount: str, key: str | None = None, **fields: Any
) -> transactions_pb2.Transaction:
    return ledger.call(
        ledger.transactions.CreateDeposit,
        transactions_pb2.CreateDepositRequest(
            idempotency_key=key or new_key(),
            deposit=transactions_pb2.DepositInput(account_id=account_id, amount=amount, **fields),
        ),
    )


def withdraw(ledger, account_id: str, amount: str, **fields: Any) -> transactions_pb2.Transaction:
    return ledger.call(
        ledger.transactions.CreateWithdrawal,
        transactions_pb2.CreateWithdrawalRequest(
            idempotency_key=new_key(),
            withdrawal=transactions_pb2.WithdrawalInput(account_id=account_id, amount=amount, **fields),
        ),
    )


def transfer(ledger, source: str, destination: str, amount: str, **fields: Any) -> transactions_pb2.Transaction:
    return ledger.call(
        ledger.transactions.CreateTransfer,
        transactions_pb2.CreateTransferRequest(
            idempotency_key=new_key(),
            transfer=transactions_pb2.TransferInput(
                source_account_id=source, destination_account_id=destination, amount=amount, **fields
            ),
        ),
    )


def place_hold(ledger, account_id: str, amount: str, **fields: Any) -> holds_pb2.Hold:
    return ledger.call(
        ledger.holds.CreateHold,
        holds_pb2.CreateHoldRequest(
            idempotency_key=new_key(), hold=holds_pb2.HoldInput(account_id=account_id, amount=amount, **fields)
        ),
    )


def capture(ledger, hold_id: str, **fields: Any) -> transactions_pb2.Transaction:
    return ledger.call(
        ledger.holds.CaptureHold, holds_pb2.CaptureHoldRequest(idempotency_key=new_key(), hold_id=hold_id, **fields)
    )


def void(ledger, hold_id: str, **fields: Any) -> holds_pb2.Hold:
    return ledger.call(
        ledger.holds.VoidHold, holds_pb2.VoidHoldRequest(idempotency_key=new_key(), hold_id=hold_id, **fields)
    )


def balances(ledger, account_id: str, at: datetime | None = None) -> tuple[str, str]:
    request = accounts_pb2.GetBalanceRequest(account_id=account_id, at=instant(at) if at else None)
    answer = ledger.call(ledger.accounts.GetBalance, request)
    return answer.balance, answer.available_balance


def funded(ledger, amount: str = "100.00", currency: str = "USD") -> accounts_pb2.Account:
    account = open_account(ledger, currency)
    deposit(ledger, account.id, amount)
    return account


def history(ledger, account_id: str, **fields: Any) -> accounts_pb2.ListHistoryResponse:
    return ledger.call(ledger.accounts.ListHistory, accounts_pb2.ListHistoryRequest(account_id=account_id, **fields))


def events_of(ledger, **fields: Any) -> list[events_pb2.Event]:
    """Every event the client may see, walked ``after`` the last one of each page, as a consumer does."""
    seen: list[events_pb2.Event] = []
    while True:
        page = ledger.call(ledger.events.ListEvents, events_pb2.ListEventsRequest(**fields))
        seen += page.events
        if not page.more:
            return seen
        fields = {**fields, "after": page.events[-1].id}


def types_of(events: list[events_pb2.Event]) -> list[str]:
    return [event.type for event in events]


@pytest.fixture
def mine(ledger_as, user):
    return ledger_as(user)


@pytest.fixture
def theirs(ledger_as, other_user):
    return ledger_as(other_user)


@pytest.fixture
def staff_ledger(ledger_as, staff):
    return ledger_as(staff)


@pytest.fixture
def payee(other_user) -> Account:
    """A USD account of another client: a transfer may pay any active account of its currency."""
    return AccountFactory(owner=other_user, currency="USD")


# --- AccountService ------------------------------------------------------------------------------


def test_open_account_answers_the_account_as_get_account_and_rest_read_it(mine, api, user):
    opened = open_account(mine, "USD", name="till", metadata=struct({"store": "A-1", "lanes": 3}))

    assert uuid.UUID(opened.id)
    assert (opened.name, opened.currency, opened.status) == ("till", "USD", "active")
    assert (opened.balance, opened.available_balance) == ("0.00", "0.00")
    assert json_format.MessageToDict(opened.metadata) == {"store": "A-1", "lanes": 3}
    assert abs(moment(opened.created_at) - timezone.now()) < timedelta(minutes=1)
    assert moment(opened.updated_at) >= moment(opened.created_at)
    assert mine.call(mine.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=opened.id)) == opened
    assert as_rest(accounts_pb2.Account, rest(api, f"/api/v1/accounts/{opened.id}/")) == opened
    assert Account.objects.get(public_id=opened.id).owner == user


def test_a_jpy_account_has_no_minor_digits_and_no_name_by_default(mine):
    opened = open_account(mine, "JPY")
    assert (opened.currency, opened.name, opened.balance, opened.available_balance) == ("JPY", "", "0", "0")
    assert json_format.MessageToDict(opened.metadata) == {}


def test_list_accounts_pages_newest_first_and_a_walk_sees_each_account_once(mine, api):
    opened = [open_account(mine, name=f"a{n}").id for n in range(5)]
    newest_first = opened[::-1]

    whole = mine.call(mine.accounts.ListAccounts, accounts_pb2.ListAccountsRequest())
    assert [account.id for account in whole.accounts] == newest_first
    assert (whole.next_page_token, whole.previous_page_token) == ("", "")
    assert [as_rest(accounts_pb2.Account, a) for a in rest(api, "/api/v1/accounts/")["results"]] == list(whole.accounts)

    pages, token = [], ""
    while True:
        page = mine.call(mine.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(page_size=2, page_token=token))
        pages.append(page)
        token = page.next_page_token
        if not token:
            break
    assert [[account.id for account in page.accounts] for page in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert pages[0].previous_page_token == ""
    assert all(page.previous_page_token for page in pages[1:])
    back = mine.call(
        mine.accounts.ListAccounts,
        accounts_pb2.ListAccountsRequest(page_size=2, page_token=pages[2].previous_page_token),
    )
    assert [account.id for account in back.accounts] == newest_first[2:4]


def test_get_balance_now_and_at_an_instant_in_the_past(mine, api):
    account = funded(mine, "10.00")
    time.sleep(0.01)
    between = timezone.now()
    time.sleep(0.01)
    deposit(mine, account.id, "5.00")
    place_hold(mine, account.id, "3.00")

    now = mine.call(mine.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=account.id))
    assert (now.account_id, now.currency, now.balance, now.available_balance) == (account.id, "USD", "15.00", "12.00")
    assert abs(moment(now.as_of) - timezone.now()) < timedelta(minutes=1)

    then = mine.call(
        mine.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=account.id, at=instant(between))
    )
    assert (then.balance, then.available_balance) == ("10.00", "10.00")
    assert moment(then.as_of) == between
    at = between.isoformat().replace("+00:00", "Z")
    assert as_rest(accounts_pb2.Balance, rest(api, f"/api/v1/accounts/{account.id}/balance/", at=at)) == then

    before_opening = mine.call(
        mine.accounts.GetBalance,
        accounts_pb2.GetBalanceRequest(account_id=account.id, at=instant(between - timedelta(days=1))),
    )
    assert (before_opening.balance, before_opening.available_balance) == ("0.00", "0.00")


def test_list_history_is_newest_first_with_each_postings_balance(mine, api, payee):
    account = funded(mine, "10.00")
    withdraw(mine, account.id, "3.00", description="cash", reference="ATM-1")
    transfer(mine, account.id, str(payee.public_id), "2.00")

    found = history(mine, account.id)
    assert [(e.kind, e.amount, e.balance_after) for e in found.entries] == [
        ("transfer", "-2.00", "5.00"),
        ("withdrawal", "-3.00", "7.00"),
        ("deposit", "10.00", "10.00"),
    ]
    assert (found.entries[1].description, found.entries[1].reference) == ("cash", "ATM-1")
    rest_entries = rest(api, f"/api/v1/accounts/{account.id}/history/")["results"]
    assert [as_rest(accounts_pb2.HistoryEntry, entry) for entry in rest_entries] == list(found.entries)


def test_list_history_filters_by_kind_and_by_instants(mine):
    account = funded(mine, "10.00")
    time.sleep(0.01)
    withdrawal = withdraw(mine, account.id, "3.00")
    time.sleep(0.01)
    deposit(mine, account.id, "1.00")

    assert [e.transaction_id for e in history(mine, account.id, kind="withdrawal").entries] == [withdrawal.id]
    assert [e.kind for e in history(mine, account.id, kind="deposit").entries] == ["deposit", "deposit"]
    assert [e.kind for e in history(mine, account.id, created_after=withdrawal.created_at).entries] == [
        "deposit",
        "withdrawal",
    ]
    assert [e.amount for e in history(mine, account.id, created_before=withdrawal.created_at).entries] == ["10.00"]
    both = history(mine, account.id, created_after=withdrawal.created_at, created_before=withdrawal.created_at)
    assert list(both.entries) == []


def test_list_history_pages_with_tokens(mine):
    account = open_account(mine)
    amounts = [f"{n}.00" for n in range(1, 6)]
    for amount in amounts:
        deposit(mine, account.id, amount)

    first = history(mine, account.id, page_size=2)
    second = history(mine, account.id, page_size=2, page_token=first.next_page_token)
    third = history(mine, account.id, page_size=2, page_token=second.next_page_token)
    assert [[e.amount for e in page.entries] for page in (first, second, third)] == [
        ["5.00", "4.00"],
        ["3.00", "2.00"],
        ["1.00"],
    ]
    assert (first.previous_page_token, third.next_page_token) == ("", "")
    back = history(mine, account.id, page_size=2, page_token=second.previous_page_token)
    assert [e.amount for e in back.entries] == ["5.00", "4.00"]


def test_staff_read_a_system_accounts_history_without_running_balances(mine, staff_ledger):
    account = funded(mine, "10.00")
    withdraw(mine, account.id, "4.00")
    system = str(Account.objects.get(is_system=True, currency="USD").public_id)

    world = staff_ledger.call(staff_ledger.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=system))
    assert (world.currency, world.balance) == ("USD", "-6.00")
    listed = staff_ledger.call(staff_ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()).accounts
    assert [a for a in listed if a.id == system] == [world]
    found = history(staff_ledger, system)
    assert [(e.kind, e.amount) for e in found.entries] == [("withdrawal", "4.00"), ("deposit", "-10.00")]
    assert not any(entry.HasField("balance_after") for entry in found.entries)


# --- TransactionService --------------------------------------------------------------------------


def test_a_deposit_answers_the_transaction_as_get_transaction_and_rest_read_it(mine, api):
    account = open_account(mine)
    txn = deposit(
        mine, account.id, "25.5", description="top-up", reference="ref-1", metadata=struct({"order": "A-1001"})
    )

    assert (txn.kind, txn.status, txn.amount, txn.currency) == ("deposit", "posted", "25.50", "USD")
    assert not txn.HasField("source_account_id")
    assert txn.destination_account_id == account.id
    assert (txn.description, txn.reference) == ("top-up", "ref-1")
    assert json_format.MessageToDict(txn.metadata) == {"order": "A-1001"}
    assert not any(txn.HasField(name) for name in ("reverses", "reversed_by", "hold_id"))
    assert [(leg.account_id, leg.amount, leg.balance_after, leg.sequence) for leg in txn.postings] == [
        (account.id, "25.50", "25.50", 1)
    ]
    read = mine.call(mine.transactions.GetTransaction, transactions_pb2.GetTransactionRequest(transaction_id=txn.id))
    assert read == txn
    assert as_rest(transactions_pb2.Transaction, rest(api, f"/api/v1/transactions/{txn.id}/")) == txn
    assert balances(mine, account.id) == ("25.50", "25.50")


def test_the_same_key_and_request_again_replays_the_first_answer(mine):
    account = open_account(mine)
    key = new_key()
    first = deposit(mine, account.id, "1.00", key=key)
    request = transactions_pb2.CreateDepositRequest(
        idempotency_key=key, deposit=transactions_pb2.DepositInput(account_id=account.id, amount="1.00")
    )
    again, call = mine.with_call(mine.transactions.CreateDeposit, request)

    assert again == first
    assert ("idempotent-replayed", "true") in tuple(call.trailing_metadata())
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert balances(mine, account.id) == ("1.00", "1.00")


def test_a_key_used_over_rest_replays_over_grpc(mine, api):
    account = open_account(mine)
    key = new_key()
    body = {"account_id": account.id, "amount": "2.00", "metadata": {"order": 7, "tags": ["a"]}}
    response = api.post("/api/v1/deposits/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    # The same request: a Struct's number is a double (7.0), and still the same request as REST's 7.
    over_grpc, call = mine.with_call(
        mine.transactions.CreateDeposit,
        transactions_pb2.CreateDepositRequest(
            idempotency_key=key,
            deposit=transactions_pb2.DepositInput(
                account_id=account.id, amount="2.00", metadata=struct({"order": 7, "tags": ["a"]})
            ),
        ),
    )
    assert over_grpc == as_rest(transactions_pb2.Transaction, response.json())
    assert ("idempotent-replayed", "true") in tuple(call.trailing_metadata())
    assert balances(mine, account.id) == ("2.00", "2.00")


def test_every_write_replays_over_grpc_what_the_same_key_posted_over_rest(mine, staff_ledger, api, staff_api, user):
    account = funded(mine, "100.00")
    own = account.id
    txn = deposit(mine, own, "1.00")
    capture_me, void_me = place_hold(mine, own, "5.00"), place_hold(mine, own, "5.00")
    writes = [  # (REST client, REST path, REST body, gRPC method, the gRPC request but its key)
        (api, "/api/v1/deposits/", {"account_id": own, "amount": "1.00"}, mine.transactions.CreateDeposit,
         transactions_pb2.CreateDepositRequest(deposit=transactions_pb2.DepositInput(account_id=own, amount="1.00"))),
        (api, "/api/v1/withdrawals/", {"account_id": own, "amount": "1.00"}, mine.transactions.CreateWithdrawal,
         transactions_pb2.CreateWithdrawalRequest(
             withdrawal=transactions_pb2.WithdrawalInput(account_id=own, amount="1.00"))),
        (api, "/api/v1/holds/", {"account_id": own, "amount": "1.00", "description": "d"}, mine.holds.CreateHold,
         holds_pb2.CreateHoldRequest(hold=holds_pb2.HoldInput(account_id=own, amount="1.00", description="d"))),
        (api, f"/api/v1/holds/{capture_me.id}/capture/", {"amount": "2.00", "final": True}, mine.holds.CaptureHold,
         holds_pb2.CaptureHoldRequest(hold_id=capture_me.id, amount="2.00", final=True)),
        (api, f"/api/v1/holds/{void_me.id}/void/", {"reason": "r"}, mine.holds.VoidHold,
         holds_pb2.VoidHoldRequest(hold_id=void_me.id, reason="r")),
        (api, "/api/v1/batches/", {"operations": [{"kind": "deposit", "account_id": own, "amount": "1.00"}]},
         mine.batches.CreateBatch, batches_pb2.CreateBatchRequest(operations=[batches_pb2.BatchOperation(
             deposit=transactions_pb2.DepositInput(account_id=own, amount="1.00"))])),
        (staff_api, f"/api/v1/transactions/{txn.id}/reverse/", {"reason": "dup"},
         staff_ledger.transactions.ReverseTransaction,
         transactions_pb2.ReverseTransactionRequest(transaction_id=txn.id, reason="dup")),
    ]  # fmt: skip
    for client, path, body, method, request in writes:
        key = new_key()
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code in (200, 201), (path, response.content)
        posted = Transaction.objects.count()
        request.idempotency_key = key
        answer, call = (staff_ledger if client is staff_api else mine).with_call(method, request)
        assert answer == as_rest(type(answer), response.json()), path
        assert ("idempotent-replayed", "true") in tuple(call.trailing_metadata()), path
        assert Transaction.objects.count() == posted, path


def test_a_withdrawal_debits_the_account(mine, api):
    account = funded(mine, "10.00")
    txn = withdraw(mine, account.id, "3.25", description="cash")

    assert (txn.kind, txn.amount, txn.source_account_id, txn.description) == ("withdrawal", "3.25", account.id, "cash")
    assert not txn.HasField("destination_account_id")
    assert [(leg.account_id, leg.amount, leg.balance_after, leg.sequence) for leg in txn.postings] == [
        (account.id, "-3.25", "6.75", 2)
    ]
    assert as_rest(transactions_pb2.Transaction, rest(api, f"/api/v1/withdrawals/{txn.id}/")) == txn
    assert balances(mine, account.id) == ("6.75", "6.75")


def test_a_transfer_pays_another_clients_account_and_each_sees_its_own_leg(mine, theirs, api, other_api, payee):
    account = funded(mine, "50.00")
    txn = transfer(mine, account.id, str(payee.public_id), "20.00", reference="rent")

    assert (txn.kind, txn.amount, txn.reference) == ("transfer", "20.00", "rent")
    assert (txn.source_account_id, txn.destination_account_id) == (account.id, str(payee.public_id))
    assert [(leg.account_id, leg.amount, leg.balance_after) for leg in txn.postings] == [
        (account.id, "-20.00", "30.00")
    ]
    as_payee = theirs.call(
        theirs.transactions.GetTransaction, transactions_pb2.GetTransactionRequest(transaction_id=txn.id)
    )
    assert [(leg.account_id, leg.amount, leg.balance_after) for leg in as_payee.postings] == [
        (str(payee.public_id), "20.00", "20.00")
    ]
    assert as_rest(transactions_pb2.Transaction, rest(other_api, f"/api/v1/transfers/{txn.id}/")) == as_payee
    assert as_rest(transactions_pb2.Transaction, rest(api, f"/api/v1/transfers/{txn.id}/")) == txn
    assert balances(mine, account.id) == ("30.00", "30.00")
    assert balances(theirs, str(payee.public_id)) == ("20.00", "20.00")


def test_staff_reverse_a_transaction_and_the_original_reads_reversed(mine, staff_ledger, api):
    account = funded(mine, "10.00")
    original = withdraw(mine, account.id, "4.00")
    reversal = staff_ledger.call(
        staff_ledger.transactions.ReverseTransaction,
        transactions_pb2.ReverseTransactionRequest(
            idempotency_key=new_key(), transaction_id=original.id, reason="duplicate"
        ),
    )

    assert (reversal.kind, reversal.status, reversal.amount, reversal.reverses) == (
        "reversal",
        "posted",
        "4.00",
        original.id,
    )
    assert len(reversal.postings) == 2  # Staff see every leg, the system account's too.
    assert (account.id, "4.00", "10.00") in [
        (leg.account_id, leg.amount, leg.balance_after) for leg in reversal.postings
    ]
    reread = mine.call(
        mine.transactions.GetTransaction, transactions_pb2.GetTransactionRequest(transaction_id=original.id)
    )
    assert (reread.status, reread.reversed_by) == ("reversed", reversal.id)
    assert as_rest(transactions_pb2.Transaction, rest(api, f"/api/v1/transactions/{original.id}/")) == reread
    assert balances(mine, account.id) == ("10.00", "10.00")


def test_list_transactions_newest_first_filtered_by_kind(mine, api, payee):
    account = open_account(mine)
    first = deposit(mine, account.id, "10.00")
    second = deposit(mine, account.id, "5.00")
    withdrawal = withdraw(mine, account.id, "1.00")
    payment = transfer(mine, account.id, str(payee.public_id), "2.00")

    def listed(**fields: Any) -> list[str]:
        page = mine.call(mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest(**fields))
        return [txn.id for txn in page.transactions]

    assert listed() == [payment.id, withdrawal.id, second.id, first.id]
    assert listed(kind="deposit") == [second.id, first.id]
    assert listed(kind="withdrawal") == [withdrawal.id]
    assert listed(kind="transfer") == [payment.id]
    everything = mine.call(mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest())
    rest_page = rest(api, "/api/v1/transactions/")["results"]
    assert [as_rest(transactions_pb2.Transaction, txn) for txn in rest_page] == list(everything.transactions)


def test_list_transactions_pages_within_a_kind(mine):
    account = open_account(mine)
    deposits = [deposit(mine, account.id, f"{n}.00").id for n in range(1, 4)]
    withdraw(mine, account.id, "1.00")

    first = mine.call(
        mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest(kind="deposit", page_size=2)
    )
    second = mine.call(
        mine.transactions.ListTransactions,
        transactions_pb2.ListTransactionsRequest(kind="deposit", page_size=2, page_token=first.next_page_token),
    )
    assert [txn.id for txn in first.transactions] + [txn.id for txn in second.transactions] == deposits[::-1]
    assert second.next_page_token == ""


# --- BatchService --------------------------------------------------------------------------------


def test_a_batch_posts_its_movements_and_places_its_hold_in_order(mine, api, payee):
    account = open_account(mine)
    operations = [
        batches_pb2.BatchOperation(deposit=transactions_pb2.DepositInput(account_id=account.id, amount="50.00")),
        batches_pb2.BatchOperation(withdrawal=transactions_pb2.WithdrawalInput(account_id=account.id, amount="5.00")),
        batches_pb2.BatchOperation(
            transfer=transactions_pb2.TransferInput(
                source_account_id=account.id, destination_account_id=str(payee.public_id), amount="10.00"
            )
        ),
        batches_pb2.BatchOperation(hold=holds_pb2.HoldInput(account_id=account.id, amount="20.00")),
    ]
    batch = mine.call(
        mine.batches.CreateBatch, batches_pb2.CreateBatchRequest(idempotency_key=new_key(), operations=operations)
    )

    assert uuid.UUID(batch.id)
    assert [(txn.kind, txn.amount) for txn in batch.transactions] == [
        ("deposit", "50.00"),
        ("withdrawal", "5.00"),
        ("transfer", "10.00"),
    ]
    [hold] = batch.holds
    assert (hold.status, hold.account_id, hold.amount, hold.remaining_amount) == (
        "pending",
        account.id,
        "20.00",
        "20.00",
    )
    assert balances(mine, account.id) == ("35.00", "15.00")
    assert mine.call(mine.batches.GetBatch, batches_pb2.GetBatchRequest(batch_id=batch.id)) == batch
    assert as_rest(batches_pb2.Batch, rest(api, f"/api/v1/batches/{batch.id}/")) == batch


# --- HoldService ---------------------------------------------------------------------------------


def test_a_hold_reserves_money_without_moving_it(mine, api):
    account = funded(mine, "100.00")
    expires = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    hold = place_hold(mine, account.id, "40", description="card auth", reference="ORD-1", expires_at=instant(expires))

    assert (hold.status, hold.account_id, hold.currency) == ("pending", account.id, "USD")
    assert (hold.amount, hold.captured_amount, hold.remaining_amount) == ("40.00", "0.00", "40.00")
    assert (hold.description, hold.reference) == ("card auth", "ORD-1")
    assert not hold.HasField("destination_account_id")
    assert not hold.HasField("resolved_at")
    assert list(hold.captures) == []
    assert moment(hold.expires_at) == expires
    assert balances(mine, account.id) == ("100.00", "60.00")
    assert mine.call(mine.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold.id)) == hold
    assert as_rest(holds_pb2.Hold, rest(api, f"/api/v1/holds/{hold.id}/")) == hold


def test_a_hold_expires_seven_days_on_by_default(mine):
    hold = place_hold(mine, funded(mine).id, "1.00")
    assert moment(hold.expires_at) - moment(hold.created_at) == timedelta(days=7)


def test_a_hold_is_captured_partially_then_finally_to_its_destination(mine, theirs, api, payee):
    account = funded(mine, "100.00")
    hold = place_hold(mine, account.id, "40.00", destination_account_id=str(payee.public_id))

    first = capture(mine, hold.id, amount="15.00")
    assert (first.kind, first.amount, first.hold_id) == ("transfer", "15.00", hold.id)
    assert first.destination_account_id == str(payee.public_id)
    pending = mine.call(mine.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold.id))
    assert (pending.status, pending.captured_amount, pending.remaining_amount) == ("pending", "15.00", "25.00")
    assert balances(mine, account.id) == ("85.00", "60.00")

    last = capture(mine, hold.id, amount="10.00", final=True)
    resolved = mine.call(mine.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold.id))
    assert (resolved.status, resolved.captured_amount, resolved.remaining_amount) == ("captured", "25.00", "0.00")
    assert resolved.HasField("resolved_at")
    assert list(resolved.captures) == [first.id, last.id]
    assert balances(mine, account.id) == ("75.00", "75.00")  # The final capture released the other 15.00.
    assert balances(theirs, str(payee.public_id)) == ("25.00", "25.00")
    assert as_rest(holds_pb2.Hold, rest(api, f"/api/v1/holds/{hold.id}/")) == resolved
    assert as_rest(transactions_pb2.Transaction, rest(api, f"/api/v1/transactions/{last.id}/")) == last


def test_a_capture_carries_its_own_description_or_else_the_holds(mine, api):
    account = funded(mine, "100.00")
    hold = place_hold(mine, account.id, "30.00", description="card auth")

    described = capture(mine, hold.id, amount="10.00", description="first shipment")
    defaulted = capture(mine, hold.id, amount="10.00")

    assert described.description == "first shipment"
    assert defaulted.description == "card auth"
    assert rest(api, f"/api/v1/transactions/{described.id}/")["description"] == "first shipment"


def test_a_capture_without_an_amount_takes_what_remains_as_a_withdrawal(mine):
    account = funded(mine, "100.00")
    hold = place_hold(mine, account.id, "30.00")
    txn = capture(mine, hold.id)

    assert (txn.kind, txn.amount, txn.source_account_id, txn.hold_id) == ("withdrawal", "30.00", account.id, hold.id)
    assert mine.call(mine.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold.id)).status == "captured"
    assert balances(mine, account.id) == ("70.00", "70.00")


def test_a_void_releases_the_hold(mine, api):
    account = funded(mine, "100.00")
    hold = place_hold(mine, account.id, "30.00")
    voided = void(mine, hold.id, reason="order cancelled")

    assert (voided.id, voided.status, voided.captured_amount, voided.remaining_amount) == (
        hold.id,
        "voided",
        "0.00",
        "0.00",
    )
    assert voided.HasField("resolved_at")
    assert balances(mine, account.id) == ("100.00", "100.00")
    assert as_rest(holds_pb2.Hold, rest(api, f"/api/v1/holds/{hold.id}/")) == voided


def test_list_holds_newest_first_filtered_by_status_and_account(mine, api):
    first_account, second_account = funded(mine), funded(mine)
    a = place_hold(mine, first_account.id, "1.00")
    b = place_hold(mine, second_account.id, "2.00")
    c = place_hold(mine, first_account.id, "3.00")
    void(mine, a.id)

    def listed(**fields: Any) -> list[str]:
        return [hold.id for hold in mine.call(mine.holds.ListHolds, holds_pb2.ListHoldsRequest(**fields)).holds]

    assert listed() == [c.id, b.id, a.id]
    assert listed(status="pending") == [c.id, b.id]
    assert listed(status="voided") == [a.id]
    assert listed(account_id=first_account.id) == [c.id, a.id]
    assert listed(account_id=first_account.id, status="pending") == [c.id]
    assert listed(status="captured") == []
    first = mine.call(mine.holds.ListHolds, holds_pb2.ListHoldsRequest(page_size=2))
    second = mine.call(mine.holds.ListHolds, holds_pb2.ListHoldsRequest(page_size=2, page_token=first.next_page_token))
    assert [h.id for h in first.holds] + [h.id for h in second.holds] == [c.id, b.id, a.id]
    everything = mine.call(mine.holds.ListHolds, holds_pb2.ListHoldsRequest())
    assert [as_rest(holds_pb2.Hold, h) for h in rest(api, "/api/v1/holds/")["results"]] == list(everything.holds)


# --- EventService --------------------------------------------------------------------------------


def test_each_write_is_an_event_in_commit_order(mine, staff_ledger, staff):
    account = open_account(mine)
    deposited = deposit(mine, account.id, "100.00")
    held = place_hold(mine, account.id, "30.00")
    captured = capture(mine, held.id, amount="10.00")
    voided_hold = place_hold(mine, account.id, "5.00")
    void(mine, voided_hold.id)
    staff_ledger.call(
        staff_ledger.transactions.ReverseTransaction,
        transactions_pb2.ReverseTransactionRequest(idempotency_key=new_key(), transaction_id=captured.id, reason="x"),
    )
    account_status_change(operator=staff, account_id=account.id, action="freeze", reason="review")

    events = events_of(mine)
    assert types_of(events) == [
        "account.opened",
        "transaction.posted",
        "hold.created",
        "transaction.posted",
        "hold.captured",
        "hold.created",
        "hold.voided",
        "transaction.posted",
        "transaction.reversed",
        "account.status_changed",
    ]
    assert events[0].account.id == account.id
    assert events[1].transaction.id == deposited.id
    assert [(leg.amount, leg.sequence) for leg in events[1].transaction.postings] == [("100.00", 1)]
    assert (events[2].hold.id, events[2].hold.status) == (held.id, "pending")
    assert events[3].transaction.id == captured.id
    assert (events[4].hold.id, events[4].hold.captured_amount) == (held.id, "10.00")
    assert events[6].hold.status == "voided"
    assert (events[7].transaction.kind, events[8].transaction.id) == ("reversal", captured.id)
    assert events[8].transaction.status == "reversed"
    assert events[9].account.status == "frozen"
    assert len({event.id for event in events}) == len(events)


def test_an_events_data_is_the_resource_as_the_client_reads_it(mine, api, payee):
    account = funded(mine, "10.00")
    payment = transfer(mine, account.id, str(payee.public_id), "4.00")
    [posted] = [e for e in events_of(mine, type="transaction.posted") if e.transaction.id == payment.id]

    read = mine.call(
        mine.transactions.GetTransaction, transactions_pb2.GetTransactionRequest(transaction_id=payment.id)
    )
    assert posted.transaction == read  # Only the client's own leg.
    assert [(leg.account_id, leg.sequence) for leg in posted.transaction.postings] == [(account.id, 2)]
    assert mine.call(mine.events.GetEvent, events_pb2.GetEventRequest(event_id=posted.id)) == posted
    assert rest_event(rest(api, f"/api/v1/events/{posted.id}/")) == posted


def test_list_events_pages_after_an_id_and_says_when_more_are_ready(mine):
    account = open_account(mine)
    for n in range(1, 5):
        deposit(mine, account.id, f"{n}.00")
    every = mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest())
    assert len(every.events) == 5
    assert not every.more

    first = mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest(page_size=2))
    second = mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest(page_size=2, after=first.events[-1].id))
    third = mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest(page_size=2, after=second.events[-1].id))
    assert (first.more, second.more, third.more) == (True, True, False)
    assert [*first.events, *second.events, *third.events] == list(every.events)
    caught_up = mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest(after=every.events[-1].id))
    assert (list(caught_up.events), caught_up.more) == ([], False)


def test_list_events_by_type(mine):
    account = open_account(mine)
    deposit(mine, account.id, "1.00")
    place_hold(mine, account.id, "1.00")
    assert types_of(events_of(mine, type="hold.created")) == ["hold.created"]
    assert types_of(events_of(mine, type="account.opened", page_size=1)) == ["account.opened"]
    assert types_of(events_of(mine, type="transaction.reversed")) == []


def test_stream_events_sends_what_is_there_then_each_new_event_until_cancelled(mine):
    account = open_account(mine)
    deposit(mine, account.id, "1.00")
    stream = mine.events.StreamEvents(events_pb2.StreamEventsRequest(), metadata=mine.metadata(), timeout=20)
    try:
        opened, posted = next(stream), next(stream)
        assert (opened.type, opened.account.id) == ("account.opened", account.id)
        assert (posted.type, posted.transaction.amount) == ("transaction.posted", "1.00")
        later = deposit(mine, account.id, "2.00")
        arrived = next(stream)
        assert (arrived.type, arrived.transaction.id) == ("transaction.posted", later.id)
    finally:
        stream.cancel()
    with pytest.raises(grpc.RpcError) as ended:
        next(stream)
    assert ended.value.code() == grpc.StatusCode.CANCELLED


def test_stream_events_starts_after_the_id_given_and_keeps_to_its_type(mine):
    account = open_account(mine)
    first = deposit(mine, account.id, "1.00")
    [first_event] = [e for e in events_of(mine) if e.transaction.id == first.id]
    place_hold(mine, account.id, "1.00")
    second = deposit(mine, account.id, "2.00")
    request = events_pb2.StreamEventsRequest(after=first_event.id, type="transaction.posted")
    stream = mine.events.StreamEvents(request, metadata=mine.metadata(), timeout=20)
    try:
        following = next(stream)
    finally:
        stream.cancel()
    assert (following.type, following.transaction.id) == ("transaction.posted", second.id)

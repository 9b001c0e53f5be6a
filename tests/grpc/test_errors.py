"""Every refusal a gRPC client can get, as it gets it, and that a refusal changes nothing.

Each refusal is checked for its status code, its ``google.rpc.ErrorInfo`` (``reason`` the
contract's code, ``domain`` ``ledger``, ``metadata`` with the request id, the fields REST's
``errors`` names and a batch's refused ``operation``), its ``BadRequest`` field violations (the
same messages REST's problem document carries) and its ``RetryInfo``; every refused write
leaves the books, the idempotency records and the events exactly as they were. The ownership
rules are proved over gRPC too: a client never sees nor touches another's rows (404, never
403), may pay another's account, and staff see and act on every account. Throttling (of a
client's calls, of an address's failed authentications, of streams), an unreachable database
and a shutdown ending a stream are proved on servers of their own.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from django.utils import timezone
from google.protobuf import struct_pb2, timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from accounts.models import Account
from accounts.services import account_status_change
from events.models import Event
from grpc_api.v1 import accounts_pb2, batches_pb2, events_pb2, holds_pb2, transactions_pb2
from harness.commands import REPO
from harness.environment import production_env
from harness.grpc_servers import Ledger, grpc_command, serve_grpc
from harness.ports import free_port
from harness.processes import terminate
from harness.servers import wait_until_ready
from tests.api.helpers import ledger_snapshot
from tests.factories import AccountFactory
from tests.grpc.conftest import grpc_env
from tests.grpc.helpers import Refused, refusal, refused
from transactions import holds, services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


# --- helpers -------------------------------------------------------------------------------------


def new_key() -> str:
    return uuid.uuid4().hex


def books() -> tuple:
    """Everything a refusal must leave as it was: the books, the idempotency records, accounts and events."""
    return ledger_snapshot(), Account.objects.count(), Event.objects.count()


def assert_refused(found: Refused, code: grpc.StatusCode, reason: str, case: object = "") -> Refused:
    """``found`` is ``code`` with ErrorInfo ``reason`` in domain ``ledger``, a message and a request id."""
    assert (found.code, found.reason, found.domain) == (code, reason, "ledger"), (case, found)
    assert found.message, (case, found)
    assert found.metadata.get("request_id"), (case, found)
    return found


def assert_fields(found: Refused, errors: dict[str, list[str]], case: object = "") -> None:
    """The refusal names exactly ``errors``' fields, in ErrorInfo's metadata and as BadRequest violations."""
    assert found.metadata.get("fields", "").split(",") == list(errors), (case, found)
    assert found.fields == errors, (case, found)


def rest_errors(api, path: str, body: dict[str, Any]) -> dict[str, list[str]]:
    """The ``errors`` of REST's validation_error for the same request (refused, so it posts nothing)."""
    response = api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "validation_error", problem
    return problem["errors"]


def refused_any(ledger: Ledger, method, request) -> Refused:
    """Call a unary or streaming ``method`` (the first answer), expecting a refusal; return it."""
    try:
        answer = method(request, metadata=ledger.metadata(), timeout=20)
        if isinstance(answer, grpc.Future):  # A stream: its refusal comes with its first answer.
            next(answer)
    except grpc.RpcError as error:
        return refusal(error)
    raise AssertionError(f"{method} answered instead of refusing")


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def instant(moment) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def funded(owner, amount: str = "10.00", currency: str = "USD") -> Account:
    account = AccountFactory(owner=owner, currency=currency)
    services.deposit_create(actor=owner, account_id=account.public_id, amount=Decimal(amount))
    return account


def balance(account: Account) -> tuple[int, int]:
    account.refresh_from_db()
    return account.balance_minor, account.reserved_minor


def deposit_request(account_id: str = "", amount: str = "1.00", key: str | None = None, **fields: Any):
    return transactions_pb2.CreateDepositRequest(
        idempotency_key=new_key() if key is None else key,
        deposit=transactions_pb2.DepositInput(account_id=account_id, amount=amount, **fields),
    )


def withdrawal_request(account_id: str, amount: str, key: str | None = None):
    return transactions_pb2.CreateWithdrawalRequest(
        idempotency_key=new_key() if key is None else key,
        withdrawal=transactions_pb2.WithdrawalInput(account_id=account_id, amount=amount),
    )


def transfer_request(source: str, destination: str, amount: str):
    return transactions_pb2.CreateTransferRequest(
        idempotency_key=new_key(),
        transfer=transactions_pb2.TransferInput(
            source_account_id=source, destination_account_id=destination, amount=amount
        ),
    )


def hold_request(account_id: str, amount: str, **fields: Any):
    return holds_pb2.CreateHoldRequest(
        idempotency_key=new_key(), hold=holds_pb2.HoldInput(account_id=account_id, amount=amount, **fields)
    )


def capture_request(hold_id: str, **fields: Any):
    return holds_pb2.CaptureHoldRequest(idempotency_key=new_key(), hold_id=hold_id, **fields)


def void_request(hold_id: str):
    return holds_pb2.VoidHoldRequest(idempotency_key=new_key(), hold_id=hold_id)


def reverse_request(transaction_id: str, reason: str = "dispute"):
    return transactions_pb2.ReverseTransactionRequest(
        idempotency_key=new_key(), transaction_id=transaction_id, reason=reason
    )


def batch_request(*operations: batches_pb2.BatchOperation) -> batches_pb2.CreateBatchRequest:
    return batches_pb2.CreateBatchRequest(idempotency_key=new_key(), operations=list(operations))


def deposit_op(account_id: str, amount: str) -> batches_pb2.BatchOperation:
    return batches_pb2.BatchOperation(deposit=transactions_pb2.DepositInput(account_id=account_id, amount=amount))


def placed(owner, account: Account, amount: str = "4.00", **fields: Any):
    return holds.hold_create(actor=owner, account_id=account.public_id, amount=amount, **fields)


@pytest.fixture
def mine(ledger_as, user) -> Ledger:
    return ledger_as(user)


@pytest.fixture
def theirs(ledger_as, other_user) -> Ledger:
    return ledger_as(other_user)


@pytest.fixture
def staff_ledger(ledger_as, staff) -> Ledger:
    return ledger_as(staff)


@pytest.fixture
def account(user) -> Account:
    """A USD account of ``user`` holding 10.00."""
    return funded(user)


@pytest.fixture
def their_account(other_user) -> Account:
    """A USD account of another client, holding 10.00."""
    return funded(other_user)


@pytest.fixture
def payee_account(other_user) -> Account:
    """An empty USD account of another client."""
    return AccountFactory(owner=other_user, currency="USD")


# --- INVALID_ARGUMENT validation_error -----------------------------------------------------------


INVALID_DEPOSITS = {
    "too many decimals": {"amount": "1.005"},
    "zero": {"amount": "0"},
    "negative": {"amount": "-1.00"},
    "10^15": {"amount": "1000000000000000"},
    "not a number": {"amount": "ten"},
    "no account": {"account_id": None},
    "an account id that is not a uuid": {"account_id": "nope"},
    "a long description": {"description": "d" * 501},
    "a long reference": {"reference": "r" * 201},
    "metadata over 8 KiB": {"metadata": {"blob": "m" * 9000}},
}


def test_an_invalid_deposit_is_a_validation_error_naming_its_fields_as_rest_does(mine, api, account):
    before = books()
    for case, fields in INVALID_DEPOSITS.items():
        body = {"account_id": str(account.public_id), "amount": "1.00", **fields}
        body = {name: value for name, value in body.items() if value is not None}
        message = {name: struct(value) if name == "metadata" else value for name, value in body.items()}
        found = refused(mine.transactions.CreateDeposit, deposit_request(**message), mine)
        assert_refused(found, INVALID_ARGUMENT, "validation_error", case)
        expected = rest_errors(api, "/api/v1/deposits/", body)
        assert list(expected) == [name for name in fields], (case, expected)
        assert_fields(found, expected, case)
    assert books() == before


def test_a_transfer_names_every_invalid_field(mine, api, account):
    body = {"source_account_id": "nope", "amount": "x", "description": "d" * 501}
    request = transactions_pb2.CreateTransferRequest(
        idempotency_key=new_key(), transfer=transactions_pb2.TransferInput(**body)
    )
    before = books()
    found = assert_refused(
        refused(mine.transactions.CreateTransfer, request, mine), INVALID_ARGUMENT, "validation_error"
    )
    expected = rest_errors(api, "/api/v1/transfers/", body)
    assert set(expected) == {"source_account_id", "destination_account_id", "amount", "description"}
    assert_fields(found, expected)
    assert books() == before


def test_an_invalid_account_is_a_validation_error_and_opens_nothing(mine, api):
    before = books()
    for case, body, field in [
        ("an unknown currency", {"currency": "XYZ"}, "currency"),
        ("a lower-case code", {"currency": "usd"}, "currency"),
        ("no currency", {}, "currency"),
        ("a long name", {"currency": "USD", "name": "n" * 201}, "name"),
        ("metadata over 8 KiB", {"currency": "USD", "metadata": {"blob": "m" * 9000}}, "metadata"),
    ]:
        message = {name: struct(value) if name == "metadata" else value for name, value in body.items()}
        request = accounts_pb2.OpenAccountRequest(idempotency_key=f"open-{uuid.uuid4()}", **message)
        found = refused(mine.accounts.OpenAccount, request, mine)
        assert_refused(found, INVALID_ARGUMENT, "validation_error", case)
        assert found.metadata["fields"] == field, (case, found)
        assert_fields(found, rest_errors(api, "/api/v1/accounts/", body), case)
    assert books() == before


def test_a_hold_expiring_in_the_past_or_over_30_days_on_is_a_validation_error(mine, account):
    before = books()
    for expires in [timezone.now() - timedelta(hours=1), timezone.now() + timedelta(days=31)]:
        request = hold_request(str(account.public_id), "1.00", expires_at=instant(expires))
        found = refused(mine.holds.CreateHold, request, mine)
        assert_refused(found, INVALID_ARGUMENT, "validation_error", expires)
        assert found.metadata["fields"] == "expires_at", (expires, found)
    assert books() == before


def test_a_reversal_needs_a_reason(staff_ledger, user, account):
    txn = services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
    before = books()
    request = reverse_request(str(txn.public_id), reason="")
    found = refused(staff_ledger.transactions.ReverseTransaction, request, staff_ledger)
    assert_refused(found, INVALID_ARGUMENT, "validation_error")
    assert found.metadata["fields"] == "reason"
    assert books() == before


def test_an_invalid_filter_is_a_validation_error_naming_it(mine, account):
    own = str(account.public_id)
    for method, request, field in [
        (mine.accounts.ListHistory, accounts_pb2.ListHistoryRequest(account_id=own, kind="refund"), "kind"),
        (mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest(kind="reversal"), "kind"),
        (mine.holds.ListHolds, holds_pb2.ListHoldsRequest(status="open"), "status"),
        (mine.holds.ListHolds, holds_pb2.ListHoldsRequest(account_id="nope"), "account_id"),
        (mine.events.ListEvents, events_pb2.ListEventsRequest(type="account.deleted"), "type"),
        (mine.events.ListEvents, events_pb2.ListEventsRequest(after="nope"), "after"),
        (mine.events.ListEvents, events_pb2.ListEventsRequest(after=str(uuid.uuid4())), "after"),
        (mine.events.StreamEvents, events_pb2.StreamEventsRequest(type="account.deleted"), "type"),
    ]:
        found = refused_any(mine, method, request)
        assert_refused(found, INVALID_ARGUMENT, "validation_error", request)
        assert found.metadata["fields"] == field, (request, found)
        assert list(found.fields) == [field], (request, found)


# How an input no REST request could carry is refused (whichever of the two the server picks).
INPUT_REFUSED = {("INVALID_ARGUMENT", "validation_error"), ("INVALID_ARGUMENT", "parse_error")}


def _metadata_with(value: float) -> struct_pb2.Struct:
    metadata = struct_pb2.Struct()
    metadata["n"] = value
    return metadata


def test_a_number_json_cannot_write_in_metadata_is_invalid_argument_never_internal(mine, account):
    """A Struct may carry NaN or an infinity; JSON, and so REST's metadata, cannot: the input is refused."""
    own = str(account.public_id)
    before = books()
    answered = []
    for value in [math.nan, math.inf, -math.inf]:
        metadata = _metadata_with(value)
        for name, method, request in [
            ("OpenAccount", mine.accounts.OpenAccount,
             accounts_pb2.OpenAccountRequest(idempotency_key=f"o-{uuid.uuid4()}", currency="USD", metadata=metadata)),
            ("CreateDeposit", mine.transactions.CreateDeposit, deposit_request(own, metadata=metadata)),
            ("CreateHold", mine.holds.CreateHold, hold_request(own, "1.00", metadata=metadata)),
            ("CreateBatch", mine.batches.CreateBatch, batch_request(batches_pb2.BatchOperation(
                deposit=transactions_pb2.DepositInput(account_id=own, amount="1.00", metadata=metadata)))),
        ]:  # fmt: skip
            found = refused(method, request, mine)
            answered.append((name, value, found.code.name, found.reason))
    assert [a for a in answered if a[2:] not in INPUT_REFUSED] == []
    assert books() == before


def test_an_instant_outside_the_timestamp_range_is_invalid_argument_never_internal(mine, account):
    """A Timestamp after 9999-12-31 or with negative nanos is no instant (RFC 3339 has none for it)."""
    own = str(account.public_id)
    before = books()
    answered = []
    for stamp in [timestamp_pb2.Timestamp(seconds=253402300800), timestamp_pb2.Timestamp(seconds=0, nanos=-5)]:
        for name, method, request in [
            ("GetBalance.at", mine.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=own, at=stamp)),
            ("ListHistory.created_after", mine.accounts.ListHistory,
             accounts_pb2.ListHistoryRequest(account_id=own, created_after=stamp)),
            ("ListHistory.created_before", mine.accounts.ListHistory,
             accounts_pb2.ListHistoryRequest(account_id=own, created_before=stamp)),
            ("HoldInput.expires_at", mine.holds.CreateHold, hold_request(own, "1.00", expires_at=stamp)),
        ]:  # fmt: skip
            found = refused(method, request, mine)
            answered.append((name, f"{stamp.seconds}s {stamp.nanos}ns", found.code.name, found.reason))
    assert [a for a in answered if a[2:] not in INPUT_REFUSED] == []
    assert books() == before


# --- INVALID_ARGUMENT idempotency_key_required ---------------------------------------------------


def test_a_write_without_a_valid_key_is_idempotency_key_required(staff_ledger, user, account):
    own = str(account.public_id)
    hold = placed(user, account, "1.00")
    txn = services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
    before = books()
    for key in ["", "k" * 256, "tab\tkey", "caf\u00e9"]:
        transactions, holds_stub = staff_ledger.transactions, staff_ledger.holds
        for method, request in [
            (staff_ledger.accounts.OpenAccount, accounts_pb2.OpenAccountRequest(idempotency_key=key, currency="USD")),
            (transactions.CreateDeposit, deposit_request(own, key=key)),
            (transactions.CreateWithdrawal, withdrawal_request(own, "1.00", key=key)),
            (transactions.CreateTransfer, transactions_pb2.CreateTransferRequest(idempotency_key=key)),
            (transactions.ReverseTransaction, transactions_pb2.ReverseTransactionRequest(
                idempotency_key=key, transaction_id=str(txn.public_id), reason="x")),
            (holds_stub.CreateHold, holds_pb2.CreateHoldRequest(
                idempotency_key=key, hold=holds_pb2.HoldInput(account_id=own, amount="1.00"))),
            (holds_stub.CaptureHold, holds_pb2.CaptureHoldRequest(idempotency_key=key, hold_id=str(hold.public_id))),
            (holds_stub.VoidHold, holds_pb2.VoidHoldRequest(idempotency_key=key, hold_id=str(hold.public_id))),
            (staff_ledger.batches.CreateBatch, batches_pb2.CreateBatchRequest(
                idempotency_key=key, operations=[deposit_op(own, "1.00")])),
        ]:  # fmt: skip
            found = refused(method, request, staff_ledger)
            assert_refused(found, INVALID_ARGUMENT, "idempotency_key_required", (key, method))
    assert books() == before


# --- INVALID_ARGUMENT invalid_page_size and invalid_cursor ---------------------------------------


def _lists(ledger: Ledger, account_id: str) -> dict[str, tuple[Any, Any]]:
    """Each list method, and how to ask it for a page: ``(method, lambda **page: request)``."""
    return {
        "ListAccounts": (ledger.accounts.ListAccounts, lambda **p: accounts_pb2.ListAccountsRequest(**p)),
        "ListHistory": (
            ledger.accounts.ListHistory,
            lambda **p: accounts_pb2.ListHistoryRequest(account_id=account_id, **p),
        ),
        "ListTransactions": (
            ledger.transactions.ListTransactions,
            lambda **p: transactions_pb2.ListTransactionsRequest(**p),
        ),
        "ListHolds": (ledger.holds.ListHolds, lambda **p: holds_pb2.ListHoldsRequest(**p)),
        "ListEvents": (ledger.events.ListEvents, lambda **p: events_pb2.ListEventsRequest(**p)),
    }


def test_a_page_size_outside_1_to_200_is_invalid_page_size(mine, account):
    for name, (method, request) in _lists(mine, str(account.public_id)).items():
        for page_size in (500, 201, -1):
            found = refused(method, request(page_size=page_size), mine)
            assert_refused(found, INVALID_ARGUMENT, "invalid_page_size", (name, page_size))
        assert mine.call(method, request(page_size=200)) is not None  # The bound itself is allowed.


def _tampered(token: str) -> list[str]:
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    return [flipped, token[:-1], token + "x", "not-a-token"]


def test_a_tampered_page_token_is_invalid_cursor(mine, user):
    account = funded(user)
    services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
    AccountFactory(owner=user)
    placed(user, account, "1.00")
    placed(user, account, "1.00")
    lists = _lists(mine, str(account.public_id))
    for name in ["ListAccounts", "ListHistory", "ListTransactions", "ListHolds"]:
        method, request = lists[name]
        token = mine.call(method, request(page_size=1)).next_page_token
        assert token, name
        for bad in _tampered(token):
            found = refused(method, request(page_token=bad), mine)
            assert_refused(found, INVALID_ARGUMENT, "invalid_cursor", (name, bad))


def test_a_page_token_serves_only_the_list_it_came_from(mine, user):
    first, second = funded(user), funded(user)
    for account in (first, second):
        services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
    services.withdrawal_create(actor=user, account_id=first.public_id, amount=Decimal("1.00"))
    services.withdrawal_create(actor=user, account_id=first.public_id, amount=Decimal("1.00"))
    placed(user, first, "1.00")
    placed(user, first, "1.00")
    accounts_token = mine.call(
        mine.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(page_size=1)
    ).next_page_token
    deposits_token = mine.call(
        mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest(kind="deposit", page_size=1)
    ).next_page_token
    history_token = mine.call(
        mine.accounts.ListHistory, accounts_pb2.ListHistoryRequest(account_id=str(first.public_id), page_size=1)
    ).next_page_token
    assert all((accounts_token, deposits_token, history_token))

    for method, request in [
        (mine.holds.ListHolds, holds_pb2.ListHoldsRequest(page_token=accounts_token)),
        (mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest(page_token=accounts_token)),
        (mine.transactions.ListTransactions,
         transactions_pb2.ListTransactionsRequest(kind="withdrawal", page_token=deposits_token)),
        (mine.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(page_token=history_token)),
        (mine.accounts.ListHistory,
         accounts_pb2.ListHistoryRequest(account_id=str(second.public_id), page_token=history_token)),
    ]:  # fmt: skip
        assert_refused(refused(method, request, mine), INVALID_ARGUMENT, "invalid_cursor")


# --- INVALID_ARGUMENT parse_error ----------------------------------------------------------------


def _raw(ledger: Ledger, path: str):
    return ledger.channel.unary_unary(path, request_serializer=None, response_deserializer=None)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = b""
    while n > 0x7F:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def _deeply_nested_deposit(account_id: str, depth: int) -> bytes:
    """A CreateDepositRequest whose metadata nests ``depth`` Structs (more than protobuf parses)."""
    nested = b""
    for _ in range(depth):  # Struct{fields: {"a": Value{struct_value: nested}}}
        nested = _length_delimited(1, _length_delimited(1, b"a") + _length_delimited(2, _length_delimited(5, nested)))
    deposit = _length_delimited(1, account_id.encode()) + _length_delimited(2, b"1.00") + _length_delimited(5, nested)
    return _length_delimited(1, new_key().encode()) + _length_delimited(2, deposit)


def test_bytes_that_are_not_the_request_message_are_a_parse_error(mine, account):
    before = books()
    for path in [
        "/ledger.v1.AccountService/GetAccount",
        "/ledger.v1.AccountService/OpenAccount",
        "/ledger.v1.TransactionService/CreateDeposit",
        "/ledger.v1.BatchService/CreateBatch",
    ]:
        for raw in [b"\x0a\x02\xff\xfe", b"\xff\xff\xff", b"\x0a\x10abc"]:  # Not UTF-8; no such tag; truncated.
            with pytest.raises(grpc.RpcError) as error:
                _raw(mine, path)(raw, metadata=mine.metadata(), timeout=20)
            assert_refused(refusal(error.value), INVALID_ARGUMENT, "parse_error", (path, raw))
    deposit = _raw(mine, "/ledger.v1.TransactionService/CreateDeposit")
    with pytest.raises(grpc.RpcError) as error:
        deposit(_deeply_nested_deposit(str(account.public_id), 5000), metadata=mine.metadata(), timeout=20)
    assert_refused(refusal(error.value), INVALID_ARGUMENT, "parse_error", "nested 5000 deep")
    assert books() == before


# --- UNAUTHENTICATED -----------------------------------------------------------------------------


def _as(method, request, authorization: str | None) -> Refused:
    """Call ``method`` with this ``authorization`` metadata (``None``: none), expecting a refusal."""
    metadata = [("authorization", authorization)] if authorization is not None else []
    with pytest.raises(grpc.RpcError) as error:
        method(request, metadata=metadata, timeout=20)
    return refusal(error.value)


def test_a_call_without_a_token_is_not_authenticated(ledger_as, account):
    anonymous = ledger_as(None)
    before = books()
    for method, request in [
        (anonymous.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()),
        (anonymous.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=str(account.public_id))),
        (anonymous.transactions.CreateDeposit, deposit_request(str(account.public_id))),
        (anonymous.holds.ListHolds, holds_pb2.ListHoldsRequest()),
        (anonymous.batches.GetBatch, batches_pb2.GetBatchRequest(batch_id=str(uuid.uuid4()))),
        (anonymous.events.ListEvents, events_pb2.ListEventsRequest()),
    ]:
        assert_refused(_as(method, request, None), grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")
    assert books() == before


def test_a_wrong_token_is_authentication_failed(ledger_as, account):
    anonymous = ledger_as(None)
    before = books()
    request = deposit_request(str(account.public_id))
    for authorization in ["Token wrong", "Token 0000000000000000000000000000000000000000", "Bearer x", "Token a b"]:
        found = _as(anonymous.transactions.CreateDeposit, request, authorization)
        assert_refused(found, grpc.StatusCode.UNAUTHENTICATED, "authentication_failed", authorization)
    assert books() == before


def test_a_stream_without_a_token_is_not_authenticated(ledger_as):
    anonymous = ledger_as(None)
    stream = anonymous.events.StreamEvents(events_pb2.StreamEventsRequest(), timeout=20)
    with pytest.raises(grpc.RpcError) as error:
        next(stream)
    assert_refused(refusal(error.value), grpc.StatusCode.UNAUTHENTICATED, "not_authenticated")


# --- PERMISSION_DENIED ---------------------------------------------------------------------------


def test_a_reversal_by_a_client_is_permission_denied(mine, user, account):
    txn = services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
    before = books()
    found = refused(mine.transactions.ReverseTransaction, reverse_request(str(txn.public_id)), mine)
    assert_refused(found, grpc.StatusCode.PERMISSION_DENIED, "permission_denied")
    assert books() == before
    txn.refresh_from_db()
    assert txn.status == "posted"


# --- NOT_FOUND -----------------------------------------------------------------------------------


@pytest.fixture
def their_things(theirs, other_user, their_account) -> dict[str, str]:
    """Ids of another client's account, transaction, hold, batch and event."""
    txn = services.withdrawal_create(actor=other_user, account_id=their_account.public_id, amount=Decimal("1.00"))
    hold = placed(other_user, their_account, "1.00")
    batch = theirs.call(
        theirs.batches.CreateBatch,
        batches_pb2.CreateBatchRequest(
            idempotency_key=new_key(),
            operations=[
                batches_pb2.BatchOperation(
                    deposit=transactions_pb2.DepositInput(account_id=str(their_account.public_id), amount="1.00")
                )
            ],
        ),
    )
    event = theirs.call(theirs.events.ListEvents, events_pb2.ListEventsRequest()).events[0]
    return {
        "account": str(their_account.public_id),
        "transaction": str(txn.public_id),
        "hold": str(hold.public_id),
        "batch": batch.id,
        "event": event.id,
    }


def _reads_and_writes_of(ledger: Ledger, ids: dict[str, str], own_account: str) -> dict[str, tuple[Any, Any]]:
    """Every call naming one of ``ids``: the account, transaction, hold, batch or event."""
    account, txn, hold = ids["account"], ids["transaction"], ids["hold"]
    return {
        "GetAccount": (ledger.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=account)),
        "GetBalance": (ledger.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=account)),
        "ListHistory": (ledger.accounts.ListHistory, accounts_pb2.ListHistoryRequest(account_id=account)),
        "CreateDeposit": (ledger.transactions.CreateDeposit, deposit_request(account)),
        "CreateWithdrawal": (ledger.transactions.CreateWithdrawal, withdrawal_request(account, "1.00")),
        "CreateTransfer": (ledger.transactions.CreateTransfer, transfer_request(account, own_account, "1.00")),
        "CreateHold": (ledger.holds.CreateHold, hold_request(account, "1.00")),
        "GetTransaction": (
            ledger.transactions.GetTransaction,
            transactions_pb2.GetTransactionRequest(transaction_id=txn),
        ),
        "GetHold": (ledger.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold)),
        "CaptureHold": (ledger.holds.CaptureHold, capture_request(hold)),
        "VoidHold": (ledger.holds.VoidHold, void_request(hold)),
        "GetBatch": (ledger.batches.GetBatch, batches_pb2.GetBatchRequest(batch_id=ids["batch"])),
        "GetEvent": (ledger.events.GetEvent, events_pb2.GetEventRequest(event_id=ids["event"])),
    }


def test_another_clients_resource_is_not_found(mine, account, their_things):
    before = books()
    for name, (method, request) in _reads_and_writes_of(mine, their_things, str(account.public_id)).items():
        assert_refused(refused(method, request, mine), NOT_FOUND, "not_found", name)
    assert books() == before


def test_an_unknown_id_is_not_found(mine, account):
    before = books()
    for bad_id in [str(uuid.uuid4()), str(uuid.uuid4()).upper()]:
        ids = dict.fromkeys(["account", "transaction", "hold", "batch", "event"], bad_id)
        for name, (method, request) in _reads_and_writes_of(mine, ids, str(account.public_id)).items():
            assert_refused(refused(method, request, mine), NOT_FOUND, "not_found", (name, bad_id))
    assert books() == before


BY_ID = ["GetAccount", "GetBalance", "ListHistory", "GetTransaction", "GetHold", "CaptureHold", "VoidHold"]
BY_ID += ["GetBatch", "GetEvent"]


def test_a_malformed_id_of_a_resource_asked_for_is_not_found(mine, account):
    """The id a REST path would carry: anything but a UUID as written names nothing."""
    for bad_id in ["not-a-uuid", "", "12", str(uuid.uuid4())[:-1], "a" * 5000]:
        ids = dict.fromkeys(["account", "transaction", "hold", "batch", "event"], bad_id)
        calls = _reads_and_writes_of(mine, ids, str(account.public_id))
        for name in BY_ID:
            method, request = calls[name]
            assert_refused(refused(method, request, mine), NOT_FOUND, "not_found", (name, bad_id))


def test_a_malformed_id_in_a_writes_input_is_a_validation_error(mine, account):
    """The ids a REST body would carry are validated as REST's body fields are."""
    before = books()
    ids = dict.fromkeys(["account", "transaction", "hold", "batch", "event"], "not-a-uuid")
    calls = _reads_and_writes_of(mine, ids, str(account.public_id))
    for name, field in [
        ("CreateDeposit", "account_id"),
        ("CreateWithdrawal", "account_id"),
        ("CreateTransfer", "source_account_id"),
        ("CreateHold", "account_id"),
    ]:
        found = refused(*calls[name], mine)
        assert_refused(found, INVALID_ARGUMENT, "validation_error", name)
        assert found.metadata["fields"] == field, (name, found)
    assert books() == before


def test_a_reversal_of_no_such_transaction_is_not_found(staff_ledger):
    for bad_id in ["not-a-uuid", str(uuid.uuid4())]:
        found = refused(staff_ledger.transactions.ReverseTransaction, reverse_request(bad_id), staff_ledger)
        assert_refused(found, NOT_FOUND, "not_found")


# --- FAILED_PRECONDITION -------------------------------------------------------------------------


def _refused_changing_nothing(ledger: Ledger, method, request, reason: str) -> Refused:
    before = books()
    found = assert_refused(refused(method, request, ledger), FAILED_PRECONDITION, reason)
    assert books() == before
    return found


def test_spending_more_than_the_available_balance_is_insufficient_funds(mine, user, account, payee_account):
    own = str(account.public_id)
    for method, request in [
        (mine.transactions.CreateWithdrawal, withdrawal_request(own, "10.01")),
        (mine.transactions.CreateTransfer, transfer_request(own, str(payee_account.public_id), "10.01")),
        (mine.holds.CreateHold, hold_request(own, "10.01")),
    ]:
        _refused_changing_nothing(mine, method, request, "insufficient_funds")
    placed(user, account, "6.00")  # What a hold reserves may not be spent either.
    _refused_changing_nothing(
        mine, mine.transactions.CreateWithdrawal, withdrawal_request(own, "4.01"), "insufficient_funds"
    )
    _refused_changing_nothing(mine, mine.holds.CreateHold, hold_request(own, "4.01"), "insufficient_funds")
    assert balance(account) == (1000, 600)


def test_moving_money_between_currencies_is_currency_mismatch(mine, user, account):
    euros = AccountFactory(owner=user, currency="EUR")
    own, other = str(account.public_id), str(euros.public_id)
    _refused_changing_nothing(
        mine, mine.transactions.CreateTransfer, transfer_request(own, other, "1.00"), "currency_mismatch"
    )
    request = hold_request(own, "1.00", destination_account_id=other)
    _refused_changing_nothing(mine, mine.holds.CreateHold, request, "currency_mismatch")


def test_paying_the_same_account_is_same_account(mine, account):
    own = str(account.public_id)
    _refused_changing_nothing(
        mine, mine.transactions.CreateTransfer, transfer_request(own, own, "1.00"), "same_account"
    )
    request = hold_request(own, "1.00", destination_account_id=own)
    _refused_changing_nothing(mine, mine.holds.CreateHold, request, "same_account")


def test_a_frozen_account_is_account_inactive(mine, user, staff, account, payee_account):
    hold = placed(user, account, "2.00")
    other = funded(user)
    account_status_change(operator=staff, account_id=account.public_id, action="freeze", reason="fraud review")
    own = str(account.public_id)
    for method, request in [
        (mine.transactions.CreateDeposit, deposit_request(own)),
        (mine.transactions.CreateWithdrawal, withdrawal_request(own, "1.00")),
        (mine.transactions.CreateTransfer, transfer_request(own, str(payee_account.public_id), "1.00")),
        (mine.transactions.CreateTransfer, transfer_request(str(other.public_id), own, "1.00")),
        (mine.holds.CreateHold, hold_request(own, "1.00")),
        (mine.holds.CaptureHold, capture_request(str(hold.public_id))),
    ]:
        _refused_changing_nothing(mine, method, request, "account_inactive")
    hold.refresh_from_db()
    assert hold.status == "pending"


def test_a_second_reversal_is_already_reversed_and_a_reversal_is_not_reversed(staff_ledger, user, account):
    txn = services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
    reversal = staff_ledger.call(staff_ledger.transactions.ReverseTransaction, reverse_request(str(txn.public_id)))
    method = staff_ledger.transactions.ReverseTransaction
    _refused_changing_nothing(staff_ledger, method, reverse_request(str(txn.public_id)), "already_reversed")
    _refused_changing_nothing(staff_ledger, method, reverse_request(reversal.id), "reversal_not_allowed")


def test_reversing_a_deposit_whose_money_has_left_is_insufficient_funds(staff_ledger, user):
    account = AccountFactory(owner=user)
    txn = services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal("5.00"))
    services.withdrawal_create(actor=user, account_id=account.public_id, amount=Decimal("5.00"))
    method = staff_ledger.transactions.ReverseTransaction
    _refused_changing_nothing(staff_ledger, method, reverse_request(str(txn.public_id)), "insufficient_funds")


def test_a_resolved_hold_is_not_pending(mine, user, account):
    voided = placed(user, account, "1.00")
    holds.hold_void(actor=user, hold_id=voided.public_id)
    captured = placed(user, account, "1.00")
    holds.hold_capture(actor=user, hold_id=captured.public_id)
    for hold in (voided, captured):
        hold_id = str(hold.public_id)
        _refused_changing_nothing(mine, mine.holds.CaptureHold, capture_request(hold_id), "hold_not_pending")
        _refused_changing_nothing(mine, mine.holds.VoidHold, void_request(hold_id), "hold_not_pending")


def test_capturing_more_than_the_hold_reserves_is_capture_exceeds_hold(mine, user, account):
    hold = placed(user, account, "4.00")
    holds.hold_capture(actor=user, hold_id=hold.public_id, amount="1.50")
    request = capture_request(str(hold.public_id), amount="2.51")
    _refused_changing_nothing(mine, mine.holds.CaptureHold, request, "capture_exceeds_hold")
    assert balance(account) == (850, 250)


def test_a_key_reused_for_another_request_is_idempotency_key_reused(mine, api, account):
    own = str(account.public_id)
    key = new_key()
    mine.call(mine.transactions.CreateDeposit, deposit_request(own, "1.00", key=key))
    for method, request in [
        (mine.transactions.CreateDeposit, deposit_request(own, "2.00", key=key)),
        (mine.transactions.CreateWithdrawal, withdrawal_request(own, "1.00", key=key)),
    ]:
        _refused_changing_nothing(mine, method, request, "idempotency_key_reused")
    rest_key = new_key()
    response = api.post(
        "/api/v1/deposits/", {"account_id": own, "amount": "3.00"}, format="json", HTTP_IDEMPOTENCY_KEY=rest_key
    )
    assert response.status_code == 201
    request = deposit_request(own, "4.00", key=rest_key)
    _refused_changing_nothing(mine, mine.transactions.CreateDeposit, request, "idempotency_key_reused")


def test_a_refused_write_binds_no_key(mine, account):
    own = str(account.public_id)
    key = new_key()
    _refused_changing_nothing(
        mine, mine.transactions.CreateWithdrawal, withdrawal_request(own, "50.00", key=key), "insufficient_funds"
    )
    answer = mine.call(mine.transactions.CreateWithdrawal, withdrawal_request(own, "5.00", key=key))
    assert answer.amount == "5.00"


# --- batches -------------------------------------------------------------------------------------


def test_a_refused_batch_operation_posts_nothing_and_is_named_by_its_index(mine, account):
    own = str(account.public_id)
    request = batch_request(
        deposit_op(own, "5.00"),
        batches_pb2.BatchOperation(hold=holds_pb2.HoldInput(account_id=own, amount="1.00")),
        batches_pb2.BatchOperation(withdrawal=transactions_pb2.WithdrawalInput(account_id=own, amount="100.00")),
    )
    found = _refused_changing_nothing(mine, mine.batches.CreateBatch, request, "insufficient_funds")
    assert found.metadata["operation"] == "2"
    assert balance(account) == (1000, 0)


def test_an_invalid_batch_operation_is_a_validation_error_naming_its_index(mine, api, account):
    own = str(account.public_id)
    before = books()
    request = batch_request(deposit_op(own, "1.00"), deposit_op(own, "1.005"))
    found = assert_refused(refused(mine.batches.CreateBatch, request, mine), INVALID_ARGUMENT, "validation_error")
    assert found.metadata["operation"] == "1"
    body = {"operations": [{"kind": "deposit", "account_id": own, "amount": a} for a in ("1.00", "1.005")]}
    assert_fields(found, rest_errors(api, "/api/v1/batches/", body))
    assert books() == before


def test_a_batch_operation_of_no_kind_or_no_operation_at_all_is_a_validation_error(mine, account):
    before = books()
    found = refused(
        mine.batches.CreateBatch,
        batch_request(deposit_op(str(account.public_id), "1.00"), batches_pb2.BatchOperation()),
        mine,
    )
    assert assert_refused(found, INVALID_ARGUMENT, "validation_error").metadata["operation"] == "1"
    empty = assert_refused(
        refused(mine.batches.CreateBatch, batch_request(), mine), INVALID_ARGUMENT, "validation_error"
    )
    assert empty.metadata["fields"] == "operations"
    assert books() == before


def test_a_batch_touching_another_clients_account_is_not_found_by_its_index(mine, account, their_account):
    request = batch_request(
        deposit_op(str(account.public_id), "1.00"),
        batches_pb2.BatchOperation(
            withdrawal=transactions_pb2.WithdrawalInput(account_id=str(their_account.public_id), amount="1.00")
        ),
    )
    before = books()
    found = assert_refused(refused(mine.batches.CreateBatch, request, mine), NOT_FOUND, "not_found")
    assert found.metadata["operation"] == "1"
    assert books() == before


# --- request ids ---------------------------------------------------------------------------------


def test_a_refusal_carries_the_request_id_the_call_answers_with(mine):
    request = accounts_pb2.GetAccountRequest(account_id="nope")
    with pytest.raises(grpc.RpcError) as error:
        mine.with_call(mine.accounts.GetAccount, request, x_request_id="grpc-req-1")
    assert refusal(error.value).metadata["request_id"] == "grpc-req-1"
    assert ("x-request-id", "grpc-req-1") in tuple(error.value.initial_metadata())

    for odd in ["has space", "r" * 129]:  # Replaced by a new id, as REST replaces it.
        with pytest.raises(grpc.RpcError) as error:
            mine.with_call(mine.accounts.GetAccount, request, x_request_id=odd)
        generated = refusal(error.value).metadata["request_id"]
        assert generated not in ("", odd)
        assert ("x-request-id", generated) in tuple(error.value.initial_metadata())


# --- ownership -----------------------------------------------------------------------------------


def test_a_clients_lists_never_show_another_clients_rows(mine, user, other_user, account, their_account):
    placed(user, account, "1.00")
    their_hold = placed(other_user, their_account, "1.00")
    their_txn = services.withdrawal_create(actor=other_user, account_id=their_account.public_id, amount=Decimal("1"))

    accounts = mine.call(mine.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()).accounts
    assert [a.id for a in accounts] == [str(account.public_id)]
    transactions = mine.call(mine.transactions.ListTransactions, transactions_pb2.ListTransactionsRequest())
    assert str(their_txn.public_id) not in {t.id for t in transactions.transactions}
    assert {leg.account_id for t in transactions.transactions for leg in t.postings} == {str(account.public_id)}
    listed_holds = mine.call(mine.holds.ListHolds, holds_pb2.ListHoldsRequest()).holds
    assert [h.account_id for h in listed_holds] == [str(account.public_id)]
    filtered = mine.call(mine.holds.ListHolds, holds_pb2.ListHoldsRequest(account_id=str(their_account.public_id)))
    assert list(filtered.holds) == []
    events = mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest()).events
    theirs_ids = {str(their_account.public_id), str(their_hold.public_id), str(their_txn.public_id)}
    for event in events:
        resource = getattr(event, event.WhichOneof("data"))
        assert resource.id not in theirs_ids, event


def test_a_transfer_may_pay_another_clients_account_but_not_draw_on_it(mine, account, their_account):
    own, other = str(account.public_id), str(their_account.public_id)
    paid = mine.call(mine.transactions.CreateTransfer, transfer_request(own, other, "3.00"))
    assert paid.destination_account_id == other
    assert balance(their_account) == (1300, 0)
    before = books()
    assert_refused(
        refused(mine.transactions.CreateTransfer, transfer_request(other, own, "1.00"), mine), NOT_FOUND, "not_found"
    )
    assert books() == before
    assert balance(account) == (700, 0)


def test_staff_see_and_act_on_every_account(staff_ledger, user, other_user, account, their_account):
    own, other = str(account.public_id), str(their_account.public_id)
    hold = placed(user, account, "1.00")
    listed = {
        a.id for a in staff_ledger.call(staff_ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()).accounts
    }
    system = str(Account.objects.get(is_system=True, currency="USD").public_id)
    assert {own, other, system} <= listed
    got = staff_ledger.call(staff_ledger.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=other))
    assert got.balance == "10.00"
    staff_ledger.call(staff_ledger.transactions.CreateDeposit, deposit_request(other, "2.00"))
    staff_ledger.call(staff_ledger.transactions.CreateWithdrawal, withdrawal_request(own, "3.00"))
    staff_ledger.call(staff_ledger.transactions.CreateTransfer, transfer_request(other, own, "1.00"))
    assert balance(their_account) == (1100, 0)
    assert balance(account) == (800, 100)
    holds_seen = staff_ledger.call(staff_ledger.holds.ListHolds, holds_pb2.ListHoldsRequest()).holds
    assert str(hold.public_id) in {h.id for h in holds_seen}
    types = [e.type for e in staff_ledger.call(staff_ledger.events.ListEvents, events_pb2.ListEventsRequest()).events]
    assert types.count("account.opened") == 2


# --- RESOURCE_EXHAUSTED ---------------------------------------------------------------------------


def _first_refusal(stream) -> grpc.StatusCode | None:
    """Read a stream's first event: ``None`` if it came, else the code the stream was refused with."""
    try:
        next(stream)
    except grpc.RpcError as error:
        return error.code()
    return None


def test_a_stream_beyond_the_servers_limit_is_resource_exhausted_until_one_ends(mine, user):
    """The module's server follows at most LEDGER_GRPC_MAX_STREAMS (8 workers // 2) streams at once."""
    AccountFactory(owner=user)
    request = events_pb2.StreamEventsRequest()
    streams = [mine.events.StreamEvents(request, metadata=mine.metadata(), timeout=20) for _ in range(4)]
    try:
        for stream in streams:
            assert next(stream).type == "account.opened"
        found = refused_any(mine, mine.events.StreamEvents, request)
        assert_refused(found, grpc.StatusCode.RESOURCE_EXHAUSTED, "throttled")
        assert found.retry_seconds == 1
        assert mine.call(mine.events.ListEvents, events_pb2.ListEventsRequest()).events  # Unary calls still run.
        streams.pop().cancel()
        deadline = time.monotonic() + 5
        while True:  # The cancelled stream's slot is freed once its poll notices.
            streams.append(mine.events.StreamEvents(request, metadata=mine.metadata(), timeout=20))
            refusal_code = _first_refusal(streams[-1])
            if refusal_code is None:
                break
            assert refusal_code == grpc.StatusCode.RESOURCE_EXHAUSTED
            streams.pop()
            assert time.monotonic() < deadline, "a cancelled stream kept its slot"
            time.sleep(0.1)
    finally:
        for stream in streams:
            stream.cancel()
    time.sleep(0.5)  # Let the server release the slots before the next test.


# A server allowing each client 3 calls a minute.


@pytest.fixture(scope="module")
def throttled_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("grpc-throttled") / "grpcserver.log"
    with django_db_blocker.unblock(), serve_grpc(grpc_env(LEDGER_THROTTLE_RATE="3/min"), port, log):
        yield f"127.0.0.1:{port}"


def test_a_client_over_its_rate_is_throttled_with_retry_info(throttled_server, user, other_user, account):
    with (
        Ledger(throttled_server, user.auth_token.key) as client,
        Ledger(throttled_server, other_user.auth_token.key) as other,
    ):
        for _ in range(3):
            client.call(client.accounts.ListAccounts, accounts_pb2.ListAccountsRequest())
        found = refused(client.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), client)
        assert_refused(found, grpc.StatusCode.RESOURCE_EXHAUSTED, "throttled")
        assert 1 <= (found.retry_seconds or 0) <= 60
        before = books()
        written = refused(client.transactions.CreateDeposit, deposit_request(str(account.public_id)), client)
        assert_refused(written, grpc.StatusCode.RESOURCE_EXHAUSTED, "throttled")
        assert books() == before
        other.call(other.accounts.ListAccounts, accounts_pb2.ListAccountsRequest())  # The budget is per client.


# A server allowing an address 3 failed authentications a minute.


@pytest.fixture(scope="module")
def guarded_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("grpc-guarded") / "grpcserver.log"
    with django_db_blocker.unblock(), serve_grpc(grpc_env(LEDGER_AUTH_FAILURE_RATE="3/min"), port, log):
        yield f"127.0.0.1:{port}"


def test_an_address_guessing_tokens_is_throttled_even_with_a_right_one(guarded_server, user):
    with Ledger(guarded_server, "wrong") as guesser, Ledger(guarded_server, user.auth_token.key) as client:
        for _ in range(3):
            found = refused(guesser.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), guesser)
            assert_refused(found, grpc.StatusCode.UNAUTHENTICATED, "authentication_failed")
        for ledger in (guesser, client):
            found = refused(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), ledger)
            assert_refused(found, grpc.StatusCode.RESOURCE_EXHAUSTED, "throttled", ledger.token)
            assert 1 <= (found.retry_seconds or 0) <= 60


# --- UNAVAILABLE ---------------------------------------------------------------------------------


def test_a_stream_ends_unavailable_when_the_server_shuts_down(tmp_path, user):
    AccountFactory(owner=user)
    port = free_port()
    with serve_grpc(grpc_env(), port, tmp_path / "grpcserver.log") as process:
        with Ledger(f"127.0.0.1:{port}", user.auth_token.key) as ledger:
            stream = ledger.events.StreamEvents(
                events_pb2.StreamEventsRequest(), metadata=ledger.metadata(), timeout=20
            )
            assert next(stream).type == "account.opened"
            process.terminate()  # SIGTERM, as an orchestrator stops it.
            with pytest.raises(grpc.RpcError) as error:
                next(stream)
            assert_refused(refusal(error.value), grpc.StatusCode.UNAVAILABLE, "unavailable")
        process.wait(timeout=20)


def _answers_health(target: str) -> bool:
    """Whether the health service answers at all (it says NOT_SERVING while the database is down)."""
    with grpc.insecure_channel(target) as channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
        except grpc.RpcError:
            return False
    return True


@contextlib.contextmanager
def serving_without_a_database(log) -> Iterator[str]:
    env = production_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/ledger", DB_CONNECT_TIMEOUT="2", LOG_LEVEL="ERROR"
    )
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(grpc_command(port), cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            target = f"127.0.0.1:{port}"
            wait_until_ready(process, lambda: _answers_health(target), name="the gRPC server", log=log)
            yield target
        finally:
            terminate(process, timeout=20)


def test_an_unreachable_database_is_unavailable_with_retry_info(tmp_path):
    token = "0123456789abcdef0123456789abcdef01234567"
    with serving_without_a_database(tmp_path / "grpcserver.log") as target, Ledger(target, token) as ledger:
        health = health_pb2_grpc.HealthStub(ledger.channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
        for method, request in [
            (ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()),
            (ledger.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=str(uuid.uuid4()))),
            (ledger.transactions.CreateDeposit, deposit_request(str(uuid.uuid4()))),
            (ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()),  # Again, on a worker that failed.
        ]:
            started = time.monotonic()
            found = refused(method, request, ledger)
            assert time.monotonic() - started < 10
            assert_refused(found, grpc.StatusCode.UNAVAILABLE, "unavailable")
            assert (found.retry_seconds or 0) >= 1
        stream = ledger.events.StreamEvents(events_pb2.StreamEventsRequest(), metadata=ledger.metadata(), timeout=20)
        with pytest.raises(grpc.RpcError) as error:
            next(stream)
        assert_refused(refusal(error.value), grpc.StatusCode.UNAVAILABLE, "unavailable")


def test_a_refusal_naming_many_fields_stays_small_enough_for_a_default_client(mine, account):
    own = str(account.public_id)
    bad = [batches_pb2.BatchOperation(deposit=transactions_pb2.DepositInput(account_id=own, amount="x"))] * 200
    found = refused(
        mine.batches.CreateBatch, batches_pb2.CreateBatchRequest(idempotency_key="many", operations=bad), mine
    )
    assert_refused(found, INVALID_ARGUMENT, "validation_error", "200 invalid operations")
    assert len(found.metadata["fields"].split(",")) == 20
    assert int(found.metadata["fields_omitted"]) == 180
    assert len(found.fields) == 20


def test_a_message_quoting_a_huge_input_is_cut_short(mine):
    found = refused(mine.events.ListEvents, events_pb2.ListEventsRequest(type="t" * 20_000), mine)
    assert_refused(found, INVALID_ARGUMENT, "validation_error", "a 20,000-character type")
    assert len(found.fields["type"]) == 1
    assert len(found.fields["type"][0]) <= 200


def test_a_batch_over_the_limit_is_refused_as_a_whole(mine):
    empty = batches_pb2.CreateBatchRequest(idempotency_key="huge", operations=[batches_pb2.BatchOperation()] * 50_000)
    found = refused(mine.batches.CreateBatch, empty, mine)
    assert_refused(found, INVALID_ARGUMENT, "validation_error", "50,000 operations")
    assert found.metadata["fields"] == "operations"

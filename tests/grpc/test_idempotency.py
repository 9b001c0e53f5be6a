"""Idempotency keys over gRPC share REST's key space: one key, one posting, whichever interface asks.

A key used over REST and then over gRPC for the same request (or the other way round) answers
the first answer, marked as a replay (``idempotent-replayed: true`` in the trailing metadata,
the ``Idempotent-Replayed: true`` header), and posts nothing again; for another request (another
amount, another endpoint, another hold in the path) it is ``idempotency_key_reused`` on either
side. This holds for deposits, hold captures and voids, and batches. A refused request binds
nothing, so a retry over the other interface may succeed. Concurrent gRPC calls with one key
post exactly one transaction and all answer it. The rows are counted after every step: the
books, not only the answers, show that nothing was posted twice.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from accounts.models import Account, Hold
from grpc_api.v1 import accounts_pb2, batches_pb2, holds_pb2, transactions_pb2
from harness.books import assert_books_balance
from harness.grpc_servers import Ledger
from tests.factories import AccountFactory
from tests.grpc.helpers import race, refusal, refused
from transactions.models import Batch, IdempotencyRecord, Posting, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPLAYED = "idempotent-replayed"


def new_key() -> str:
    return f"idem-{uuid.uuid4()}"


def trailing(call: grpc.Call) -> dict[str, str]:
    return dict(call.trailing_metadata() or ())


def rest_post(api, path: str, body: dict[str, Any], key: str):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def rest_json(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return json.loads(response.content)


def as_message(document: dict[str, Any], message_class: type) -> Any:
    """The REST document read as its gRPC message (the two carry the same names and values)."""
    return json_format.ParseDict(document, message_class())


def books() -> dict[str, int]:
    """What was posted and bound so far, counted in the database."""
    return {
        "transactions": Transaction.objects.count(),
        "postings": Posting.objects.count(),
        "batches": Batch.objects.count(),
        "holds": Hold.objects.count(),
        "keys": IdempotencyRecord.objects.count(),
    }


def balance(account: Account) -> str:
    account.refresh_from_db()
    return f"{Decimal(account.balance_minor).scaleb(-2):.2f}"


def funded(api, account: Account, amount: str) -> None:
    body = {"account_id": str(account.public_id), "amount": amount}
    rest_json(rest_post(api, "/api/v1/deposits/", body, new_key()), 201)


def deposit_request(key: str, account: Account, amount: str, **extra: Any) -> transactions_pb2.CreateDepositRequest:
    return transactions_pb2.CreateDepositRequest(
        idempotency_key=key,
        deposit=json_format.ParseDict(
            {"account_id": str(account.public_id), "amount": amount, **extra}, transactions_pb2.DepositInput()
        ),
    )


# A deposit with every field set: the same request over both interfaces, field for field.
FULL = {"description": "salary", "reference": "inv-42", "metadata": {"order": 42, "tags": ["a", "b"], "vip": True}}


# --- Movements ---------------------------------------------------------------------------------


def test_a_key_used_over_rest_replays_over_grpc_as_the_same_transaction(api, ledger_as, user):
    account = AccountFactory(owner=user)
    key = new_key()
    first = rest_json(
        rest_post(api, "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": "10.00", **FULL}, key),
        201,
    )
    after_rest = books()
    ledger = ledger_as(user)

    for _ in range(2):
        answer, call = ledger.with_call(
            ledger.transactions.CreateDeposit, deposit_request(key, account, "10.00", **FULL)
        )
        assert answer.id == first["id"]
        assert answer == as_message(first, transactions_pb2.Transaction)
        assert trailing(call).get(REPLAYED) == "true"

    assert books() == after_rest
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert balance(account) == "10.00"
    assert_books_balance()


def test_a_key_used_over_grpc_replays_over_rest_with_the_same_body_bytes(api, ledger_as, user):
    account = AccountFactory(owner=user)
    key = new_key()
    ledger = ledger_as(user)
    answer, call = ledger.with_call(ledger.transactions.CreateDeposit, deposit_request(key, account, "7.25", **FULL))
    assert REPLAYED not in trailing(call)
    after_grpc = books()

    body = {"account_id": str(account.public_id), "amount": "7.25", **FULL}
    replays = [rest_post(api, "/api/v1/deposits/", body, key) for _ in range(2)]

    for replay in replays:
        assert replay.status_code == 201, replay.content
        assert replay["Idempotent-Replayed"] == "true"
        assert replay["Content-Type"].split(";")[0] == "application/json"
        assert as_message(json.loads(replay.content), transactions_pb2.Transaction) == answer
    assert replays[0].content == replays[1].content
    assert replays[0].content == bytes(IdempotencyRecord.objects.get(client=user, key=key).response_body)
    assert books() == after_grpc
    assert balance(account) == "7.25"
    assert_books_balance()


@pytest.mark.parametrize("first_over", ["rest", "grpc"])
def test_the_same_key_with_another_amount_over_the_other_interface_is_reused(api, ledger_as, user, first_over):
    account = AccountFactory(owner=user)
    key = new_key()
    ledger = ledger_as(user)
    if first_over == "rest":
        rest_json(
            rest_post(api, "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": "10.00"}, key), 201
        )
    else:
        ledger.call(ledger.transactions.CreateDeposit, deposit_request(key, account, "10.00"))
    before = books()

    if first_over == "rest":
        with pytest.raises(grpc.RpcError) as raised:
            ledger.call(ledger.transactions.CreateDeposit, deposit_request(key, account, "10.01"))
        found = refusal(raised.value)
        assert (found.code, found.reason, found.domain) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "idempotency_key_reused",
            "ledger",
        )
        assert REPLAYED not in dict(raised.value.trailing_metadata() or ())
    else:
        response = rest_post(api, "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": "10.01"}, key)
        assert rest_json(response, 422)["code"] == "idempotency_key_reused"
        assert not response.has_header("Idempotent-Replayed")

    assert books() == before
    assert balance(account) == "10.00"


def test_a_rest_deposit_key_sent_for_a_grpc_withdrawal_is_reused(api, ledger_as, user):
    account = AccountFactory(owner=user)
    key = new_key()
    body = {"account_id": str(account.public_id), "amount": "5.00"}
    rest_json(rest_post(api, "/api/v1/deposits/", body, key), 201)
    before = books()
    ledger = ledger_as(user)

    with pytest.raises(grpc.RpcError) as raised:
        ledger.call(
            ledger.transactions.CreateWithdrawal,
            transactions_pb2.CreateWithdrawalRequest(
                idempotency_key=key,
                withdrawal=transactions_pb2.WithdrawalInput(account_id=str(account.public_id), amount="5.00"),
            ),
        )

    found = refusal(raised.value)
    assert (found.code, found.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "idempotency_key_reused")
    assert books() == before
    assert balance(account) == "5.00"


# --- Holds: the path's id is part of the request ---------------------------------------------------


def placed_hold(api, account: Account, amount: str) -> str:
    body = {"account_id": str(account.public_id), "amount": amount}
    return rest_json(rest_post(api, "/api/v1/holds/", body, new_key()), 201)["id"]


def test_a_capture_replays_across_interfaces_and_is_bound_to_its_hold(api, ledger_as, user):
    account = AccountFactory(owner=user)
    funded(api, account, "100.00")
    hold_id = placed_hold(api, account, "50.00")
    other_hold_id = placed_hold(api, account, "30.00")
    key = new_key()
    first = rest_json(rest_post(api, f"/api/v1/holds/{hold_id}/capture/", {"amount": "20.00"}, key), 201)
    after_rest = books()
    ledger = ledger_as(user)

    answer, call = ledger.with_call(
        ledger.holds.CaptureHold, holds_pb2.CaptureHoldRequest(idempotency_key=key, hold_id=hold_id, amount="20.00")
    )
    assert (answer.id, answer.hold_id, answer.amount) == (first["id"], hold_id, "20.00")
    assert answer == as_message(first, transactions_pb2.Transaction)
    assert trailing(call).get(REPLAYED) == "true"

    # Another amount on the same hold, or the same amount on another hold, is another request.
    for request in (
        holds_pb2.CaptureHoldRequest(idempotency_key=key, hold_id=hold_id, amount="25.00"),
        holds_pb2.CaptureHoldRequest(idempotency_key=key, hold_id=other_hold_id, amount="20.00"),
    ):
        with pytest.raises(grpc.RpcError) as raised:
            ledger.call(ledger.holds.CaptureHold, request)
        found = refusal(raised.value)
        assert (found.code, found.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "idempotency_key_reused")

    assert books() == after_rest
    hold = ledger.call(ledger.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold_id))
    assert (hold.status, hold.captured_amount, hold.remaining_amount, list(hold.captures)) == (
        "pending",
        "20.00",
        "30.00",
        [first["id"]],
    )
    other = ledger.call(ledger.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=other_hold_id))
    assert (other.captured_amount, list(other.captures)) == ("0.00", [])
    assert balance(account) == "80.00"
    assert_books_balance()


def test_a_void_made_over_grpc_replays_over_rest_and_is_bound_to_its_reason(api, ledger_as, user):
    account = AccountFactory(owner=user)
    funded(api, account, "40.00")
    hold_id = placed_hold(api, account, "25.00")
    key = new_key()
    ledger = ledger_as(user)
    voided, call = ledger.with_call(
        ledger.holds.VoidHold, holds_pb2.VoidHoldRequest(idempotency_key=key, hold_id=hold_id, reason="cancelled")
    )
    assert voided.status == "voided"
    assert REPLAYED not in trailing(call)
    after_grpc = books()

    replay = rest_post(api, f"/api/v1/holds/{hold_id}/void/", {"reason": "cancelled"}, key)
    assert replay.status_code == 200, replay.content  # A void's answer is 200, and so is its replay.
    assert replay["Idempotent-Replayed"] == "true"
    assert as_message(json.loads(replay.content), holds_pb2.Hold) == voided

    # Over gRPC again: the replay, not hold_not_pending.
    again, call = ledger.with_call(
        ledger.holds.VoidHold, holds_pb2.VoidHoldRequest(idempotency_key=key, hold_id=hold_id, reason="cancelled")
    )
    assert again == voided
    assert trailing(call).get(REPLAYED) == "true"

    reused = rest_post(api, f"/api/v1/holds/{hold_id}/void/", {"reason": "another reason"}, key)
    assert rest_json(reused, 422)["code"] == "idempotency_key_reused"
    assert books() == after_grpc
    account.refresh_from_db()
    assert account.reserved_minor == 0
    assert_books_balance()


# --- Batches -----------------------------------------------------------------------------------


def test_a_batch_posted_over_rest_replays_over_grpc_and_is_bound_to_its_operations(api, ledger_as, user):
    source = AccountFactory(owner=user)
    payee = AccountFactory(owner=user)
    key = new_key()
    body = {
        "operations": [
            {"kind": "deposit", "account_id": str(source.public_id), "amount": "30.00"},
            {
                "kind": "transfer",
                "source_account_id": str(source.public_id),
                "destination_account_id": str(payee.public_id),
                "amount": "12.50",
            },
            {"kind": "withdrawal", "account_id": str(source.public_id), "amount": "2.50"},
        ]
    }
    first = rest_json(rest_post(api, "/api/v1/batches/", body, key), 201)
    after_rest = books()

    def batch_request(last_amount: str) -> batches_pb2.CreateBatchRequest:
        return batches_pb2.CreateBatchRequest(
            idempotency_key=key,
            operations=[
                batches_pb2.BatchOperation(
                    deposit=transactions_pb2.DepositInput(account_id=str(source.public_id), amount="30.00")
                ),
                batches_pb2.BatchOperation(
                    transfer=transactions_pb2.TransferInput(
                        source_account_id=str(source.public_id),
                        destination_account_id=str(payee.public_id),
                        amount="12.50",
                    )
                ),
                batches_pb2.BatchOperation(
                    withdrawal=transactions_pb2.WithdrawalInput(account_id=str(source.public_id), amount=last_amount)
                ),
            ],
        )

    ledger = ledger_as(user)
    answer, call = ledger.with_call(ledger.batches.CreateBatch, batch_request("2.50"))
    assert answer.id == first["id"]
    assert [txn.id for txn in answer.transactions] == [txn["id"] for txn in first["transactions"]]
    assert answer == as_message(first, batches_pb2.Batch)
    assert trailing(call).get(REPLAYED) == "true"

    with pytest.raises(grpc.RpcError) as raised:
        ledger.call(ledger.batches.CreateBatch, batch_request("2.49"))
    found = refusal(raised.value)
    assert (found.code, found.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "idempotency_key_reused")

    assert books() == after_rest
    assert after_rest["transactions"] == 3
    assert (balance(source), balance(payee)) == ("15.00", "12.50")
    assert_books_balance()


# --- Refusals bind nothing ---------------------------------------------------------------------


@pytest.mark.parametrize("refused_over", ["grpc", "rest"])
def test_a_refused_request_binds_nothing_and_a_retry_over_the_other_interface_posts(api, ledger_as, user, refused_over):
    account = AccountFactory(owner=user)
    key = new_key()
    ledger = ledger_as(user)
    body = {"account_id": str(account.public_id), "amount": "5.00"}
    request = transactions_pb2.CreateWithdrawalRequest(
        idempotency_key=key, withdrawal=transactions_pb2.WithdrawalInput(**body)
    )

    if refused_over == "grpc":
        with pytest.raises(grpc.RpcError) as raised:
            ledger.call(ledger.transactions.CreateWithdrawal, request)
        found = refusal(raised.value)
        assert (found.code, found.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "insufficient_funds")
    else:
        assert rest_json(rest_post(api, "/api/v1/withdrawals/", body, key), 422)["code"] == "insufficient_funds"
    assert not IdempotencyRecord.objects.filter(client=user, key=key).exists()

    funded(api, account, "5.00")
    before = books()
    if refused_over == "grpc":
        retried = rest_post(api, "/api/v1/withdrawals/", body, key)
        assert rest_json(retried, 201)["amount"] == "5.00"
        assert not retried.has_header("Idempotent-Replayed")
    else:
        answer, call = ledger.with_call(ledger.transactions.CreateWithdrawal, request)
        assert (answer.kind, answer.amount) == ("withdrawal", "5.00")
        assert REPLAYED not in trailing(call)

    assert books()["transactions"] == before["transactions"] + 1
    assert balance(account) == "0.00"
    assert_books_balance()


def test_a_request_refused_as_invalid_over_grpc_binds_nothing(api, ledger_as, user):
    account = AccountFactory(owner=user)
    key = new_key()
    ledger = ledger_as(user)
    with pytest.raises(grpc.RpcError) as raised:
        ledger.call(ledger.transactions.CreateDeposit, deposit_request(key, account, "1.005"))
    found = refusal(raised.value)
    assert (found.code, found.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert "amount" in found.fields

    fixed, call = ledger.with_call(ledger.transactions.CreateDeposit, deposit_request(key, account, "1.01"))
    assert fixed.amount == "1.01"
    assert REPLAYED not in trailing(call)
    # And the key is now bound to the fixed request, over REST too.
    replay = rest_post(api, "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": "1.01"}, key)
    assert replay["Idempotent-Replayed"] == "true"
    assert json.loads(replay.content)["id"] == fixed.id
    assert balance(account) == "1.01"


# --- Concurrent calls with one key -----------------------------------------------------------------


def test_concurrent_grpc_calls_with_one_key_post_exactly_one_transaction(grpc_server, user):
    account = AccountFactory(owner=user)
    key = new_key()
    before = books()

    def deposit(ledger: Ledger) -> tuple[transactions_pb2.Transaction, bool]:
        answer, call = ledger.with_call(ledger.transactions.CreateDeposit, deposit_request(key, account, "3.00"))
        return answer, trailing(call).get(REPLAYED) == "true"

    results = race(12, grpc_server, user.auth_token.key, lambda _, ledger: deposit(ledger))

    answers = [answer for answer, _ in results]
    assert all(answer == answers[0] for answer in answers), "the callers got different answers"
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 11
    assert Transaction.objects.filter(public_id=answers[0].id).exists()
    after = books()
    assert (after["transactions"] - before["transactions"], after["postings"] - before["postings"]) == (1, 2)
    assert IdempotencyRecord.objects.filter(client=user, key=key).count() == 1
    assert balance(account) == "3.00"
    assert_books_balance()


# --- Opening an account ----------------------------------------------------------------------------


def test_an_opening_key_used_over_rest_then_grpc_answers_the_same_account(ledger_as, user, api):
    body = {"currency": "EUR", "name": "Savings"}
    first = api.post("/api/v1/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-savings")
    ledger = ledger_as(user)
    again, call = ledger.with_call(
        ledger.accounts.OpenAccount,
        accounts_pb2.OpenAccountRequest(idempotency_key="open-savings", currency="EUR", name="Savings"),
    )
    other = refused(
        ledger.accounts.OpenAccount,
        accounts_pb2.OpenAccountRequest(idempotency_key="open-savings", currency="USD"),
        ledger,
    )

    assert first.status_code == 201
    assert again.id == first.json()["id"]
    assert dict(call.trailing_metadata())["idempotent-replayed"] == "true"
    assert (other.code, other.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "idempotency_key_reused")
    assert Account.objects.filter(owner=user).count() == 1

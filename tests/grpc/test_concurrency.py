"""Racing gRPC calls on PostgreSQL: real client threads against the real server and its worker threads.

Each racer has its own channel, connected before a barrier, so the calls reach the server
together and its workers (each with its own database connection) meet on the same rows:
withdrawals racing for one balance never overdraw it, transfers crossing between two accounts
never deadlock (every call answers, in time, with OK or a contract refusal, never UNAVAILABLE,
INTERNAL or UNKNOWN), and captures racing on one hold never capture more than it holds. Each
test ends with the accounting equation (:func:`harness.books.assert_books_balance`) and the
transactions and postings counted against the successes.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import grpc
import pytest

from accounts.models import Account
from grpc_api.v1 import accounts_pb2, holds_pb2, transactions_pb2
from harness.books import assert_books_balance
from harness.grpc_servers import Ledger
from tests.factories import AccountFactory
from tests.grpc.helpers import race, refusal
from transactions.models import Posting, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALL_TIMEOUT = 30  # seconds any one call may take, however contended


@dataclass(frozen=True)
class Outcome:
    """What one racing call came to: its answer, or its status code and the contract's reason."""

    answer: Any = None
    code: grpc.StatusCode = grpc.StatusCode.OK
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK


def attempt(ledger: Ledger, method: Any, request: Any) -> Outcome:
    """Call ``method``; a refusal is an outcome (its code and reason)."""
    try:
        return Outcome(answer=ledger.call(method, request, timeout=CALL_TIMEOUT))
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            return Outcome(code=error.code(), reason=f"{error.details()}")
        if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return Outcome(code=error.code(), reason="no answer within the deadline")
        found = refusal(error)
        return Outcome(code=found.code, reason=found.reason)


def new_key() -> str:
    return f"race-{uuid.uuid4()}"


def funded(ledger: Ledger, account: Account, amount: str) -> None:
    ledger.call(
        ledger.transactions.CreateDeposit,
        transactions_pb2.CreateDepositRequest(
            idempotency_key=new_key(),
            deposit=transactions_pb2.DepositInput(account_id=str(account.public_id), amount=amount),
        ),
    )


def balance_of(ledger: Ledger, account: Account) -> accounts_pb2.Balance:
    return ledger.call(ledger.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=str(account.public_id)))


def counts() -> tuple[int, int]:
    return Transaction.objects.count(), Posting.objects.count()


def test_racing_withdrawals_never_overdraw(ledger_as, grpc_server, user):
    account = AccountFactory(owner=user)
    ledger = ledger_as(user)
    funded(ledger, account, "100.00")
    transactions_before, postings_before = counts()

    def withdraw(_: int, racer: Ledger) -> list[Outcome]:
        request = transactions_pb2.CreateWithdrawalRequest(
            idempotency_key=new_key(),
            withdrawal=transactions_pb2.WithdrawalInput(account_id=str(account.public_id), amount="10.00"),
        )
        return [attempt(racer, racer.transactions.CreateWithdrawal, request)]

    outcomes = [outcome for result in race(20, grpc_server, user.auth_token.key, withdraw) for outcome in result]

    assert Counter((o.code.name, o.reason) for o in outcomes) == {
        ("OK", None): 10,
        ("FAILED_PRECONDITION", "insufficient_funds"): 10,
    }
    # Each success saw the balance it left: 90.00, 80.00, ... 0.00, each once.
    left = sorted(
        Decimal(leg.balance_after)
        for o in outcomes
        if o.ok
        for leg in o.answer.postings
        if leg.account_id == str(account.public_id)
    )
    assert left == [Decimal(10 * n) for n in range(10)]
    assert (balance_of(ledger, account).balance, balance_of(ledger, account).available_balance) == ("0.00", "0.00")
    assert Transaction.objects.filter(kind="withdrawal").count() == 10
    assert counts() == (transactions_before + 10, postings_before + 20)
    assert_books_balance()


def test_crossing_transfers_between_two_accounts_never_deadlock(ledger_as, grpc_server, user):
    a = AccountFactory(owner=user)
    b = AccountFactory(owner=user)
    ledger = ledger_as(user)
    funded(ledger, a, "500.00")
    funded(ledger, b, "500.00")
    transactions_before, postings_before = counts()
    racers, per_racer = 12, 8
    # Racer i sends amount(i, j) from A to B when i + j is even, from B to A when odd: both
    # directions at once from every racer. At most 8 x 12 x 9.99 moves one way: every transfer
    # can succeed in any order.

    def amount(i: int, j: int) -> str:
        return f"{(i + j) % 9 + 1}.{(7 * i + j) % 100:02d}"

    def transfers(i: int, racer: Ledger) -> list[Outcome]:
        done = []
        for j in range(per_racer):
            source, destination = (a, b) if (i + j) % 2 == 0 else (b, a)
            request = transactions_pb2.CreateTransferRequest(
                idempotency_key=new_key(),
                transfer=transactions_pb2.TransferInput(
                    source_account_id=str(source.public_id),
                    destination_account_id=str(destination.public_id),
                    amount=amount(i, j),
                ),
            )
            done.append(attempt(racer, racer.transactions.CreateTransfer, request))
        return done

    results = race(racers, grpc_server, user.auth_token.key, transfers)

    outcomes = [outcome for result in results for outcome in result]
    assert len(outcomes) == racers * per_racer
    failures = [o for o in outcomes if not o.ok]
    assert not failures, Counter((o.code.name, o.reason) for o in failures)
    a_to_b = sum(Decimal(amount(i, j)) for i in range(racers) for j in range(per_racer) if (i + j) % 2 == 0)
    b_to_a = sum(Decimal(amount(i, j)) for i in range(racers) for j in range(per_racer) if (i + j) % 2 == 1)
    assert Decimal(balance_of(ledger, a).balance) == Decimal("500.00") - a_to_b + b_to_a
    assert Decimal(balance_of(ledger, b).balance) == Decimal("500.00") + a_to_b - b_to_a
    assert Transaction.objects.filter(kind="transfer").count() == racers * per_racer
    assert counts() == (transactions_before + racers * per_racer, postings_before + 2 * racers * per_racer)
    assert_books_balance()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        # 3 x 15.00 fit in 50.00; the 5.00 left cannot take a fourth, and the hold stays pending.
        ("15.00", {("OK", None): 3, ("FAILED_PRECONDITION", "capture_exceeds_hold"): 5}),
        # 5 x 10.00 capture it all: the fifth resolves it, and every later one finds it captured.
        ("10.00", {("OK", None): 5, ("FAILED_PRECONDITION", "hold_not_pending"): 3}),
    ],
)
def test_racing_captures_of_one_hold_never_capture_more_than_it_holds(ledger_as, grpc_server, user, amount, expected):
    account = AccountFactory(owner=user)
    ledger = ledger_as(user)
    funded(ledger, account, "80.00")
    hold = ledger.call(
        ledger.holds.CreateHold,
        holds_pb2.CreateHoldRequest(
            idempotency_key=new_key(), hold=holds_pb2.HoldInput(account_id=str(account.public_id), amount="50.00")
        ),
    )
    transactions_before, postings_before = counts()

    def capture(_: int, racer: Ledger) -> list[Outcome]:
        request = holds_pb2.CaptureHoldRequest(idempotency_key=new_key(), hold_id=hold.id, amount=amount)
        return [attempt(racer, racer.holds.CaptureHold, request)]

    outcomes = [outcome for result in race(8, grpc_server, user.auth_token.key, capture) for outcome in result]

    assert Counter((o.code.name, o.reason) for o in outcomes) == expected
    captured = sum(Decimal(o.answer.amount) for o in outcomes if o.ok)
    assert captured <= Decimal("50.00")
    assert all(o.answer.hold_id == hold.id for o in outcomes if o.ok)
    after = ledger.call(ledger.holds.GetHold, holds_pb2.GetHoldRequest(hold_id=hold.id))
    assert Decimal(after.captured_amount) == captured
    assert sorted(after.captures) == sorted(o.answer.id for o in outcomes if o.ok)
    assert after.status == ("captured" if captured == Decimal("50.00") else "pending")
    money = balance_of(ledger, account)
    assert Decimal(money.balance) == Decimal("80.00") - captured
    reserved = Decimal("50.00") - captured if after.status == "pending" else Decimal(0)
    assert Decimal(money.available_balance) == Decimal(money.balance) - reserved
    successes = expected[("OK", None)]
    assert counts() == (transactions_before + successes, postings_before + 2 * successes)
    assert_books_balance()

"""Holds through the API: ``/api/v1/holds/``, its captures and voids, and what they do to balances.

Every endpoint and every refusal of the contract's "Holds (two-phase movements)" section, as a
client sees them: the Hold and Transaction documents, the account's ``balance`` (a hold moves no
money) and ``available_balance`` (now and ``?at=`` an instant), lists and their filters,
visibility, idempotency and batches. Each refusal leaves the books exactly as they were
(:func:`tests.api.helpers.ledger_snapshot`: balances, reservations, holds, transactions,
postings, idempotency records). Expiry is tested with the clock moved forward
(:func:`clock`), as time would: a hold past ``expires_at`` is ``expired`` whether or not the
expiry has been recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import Account, Hold
from harness.books import assert_books_balance
from tests.api.helpers import (
    ACCOUNT_KEYS,
    HOLD_KEYS,
    TRANSACTION_KEYS,
    assert_json,
    assert_page,
    assert_problem,
    balance_of,
    body_of,
    capture_hold,
    deposited,
    ledger_snapshot,
    new_key,
    parse_instant,
    place_hold,
    reverse,
    void_hold,
    withdraw,
)
from tests.factories import AccountFactory
from transactions.models import Batch, IdempotencyRecord, Transaction

pytestmark = pytest.mark.django_db


# --- helpers -----------------------------------------------------------------------------------


class Clock:
    """What ``timezone.now()`` answers while a test runs: real time at the start, then moved by hand."""

    def __init__(self) -> None:
        self.moment = timezone.now()

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Freeze the ledger's clock (every ``timezone.now()``); the test moves it forward."""
    frozen = Clock()
    with mock.patch("django.utils.timezone.now", frozen.now):
        yield frozen


@pytest.fixture
def funded(api, account) -> Account:
    """``account`` (USD, the client's) holding 100.00, deposited through the API."""
    deposited(api, account.public_id, "100.00")
    return account


@pytest.fixture
def payee(other_user) -> Account:
    """A USD account of another client: a hold's destination may be any active account of the currency."""
    return AccountFactory(owner=other_user, currency="USD")


def placed(api, account_id, amount, **fields: Any) -> dict[str, Any]:
    """Place a hold and return the 201 Hold."""
    hold = assert_json(place_hold(api, account_id, amount, **fields), 201)
    assert set(hold) == HOLD_KEYS
    return hold


def captured(api, hold_id, **fields: Any) -> dict[str, Any]:
    """Capture a hold and return the 201 Transaction."""
    txn = assert_json(capture_hold(api, hold_id, **fields), 201)
    assert set(txn) == TRANSACTION_KEYS
    return txn


def voided(api, hold_id, **fields: Any) -> dict[str, Any]:
    """Void a hold and return the 200 Hold."""
    hold = assert_json(void_hold(api, hold_id, **fields), 200)
    assert set(hold) == HOLD_KEYS
    return hold


def hold_of(api, hold_id) -> dict[str, Any]:
    return assert_json(api.get(f"/api/v1/holds/{hold_id}/"), 200)


def account_of(api, account_id) -> dict[str, Any]:
    return assert_json(api.get(f"/api/v1/accounts/{account_id}/"), 200)


def balances(api, account_id, at: datetime | str | None = None) -> tuple[str, str]:
    """``(balance, available_balance)`` from the balance endpoint, now or ``at``."""
    params = {} if at is None else {"at": at if isinstance(at, str) else at.isoformat()}
    body = assert_json(api.get(f"/api/v1/accounts/{account_id}/balance/", params), 200)
    return body["balance"], body["available_balance"]


def reserved(account) -> int:
    return Account.objects.get(pk=account.pk).reserved_minor


def freeze(account, status: str = "frozen") -> None:
    Account.objects.filter(pk=account.pk).update(status=status)


def expire(clock: Clock, hold: dict[str, Any]) -> None:
    """Move the clock past the hold's expiry (nothing records it)."""
    clock.moment = parse_instant(hold["expires_at"]) + timedelta(seconds=1)


def state() -> tuple:
    return ledger_snapshot()


# --- placing a hold ------------------------------------------------------------------------------


def test_a_hold_reserves_money_without_moving_it(api, funded):
    before = Transaction.objects.count()
    hold = placed(api, funded.public_id, "40.00", description="card auth", reference="ORD-1", metadata={"order": "A-1"})
    assert hold["status"] == "pending"
    assert hold["account_id"] == str(funded.public_id)
    assert hold["destination_account_id"] is None
    assert hold["currency"] == "USD"
    assert (hold["amount"], hold["captured_amount"], hold["remaining_amount"]) == ("40.00", "0.00", "40.00")
    assert (hold["description"], hold["reference"], hold["metadata"]) == ("card auth", "ORD-1", {"order": "A-1"})
    assert hold["resolved_at"] is None
    assert hold["captures"] == []
    assert parse_instant(hold["expires_at"]) - parse_instant(hold["created_at"]) == timedelta(days=7)

    assert Transaction.objects.count() == before
    assert reserved(funded) == 4000
    account = account_of(api, funded.public_id)
    assert set(account) == ACCOUNT_KEYS
    assert list(account).index("available_balance") == list(account).index("balance") + 1
    assert (account["balance"], account["available_balance"]) == ("100.00", "60.00")
    assert balances(api, funded.public_id) == ("100.00", "60.00")
    [listed] = assert_page(api.get("/api/v1/accounts/"))["results"]
    assert (listed["balance"], listed["available_balance"]) == ("100.00", "60.00")
    assert hold_of(api, hold["id"]) == hold
    assert_books_balance()


def test_a_new_account_is_available_in_full(api):
    account = assert_json(api.post("/api/v1/accounts/", {"currency": "JPY"}, format="json"), 201)
    assert (account["balance"], account["available_balance"]) == ("0", "0")


def test_a_hold_with_a_destination_and_an_expiry(api, funded, payee):
    expires_at = (timezone.now() + timedelta(days=29)).replace(microsecond=0)
    hold = placed(
        api,
        funded.public_id,
        "10",
        destination_account_id=str(payee.public_id),
        expires_at=expires_at.isoformat().replace("+00:00", "Z"),
    )
    assert hold["destination_account_id"] == str(payee.public_id)
    assert hold["amount"] == "10.00"
    assert parse_instant(hold["expires_at"]) == expires_at
    assert balances(api, funded.public_id) == ("100.00", "90.00")
    assert Account.objects.get(pk=payee.pk).balance_minor == 0
    assert reserved(payee) == 0


def test_a_hold_above_the_available_balance_is_insufficient_funds(api, funded):
    placed(api, funded.public_id, "60.00")
    before = state()
    assert_problem(place_hold(api, funded.public_id, "40.01"), 422, "insufficient_funds")
    assert state() == before
    # Nor may a withdrawal spend what is held.
    assert_problem(withdraw(api, funded.public_id, "40.01"), 422, "insufficient_funds")
    assert state() == before
    placed(api, funded.public_id, "40.00")
    assert balances(api, funded.public_id) == ("100.00", "0.00")
    assert_problem(place_hold(api, funded.public_id, "0.01"), 422, "insufficient_funds")


@pytest.mark.parametrize("status", ["frozen", "closed"])
def test_an_inactive_account_places_no_hold(api, funded, status):
    freeze(funded, status)
    before = state()
    assert_problem(place_hold(api, funded.public_id, "1.00"), 422, "account_inactive")
    assert state() == before


def test_an_inactive_destination_is_refused(api, funded, payee):
    freeze(payee)
    before = state()
    response = place_hold(api, funded.public_id, "1.00", destination_account_id=str(payee.public_id))
    assert_problem(response, 422, "account_inactive")
    assert state() == before


def test_a_destination_of_another_currency_is_currency_mismatch(api, funded, other_user):
    euros = AccountFactory(owner=other_user, currency="EUR")
    before = state()
    response = place_hold(api, funded.public_id, "1.00", destination_account_id=str(euros.public_id))
    assert_problem(response, 422, "currency_mismatch")
    assert state() == before


def test_the_account_as_its_own_destination_is_same_account(api, funded):
    before = state()
    response = place_hold(api, funded.public_id, "1.00", destination_account_id=str(funded.public_id))
    assert_problem(response, 422, "same_account")
    assert state() == before


def test_another_clients_or_an_unknown_account_is_not_found(api, funded, payee):
    deposited(api, funded.public_id, "1.00")
    before = state()
    assert_problem(place_hold(api, payee.public_id, "1.00"), 404, "not_found")
    assert_problem(place_hold(api, "7c9e6679-7425-40de-944b-e07fc1f90ae7", "1.00"), 404, "not_found")
    response = place_hold(api, funded.public_id, "1.00", destination_account_id="7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert_problem(response, 404, "not_found")
    assert state() == before


@pytest.mark.parametrize(
    "expires_at",
    [
        pytest.param(lambda now: (now - timedelta(seconds=1)).isoformat(), id="in-the-past"),
        pytest.param(lambda now: now.isoformat(), id="now"),
        pytest.param(lambda now: (now + timedelta(days=30, minutes=1)).isoformat(), id="beyond-30-days"),
        pytest.param(lambda now: "tomorrow", id="malformed"),
        pytest.param(lambda now: "2026-13-01T00:00:00Z", id="no-such-month"),
        pytest.param(lambda now: 1893456000, id="a-number"),
    ],
)
def test_an_expiry_in_the_past_beyond_30_days_or_malformed_is_a_validation_error(api, funded, clock, expires_at):
    before = state()
    response = place_hold(api, funded.public_id, "1.00", expires_at=expires_at(clock.now()))
    problem = assert_problem(response, 400, "validation_error", fields=("expires_at",))
    assert set(problem["errors"]) == {"expires_at"}
    assert state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1.005"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": None}, "amount"),
        ({"account_id": "not-a-uuid"}, "account_id"),
        ({"destination_account_id": "nope"}, "destination_account_id"),
        ({"metadata": []}, "metadata"),
        ({"metadata": {"x": "y" * 9000}}, "metadata"),
        ({"description": "d" * 501}, "description"),
        ({"reference": "r" * 201}, "reference"),
    ],
)
def test_an_invalid_field_is_a_validation_error_naming_it(api, funded, body, field):
    before = state()
    request = {"account_id": str(funded.public_id), "amount": "1.00", **body}
    response = api.post("/api/v1/holds/", request, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert_problem(response, 400, "validation_error", fields=(field,))
    assert state() == before


def test_a_hold_needs_an_idempotency_key(api, funded):
    before = state()
    body = {"account_id": str(funded.public_id), "amount": "1.00"}
    assert_problem(api.post("/api/v1/holds/", body, format="json"), 400, "idempotency_key_required")
    response = api.post("/api/v1/holds/", body, format="json", HTTP_IDEMPOTENCY_KEY="")
    assert_problem(response, 400, "idempotency_key_required")
    response = api.post("/api/v1/holds/", body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert_problem(response, 400, "idempotency_key_required")
    assert state() == before


# --- capturing -----------------------------------------------------------------------------------


def test_partial_captures_then_the_rest(api, funded):
    hold = placed(api, funded.public_id, "40.00", description="card auth", reference="ORD-7", metadata={"n": 1})
    first = captured(api, hold["id"], amount="15.00")
    assert first["kind"] == "withdrawal"
    assert first["hold_id"] == hold["id"]
    assert (first["amount"], first["source_account_id"], first["destination_account_id"]) == (
        "15.00",
        str(funded.public_id),
        None,
    )
    assert (first["description"], first["reference"], first["metadata"]) == ("card auth", "ORD-7", {"n": 1})
    assert first["postings"] == [
        {"account_id": str(funded.public_id), "amount": "-15.00", "balance_after": "85.00", "sequence": 2}
    ]
    now = hold_of(api, hold["id"])
    assert now["status"] == "pending"
    assert (now["captured_amount"], now["remaining_amount"]) == ("15.00", "25.00")
    assert now["captures"] == [first["id"]]
    assert balances(api, funded.public_id) == ("85.00", "60.00")
    assert reserved(funded) == 2500

    second = captured(api, hold["id"], amount=10, description="second shipment")
    assert second["description"] == "second shipment"
    assert balances(api, funded.public_id) == ("75.00", "60.00")
    last = captured(api, hold["id"])  # Default: what the hold still reserves.
    assert last["amount"] == "15.00"
    done = hold_of(api, hold["id"])
    assert done["status"] == "captured"
    assert (done["captured_amount"], done["remaining_amount"]) == ("40.00", "0.00")
    assert done["resolved_at"] == last["created_at"]
    assert done["captures"] == [first["id"], second["id"], last["id"]]  # Oldest first.
    assert balances(api, funded.public_id) == ("60.00", "60.00")
    assert reserved(funded) == 0
    assert assert_json(api.get(f"/api/v1/transactions/{last['id']}/"), 200) == last
    assert assert_json(api.get(f"/api/v1/withdrawals/{first['id']}/"), 200)["hold_id"] == hold["id"]
    listed = assert_page(api.get("/api/v1/transactions/"))["results"]
    assert [txn["hold_id"] for txn in listed] == [hold["id"]] * 3 + [None]
    assert_books_balance()


def test_a_final_capture_releases_the_rest(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    txn = captured(api, hold["id"], amount="10.00", final=True)
    done = hold_of(api, hold["id"])
    assert done["status"] == "captured"
    assert (done["captured_amount"], done["remaining_amount"]) == ("10.00", "0.00")
    assert done["resolved_at"] == txn["created_at"]
    assert balances(api, funded.public_id) == ("90.00", "90.00")
    assert reserved(funded) == 0


def test_a_capture_with_a_destination_is_a_transfer_to_it(api, other_api, funded, payee):
    hold = placed(api, funded.public_id, "30.00", destination_account_id=str(payee.public_id))
    txn = captured(api, hold["id"], amount="12.50")
    assert txn["kind"] == "transfer"
    assert (txn["source_account_id"], txn["destination_account_id"]) == (str(funded.public_id), str(payee.public_id))
    assert txn["postings"] == [
        {"account_id": str(funded.public_id), "amount": "-12.50", "balance_after": "87.50", "sequence": 2}
    ]
    assert balance_of(other_api, payee.public_id) == "12.50"
    # The payee sees the transfer, with its own leg, and which hold it captured.
    seen = assert_json(other_api.get(f"/api/v1/transactions/{txn['id']}/"), 200)
    assert seen["hold_id"] == hold["id"]
    assert [leg["account_id"] for leg in seen["postings"]] == [str(payee.public_id)]
    assert balances(api, funded.public_id) == ("87.50", "70.00")
    assert_books_balance()


def test_a_capture_is_never_refused_for_the_funds_it_reserved(api, funded):
    hold = placed(api, funded.public_id, "100.00")
    assert balances(api, funded.public_id) == ("100.00", "0.00")
    captured(api, hold["id"])
    assert balances(api, funded.public_id) == ("0.00", "0.00")


def test_captures_never_exceed_the_hold(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    before = state()
    assert_problem(capture_hold(api, hold["id"], amount="40.01"), 422, "capture_exceeds_hold")
    assert state() == before
    captured(api, hold["id"], amount="30.00")
    before = state()
    assert_problem(capture_hold(api, hold["id"], amount="10.01"), 422, "capture_exceeds_hold")
    assert state() == before
    assert hold_of(api, hold["id"])["remaining_amount"] == "10.00"


@pytest.mark.parametrize("status", ["frozen", "closed"])
def test_a_capture_on_an_inactive_account_is_refused_and_the_hold_stays_pending(api, funded, status):
    hold = placed(api, funded.public_id, "40.00")
    freeze(funded, status)
    before = state()
    assert_problem(capture_hold(api, hold["id"], amount="1.00"), 422, "account_inactive")
    assert state() == before
    now = hold_of(api, hold["id"])
    assert (now["status"], now["remaining_amount"]) == ("pending", "40.00")


def test_a_capture_to_an_inactive_destination_is_refused(api, funded, payee):
    hold = placed(api, funded.public_id, "40.00", destination_account_id=str(payee.public_id))
    freeze(payee)
    before = state()
    assert_problem(capture_hold(api, hold["id"]), 422, "account_inactive")
    assert state() == before
    assert hold_of(api, hold["id"])["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1.005"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"final": "yes"}, "final"),
        ({"final": 1}, "final"),
        ({"description": "d" * 501}, "description"),
    ],
)
def test_an_invalid_capture_is_a_validation_error_naming_the_field(api, funded, body, field):
    hold = placed(api, funded.public_id, "40.00")
    before = state()
    assert_problem(capture_hold(api, hold["id"], **body), 400, "validation_error", fields=(field,))
    assert state() == before


def test_a_capture_in_a_currency_with_fewer_places_is_refused(api, account):
    yen = AccountFactory(owner=account.owner, currency="JPY")
    deposited(api, yen.public_id, "1000")
    hold = placed(api, yen.public_id, "500")
    assert hold["amount"] == "500"
    before = state()
    assert_problem(capture_hold(api, hold["id"], amount="1.5"), 400, "validation_error", fields=("amount",))
    assert state() == before
    assert captured(api, hold["id"], amount="200")["amount"] == "200"


def test_a_reversal_of_a_capture_returns_the_money_and_does_not_reopen_the_hold(api, staff_api, funded):
    hold = placed(api, funded.public_id, "40.00")
    txn = captured(api, hold["id"], amount="40.00")
    reversal = assert_json(reverse(staff_api, txn["id"]), 201)
    assert reversal["hold_id"] is None
    assert balances(api, funded.public_id) == ("100.00", "100.00")
    assert hold_of(api, hold["id"])["status"] == "captured"
    assert_problem(capture_hold(api, hold["id"]), 422, "hold_not_pending")


# --- voiding -------------------------------------------------------------------------------------


def test_a_void_releases_what_the_hold_still_reserves(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    txn = captured(api, hold["id"], amount="15.00")
    void = voided(api, hold["id"], reason="order cancelled")
    assert void["status"] == "voided"
    assert (void["captured_amount"], void["remaining_amount"]) == ("15.00", "0.00")
    assert void["captures"] == [txn["id"]]
    assert parse_instant(void["resolved_at"]) >= parse_instant(txn["created_at"])
    assert hold_of(api, hold["id"]) == void
    assert balances(api, funded.public_id) == ("85.00", "85.00")
    assert reserved(funded) == 0
    assert Hold.objects.get(public_id=hold["id"]).resolution_reason == "order cancelled"


def test_a_void_without_a_reason_or_body(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    response = api.post(f"/api/v1/holds/{hold['id']}/void/", HTTP_IDEMPOTENCY_KEY=new_key())
    assert assert_json(response, 200)["status"] == "voided"
    assert balances(api, funded.public_id) == ("100.00", "100.00")


def test_a_hold_on_a_frozen_account_may_be_voided(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    freeze(funded)
    assert voided(api, hold["id"])["status"] == "voided"
    assert reserved(funded) == 0


def test_a_void_reason_is_at_most_500_characters(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    before = state()
    assert_problem(void_hold(api, hold["id"], reason="r" * 501), 400, "validation_error", fields=("reason",))
    assert state() == before


# --- leaving pending once ----------------------------------------------------------------------


def _captured_hold(api, account, clock) -> dict[str, Any]:
    hold = placed(api, account.public_id, "40.00")
    captured(api, hold["id"], amount="5.00", final=True)
    return hold


def _voided_hold(api, account, clock) -> dict[str, Any]:
    hold = placed(api, account.public_id, "40.00")
    voided(api, hold["id"])
    return hold


def _expired_hold(api, account, clock) -> dict[str, Any]:
    hold = placed(api, account.public_id, "40.00", expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    expire(clock, hold)
    return hold


@pytest.mark.parametrize(
    ("resolve", "status"),
    [(_captured_hold, "captured"), (_voided_hold, "voided"), (_expired_hold, "expired")],
)
def test_a_captured_voided_or_expired_hold_is_not_pending(api, funded, clock, resolve, status):
    hold = resolve(api, funded, clock)
    assert hold_of(api, hold["id"])["status"] == status
    before = state()
    for response in (
        capture_hold(api, hold["id"]),
        capture_hold(api, hold["id"], amount="1.00"),
        void_hold(api, hold["id"], reason="again"),
    ):
        problem = assert_problem(response, 422, "hold_not_pending")
        assert status in problem["detail"]
    assert state() == before
    assert hold_of(api, hold["id"])["status"] == status


# --- expiry ------------------------------------------------------------------------------------


def test_a_hold_past_its_expiry_is_expired_on_every_read_before_it_is_recorded(api, funded, clock):
    hold = placed(api, funded.public_id, "40.00")
    assert parse_instant(hold["expires_at"]) == clock.now() + timedelta(days=7)
    clock.moment = parse_instant(hold["expires_at"]) - timedelta(microseconds=1)
    assert hold_of(api, hold["id"])["status"] == "pending"
    assert balances(api, funded.public_id) == ("100.00", "60.00")

    clock.moment = parse_instant(hold["expires_at"])  # From that instant on.
    now = hold_of(api, hold["id"])
    assert now["status"] == "expired"
    assert now["remaining_amount"] == "0.00"
    assert now["resolved_at"] == hold["expires_at"]
    assert Hold.objects.get(public_id=hold["id"]).status == "pending"  # Not recorded yet.
    assert balances(api, funded.public_id) == ("100.00", "100.00")
    account = account_of(api, funded.public_id)
    assert (account["balance"], account["available_balance"]) == ("100.00", "100.00")
    assert [h["id"] for h in assert_page(api.get("/api/v1/holds/?status=expired"))["results"]] == [hold["id"]]
    assert assert_page(api.get("/api/v1/holds/?status=pending"))["results"] == []

    # A write on the account records the expiry and may spend what it held.
    withdraw(api, funded.public_id, "100.00")
    recorded = Hold.objects.get(public_id=hold["id"])
    assert (recorded.status, recorded.resolved_at) == ("expired", parse_instant(hold["expires_at"]))
    assert hold_of(api, hold["id"]) == now
    assert balances(api, funded.public_id) == ("0.00", "0.00")
    assert_books_balance()


# --- the available balance at an instant ---------------------------------------------------------


def test_the_available_balance_at_instants_around_a_hold_its_captures_and_its_void(api, funded, clock):
    t0 = clock.advance(seconds=1)
    clock.advance(seconds=1)
    hold = placed(api, funded.public_id, "40.00")
    t_hold = parse_instant(hold["created_at"])
    clock.advance(seconds=10)
    partial = captured(api, hold["id"], amount="15.00")
    t_capture = parse_instant(partial["created_at"])
    clock.advance(seconds=10)
    t_void = parse_instant(voided(api, hold["id"])["resolved_at"])
    clock.advance(seconds=10)
    second = placed(api, funded.public_id, "20.00")
    t_second = parse_instant(second["created_at"])
    clock.advance(seconds=10)
    final = captured(api, second["id"], amount="5.00", final=True)
    t_final = parse_instant(final["created_at"])
    clock.advance(seconds=10)

    tick = timedelta(microseconds=1)
    expected = [
        (t0, ("100.00", "100.00")),
        (t_hold - tick, ("100.00", "100.00")),
        (t_hold, ("100.00", "60.00")),
        (t_hold + timedelta(seconds=5), ("100.00", "60.00")),
        (t_capture - tick, ("100.00", "60.00")),
        (t_capture, ("85.00", "60.00")),
        (t_void - tick, ("85.00", "60.00")),
        (t_void, ("85.00", "85.00")),
        (t_second, ("85.00", "65.00")),
        (t_final - tick, ("85.00", "65.00")),
        (t_final, ("80.00", "80.00")),
        (t_final + timedelta(seconds=5), ("80.00", "80.00")),
    ]
    for at, (balance, available) in expected:
        assert balances(api, funded.public_id, at) == (balance, available), at
    assert balances(api, funded.public_id) == ("80.00", "80.00")
    assert balances(api, funded.public_id, clock.now() + timedelta(days=1)) == ("80.00", "80.00")


def test_the_available_balance_at_instants_around_an_expiry_recorded_or_not(api, funded, clock):
    hold = placed(api, funded.public_id, "40.00", expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    created, expires = parse_instant(hold["created_at"]), parse_instant(hold["expires_at"])
    clock.advance(minutes=1)
    partial = captured(api, hold["id"], amount="10.00")
    clock.moment = expires + timedelta(hours=1)
    tick = timedelta(microseconds=1)
    for _ in ("unrecorded", "recorded"):
        assert balances(api, funded.public_id, created - tick) == ("100.00", "100.00")
        assert balances(api, funded.public_id, created) == ("100.00", "60.00")
        assert balances(api, funded.public_id, partial["created_at"]) == ("90.00", "60.00")
        assert balances(api, funded.public_id, expires - tick) == ("90.00", "60.00")
        assert balances(api, funded.public_id, expires) == ("90.00", "90.00")
        assert balances(api, funded.public_id) == ("90.00", "90.00")
        deposited(api, funded.public_id, "0.01")  # Records the expiry.
        withdraw(api, funded.public_id, "0.01")
        assert Hold.objects.get(public_id=hold["id"]).status == "expired"


def test_a_malformed_at_is_a_validation_error(api, funded):
    assert_problem(api.get(f"/api/v1/accounts/{funded.public_id}/balance/?at=soon"), 400, "validation_error")


# --- idempotency ---------------------------------------------------------------------------------


def test_placing_a_hold_again_with_the_key_replays_it(api, funded):
    first = place_hold(api, funded.public_id, "40.00", key="hold-1", description="x")
    again = place_hold(api, funded.public_id, "40.00", key="hold-1", description="x")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Hold.objects.count() == 1
    assert reserved(funded) == 4000
    record = IdempotencyRecord.objects.get(key="hold-1")
    assert record.hold is not None
    assert str(record.hold.public_id) == body_of(first)["id"]
    before = state()
    assert_problem(place_hold(api, funded.public_id, "41.00", key="hold-1"), 422, "idempotency_key_reused")
    assert_problem(capture_hold(api, body_of(first)["id"], key="hold-1"), 422, "idempotency_key_reused")
    assert_problem(withdraw(api, funded.public_id, "1.00", key="hold-1"), 422, "idempotency_key_reused")
    assert state() == before


def test_a_capture_again_with_the_key_replays_it(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    first = capture_hold(api, hold["id"], key="cap-1", amount="10.00")
    again = capture_hold(api, hold["id"], key="cap-1", amount="10.00")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.filter(hold__public_id=hold["id"]).count() == 1
    before = state()
    assert_problem(capture_hold(api, hold["id"], key="cap-1", amount="11.00"), 422, "idempotency_key_reused")
    other = placed(api, funded.public_id, "1.00")
    before = state()
    assert_problem(capture_hold(api, other["id"], key="cap-1", amount="10.00"), 422, "idempotency_key_reused")
    assert state() == before


def test_a_void_again_with_the_key_replays_its_200(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    first = void_hold(api, hold["id"], key="void-1", reason="cancelled")
    again = void_hold(api, hold["id"], key="void-1", reason="cancelled")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get(key="void-1").response_status == 200
    before = state()
    assert_problem(void_hold(api, hold["id"], key="void-1", reason="other"), 422, "idempotency_key_reused")
    assert state() == before


@pytest.mark.parametrize("action", ["capture", "void"])
def test_a_capture_or_void_needs_an_idempotency_key(api, funded, action):
    hold = placed(api, funded.public_id, "40.00")
    before = state()
    response = api.post(f"/api/v1/holds/{hold['id']}/{action}/", {}, format="json")
    assert_problem(response, 400, "idempotency_key_required")
    response = api.post(f"/api/v1/holds/{hold['id']}/{action}/", {}, format="json", HTTP_IDEMPOTENCY_KEY="é")
    assert_problem(response, 400, "idempotency_key_required")
    assert state() == before


def test_a_refused_capture_binds_nothing_and_a_retry_may_succeed(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    freeze(funded)
    assert_problem(capture_hold(api, hold["id"], key="retry-1"), 422, "account_inactive")
    freeze(funded, "active")
    txn = assert_json(capture_hold(api, hold["id"], key="retry-1"), 201)
    assert txn["amount"] == "40.00"


# --- lists, reads and visibility ------------------------------------------------------------------


def test_the_list_is_newest_first_paged_and_filtered(api, funded, account, clock):
    savings = AccountFactory(owner=account.owner, currency="USD")
    deposited(api, savings.public_id, "10.00")
    first = placed(api, funded.public_id, "1.00")
    second = placed(api, funded.public_id, "2.00")
    third = placed(api, savings.public_id, "3.00")
    fourth = placed(api, funded.public_id, "4.00", expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    captured(api, first["id"])
    voided(api, second["id"])
    expire(clock, fourth)

    page = assert_page(api.get("/api/v1/holds/"))
    assert [h["id"] for h in page["results"]] == [fourth["id"], third["id"], second["id"], first["id"]]
    assert all(set(h) == HOLD_KEYS for h in page["results"])
    assert [h["status"] for h in page["results"]] == ["expired", "pending", "voided", "captured"]

    def ids(query: str) -> list[str]:
        return [h["id"] for h in assert_page(api.get(f"/api/v1/holds/?{query}"))["results"]]

    assert ids("status=pending") == [third["id"]]
    assert ids("status=expired") == [fourth["id"]]
    assert ids("status=voided") == [second["id"]]
    assert ids("status=captured") == [first["id"]]
    assert ids(f"account_id={savings.public_id}") == [third["id"]]
    assert ids(f"account_id={funded.public_id}&status=pending") == []
    assert ids("account_id=7c9e6679-7425-40de-944b-e07fc1f90ae7") == []

    one = assert_page(api.get("/api/v1/holds/?page_size=1"))
    assert [h["id"] for h in one["results"]] == [fourth["id"]]
    following = assert_page(api.get(one["next"]))
    assert [h["id"] for h in following["results"]] == [third["id"]]


@pytest.mark.parametrize(("query", "field"), [("status=open", "status"), ("account_id=nope", "account_id")])
def test_a_bad_filter_is_a_validation_error(api, funded, query, field):
    assert_problem(api.get(f"/api/v1/holds/?{query}"), 400, "validation_error", fields=(field,))


def test_a_bad_page_size_or_cursor_is_refused(api):
    assert_problem(api.get("/api/v1/holds/?page_size=0"), 400, "invalid_page_size")
    assert_problem(api.get("/api/v1/holds/?cursor=forged"), 400, "invalid_cursor")


def test_a_client_never_sees_or_touches_another_clients_holds(api, other_api, staff_api, funded, payee):
    deposited(other_api, payee.public_id, "50.00")
    mine = placed(api, funded.public_id, "40.00")
    theirs = placed(other_api, payee.public_id, "20.00")

    assert [h["id"] for h in assert_page(api.get("/api/v1/holds/"))["results"]] == [mine["id"]]
    assert [h["id"] for h in assert_page(other_api.get("/api/v1/holds/"))["results"]] == [theirs["id"]]
    assert assert_page(api.get(f"/api/v1/holds/?account_id={payee.public_id}"))["results"] == []
    listed = assert_page(staff_api.get("/api/v1/holds/"))["results"]
    assert [h["id"] for h in listed] == [theirs["id"], mine["id"]]
    assert assert_json(staff_api.get(f"/api/v1/holds/{mine['id']}/"), 200) == hold_of(api, mine["id"])

    before = state()
    assert_problem(api.get(f"/api/v1/holds/{theirs['id']}/"), 404, "not_found")
    assert_problem(capture_hold(api, theirs["id"]), 404, "not_found")
    assert_problem(void_hold(api, theirs["id"]), 404, "not_found")
    assert state() == before


@pytest.mark.parametrize("hold_id", ["not-a-uuid", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "1"])
def test_an_unknown_or_malformed_hold_id_is_not_found(api, funded, hold_id):
    before = state()
    assert_problem(api.get(f"/api/v1/holds/{hold_id}/"), 404, "not_found")
    assert_problem(capture_hold(api, hold_id), 404, "not_found")
    assert_problem(void_hold(api, hold_id), 404, "not_found")
    assert state() == before


def test_holds_need_a_token(db):
    from rest_framework.test import APIClient

    assert_problem(APIClient().get("/api/v1/holds/"), 401, "not_authenticated")


def test_a_hold_cannot_be_changed_or_deleted(api, funded):
    hold = placed(api, funded.public_id, "40.00")
    assert_problem(api.delete(f"/api/v1/holds/{hold['id']}/"), 405, "method_not_allowed")
    assert_problem(api.patch(f"/api/v1/holds/{hold['id']}/", {}, format="json"), 405, "method_not_allowed")
    assert_problem(api.get(f"/api/v1/holds/{hold['id']}/capture/"), 405, "method_not_allowed")


def test_staff_may_capture_and_void_a_clients_hold(api, staff_api, funded):
    hold = placed(api, funded.public_id, "40.00")
    txn = captured(staff_api, hold["id"], amount="10.00")
    assert txn["hold_id"] == hold["id"]
    assert voided(staff_api, hold["id"])["status"] == "voided"
    assert balances(api, funded.public_id) == ("90.00", "90.00")


# --- batches -------------------------------------------------------------------------------------


def post_batch(api, operations, *, key=None):
    return api.post(
        "/api/v1/batches/", {"operations": operations}, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key()
    )


def test_a_batch_places_holds_in_request_order_after_its_earlier_operations(api, account, payee):
    a = str(account.public_id)
    operations = [
        {"kind": "deposit", "account_id": a, "amount": "50.00"},
        {"kind": "hold", "account_id": a, "amount": "30.00", "reference": "first"},
        {"kind": "transfer", "source_account_id": a, "destination_account_id": str(payee.public_id), "amount": "5"},
        {"kind": "hold", "account_id": a, "amount": "15.00", "destination_account_id": str(payee.public_id)},
    ]
    batch = assert_json(post_batch(api, operations), 201)
    assert set(batch) == {"id", "transactions", "holds"}
    assert [txn["kind"] for txn in batch["transactions"]] == ["deposit", "transfer"]
    assert all(txn["hold_id"] is None for txn in batch["transactions"])
    assert [h["amount"] for h in batch["holds"]] == ["30.00", "15.00"]
    assert all(set(h) == HOLD_KEYS and h["status"] == "pending" for h in batch["holds"])
    assert batch["holds"][0]["reference"] == "first"
    assert batch["holds"][1]["destination_account_id"] == str(payee.public_id)
    assert balances(api, account.public_id) == ("45.00", "0.00")
    assert assert_json(api.get(f"/api/v1/batches/{batch['id']}/"), 200) == batch
    listed = [h["id"] for h in assert_page(api.get("/api/v1/holds/"))["results"]]
    assert listed == [batch["holds"][1]["id"], batch["holds"][0]["id"]]
    captured(api, batch["holds"][0]["id"])
    assert_books_balance()


def test_a_batch_of_holds_alone(api, funded):
    batch = assert_json(post_batch(api, [{"kind": "hold", "account_id": str(funded.public_id), "amount": "1"}]), 201)
    assert batch["transactions"] == []
    assert [h["amount"] for h in batch["holds"]] == ["1.00"]


def test_a_batch_without_holds_answers_an_empty_list(api, account):
    batch = assert_json(
        post_batch(api, [{"kind": "deposit", "account_id": str(account.public_id), "amount": "1"}]), 201
    )
    assert batch["holds"] == []


def test_a_refused_hold_in_a_batch_posts_nothing(api, funded):
    a = str(funded.public_id)
    before = state()
    operations = [
        {"kind": "deposit", "account_id": a, "amount": "10.00"},
        {"kind": "hold", "account_id": a, "amount": "60.00"},
        {"kind": "hold", "account_id": a, "amount": "50.01"},  # 110.00 - 60.00 available.
    ]
    problem = assert_problem(post_batch(api, operations), 422, "insufficient_funds")
    assert problem["operation"] == 2
    assert state() == before
    assert not Batch.objects.exists()
    assert not Hold.objects.exists()


def test_a_hold_in_a_batch_with_a_bad_expiry_names_its_operation(api, funded):
    a = str(funded.public_id)
    before = state()
    past = (timezone.now() - timedelta(days=1)).isoformat()
    operations = [
        {"kind": "deposit", "account_id": a, "amount": "10.00"},
        {"kind": "hold", "account_id": a, "amount": "1.00", "expires_at": past},
    ]
    problem = assert_problem(post_batch(api, operations), 400, "validation_error", fields=("operations.1.expires_at",))
    assert problem["operation"] == 1
    operations[1]["expires_at"] = "whenever"
    problem = assert_problem(post_batch(api, operations), 400, "validation_error", fields=("operations.1.expires_at",))
    assert problem["operation"] == 1
    assert state() == before


def test_a_batch_replays_its_holds(api, funded):
    operations = [{"kind": "hold", "account_id": str(funded.public_id), "amount": "1"}]
    first = post_batch(api, operations, key="batch-holds")
    again = post_batch(api, operations, key="batch-holds")
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Hold.objects.count() == 1

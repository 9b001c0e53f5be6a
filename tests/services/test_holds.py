"""The hold services (``transactions.holds``), called directly: every rule and every refusal.

A hold is checked as a ledger's user would: the account's balance (unchanged by a hold), its
reservation and available balance, the hold's status, captured and remaining amounts, and the
transactions its captures post. Every refusal raises its exact error class and leaves the books
as they were (balances, reservations, holds, transactions, postings, idempotency records).
Positive tests end with the accounting equation (:func:`harness.books.assert_books_balance`).
"""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, Hold
from harness.books import assert_books_balance
from ledger.errors import (
    AccountInactive,
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldNotPending,
    InsufficientFunds,
    NotFound,
    SameAccount,
    ValidationFailed,
)
from tests.factories import AccountFactory
from tests.holds import lapse
from transactions.engine.idempotency import IdempotencyClaim
from transactions.holds import hold_capture, hold_create, hold_void, holds_expire
from transactions.models import IdempotencyRecord, Posting, Transaction
from transactions.services import batch_post, deposit_create, transaction_reverse, transfer_create, withdrawal_create

pytestmark = pytest.mark.django_db


def ledger_state():
    """Everything a refused request must leave exactly as it was."""
    return {
        "accounts": {
            a.public_id: (a.balance_minor, a.reserved_minor, a.last_sequence, a.status)
            for a in Account.objects.order_by("pk")
        },
        "holds": sorted(Hold.objects.values_list("public_id", "status", "captured_minor", "resolved_at")),
        "transactions": sorted(Transaction.objects.values_list("public_id", "status")),
        "postings": Posting.objects.count(),
        "idempotency_records": IdempotencyRecord.objects.count(),
    }


@contextmanager
def refused(error_class):
    """Expect exactly ``error_class`` and no change to the books."""
    before = ledger_state()
    with pytest.raises(error_class) as info:
        yield info
    assert type(info.value) is error_class
    assert ledger_state() == before


def fresh(account):
    return Account.objects.get(pk=account.pk)


def money(account):
    """``(balance, reserved, available)`` of an account, in minor units, as stored now."""
    row = fresh(account)
    return row.balance_minor, row.reserved_minor, row.available_balance_minor


def hold(account, amount, actor=None, **kwargs):
    return hold_create(actor=actor or account.owner, account_id=account.public_id, amount=amount, **kwargs)


def capture(held, actor=None, **kwargs):
    return hold_capture(actor=actor or held.account.owner, hold_id=held.public_id, **kwargs)


def void(held, actor=None, **kwargs):
    return hold_void(actor=actor or held.account.owner, hold_id=held.public_id, **kwargs)


@pytest.fixture
def funded(account):
    """``account`` (USD, owned by ``user``) holding 100.00."""
    deposit_create(actor=account.owner, account_id=account.public_id, amount=Decimal("100.00"))
    return fresh(account)


@pytest.fixture
def payee(other_user):
    return AccountFactory(owner=other_user, currency="USD")


class TestPlacing:
    def test_a_hold_reserves_without_moving_money(self, user, funded):
        postings = Posting.objects.count()
        held = hold(funded, "30.00", description="card auth", reference="auth-1", metadata={"mcc": "5411"})

        assert money(funded) == (10000, 3000, 7000)
        assert Posting.objects.count() == postings
        held.refresh_from_db()
        assert (held.status, held.amount_minor, held.captured_minor, held.currency) == ("pending", 3000, 0, "USD")
        assert (held.description, held.reference, held.metadata) == ("card auth", "auth-1", {"mcc": "5411"})
        assert held.created_by == user
        assert held.destination_account_id is None
        assert held.resolved_at is None
        assert_books_balance()

    def test_the_default_expiry_is_seven_days_and_thirty_days_is_the_most(self, funded):
        before = timezone.now()
        held = hold(funded, "1.00")
        assert before + timedelta(days=7) <= held.expires_at <= timezone.now() + timedelta(days=7)
        latest = timezone.now() + timedelta(days=30) - timedelta(seconds=5)
        assert hold(funded, "1.00", expires_at=latest).expires_at == latest

    @pytest.mark.parametrize(
        "expires_in", [timedelta(seconds=-1), timedelta(0), timedelta(days=30, seconds=5), timedelta(days=365)]
    )
    def test_an_expiry_in_the_past_or_beyond_thirty_days_is_refused(self, funded, expires_in):
        with refused(ValidationFailed) as info:
            hold(funded, "1.00", expires_at=timezone.now() + expires_in)
        assert list(info.value.errors) == ["expires_at"]

    def test_a_hold_above_the_available_balance_is_refused(self, funded):
        hold(funded, "60.00")
        with refused(InsufficientFunds):
            hold(funded, "40.01")
        hold(funded, "40.00")
        assert money(funded) == (10000, 10000, 0)

    def test_a_withdrawal_or_transfer_may_not_spend_what_is_held(self, funded, payee):
        hold(funded, "80.00")
        with refused(InsufficientFunds):
            withdrawal_create(actor=funded.owner, account_id=funded.public_id, amount=Decimal("20.01"))
        with refused(InsufficientFunds):
            transfer_create(
                actor=funded.owner,
                source_account_id=funded.public_id,
                destination_account_id=payee.public_id,
                amount=Decimal("20.01"),
            )
        withdrawal_create(actor=funded.owner, account_id=funded.public_id, amount=Decimal("20.00"))
        assert money(funded) == (8000, 8000, 0)
        assert_books_balance()

    def test_a_reversal_may_not_take_back_what_is_held(self, staff, funded, payee):
        incoming = transfer_create(
            actor=funded.owner,
            source_account_id=funded.public_id,
            destination_account_id=payee.public_id,
            amount=Decimal("50.00"),
        )
        hold(payee, "30.00")
        with refused(InsufficientFunds):
            transaction_reverse(actor=staff, transaction_id=incoming.public_id, reason="dispute")

    def test_someone_elses_account_is_not_found(self, funded, other_user):
        with refused(NotFound):
            hold(funded, "1.00", actor=other_user)

    def test_a_hold_with_a_destination_follows_the_rules_of_a_transfer(self, user, funded, payee):
        euro = AccountFactory(owner=user, currency="EUR")
        with refused(SameAccount):
            hold(funded, "1.00", destination_account_id=funded.public_id)
        with refused(CurrencyMismatch):
            hold(funded, "1.00", destination_account_id=euro.public_id)
        Account.objects.filter(pk=payee.pk).update(status=Account.Status.FROZEN)
        with refused(AccountInactive):
            hold(funded, "1.00", destination_account_id=payee.public_id)
        with refused(ValidationFailed):  # As for a transfer: a system account is never posted to directly.
            hold(funded, "1.00", destination_account_id=Account.objects.get(is_system=True, currency="USD").public_id)

    @pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
    def test_an_inactive_account_places_no_hold(self, funded, status):
        Account.objects.filter(pk=funded.pk).update(status=status)
        with refused(AccountInactive):
            hold(funded, "1.00")

    @pytest.mark.parametrize("amount", ["0", "-1.00", "1.001", "abc"])
    def test_an_amount_that_is_not_positive_money_of_the_currency_is_refused(self, funded, amount):
        with refused(ValidationFailed):
            hold(funded, amount)


class TestCapturing:
    def test_partial_captures_then_the_rest(self, funded):
        held = hold(funded, "60.00")
        first = capture(held, amount="10.00", description="first shipment")

        assert (first.kind, first.amount_minor, first.source_account_id, first.hold_id) == (
            "withdrawal",
            1000,
            funded.pk,
            held.pk,
        )
        assert first.description == "first shipment"
        assert money(funded) == (9000, 5000, 4000)
        held.refresh_from_db()
        assert (held.status, held.captured_minor) == ("pending", 1000)

        rest = capture(held)  # The default: what the hold still reserves.
        assert rest.amount_minor == 5000
        held.refresh_from_db()
        assert (held.status, held.captured_minor, held.resolved_at) == ("captured", 6000, rest.created_at)
        assert money(funded) == (4000, 0, 4000)
        assert [t.pk for t in held.captures.order_by("pk")] == [first.pk, rest.pk]
        assert_books_balance()

    def test_a_final_capture_releases_the_rest(self, funded):
        held = hold(funded, "60.00")
        capture(held, amount="25.00", final=True)
        held.refresh_from_db()
        assert (held.status, held.captured_minor) == ("captured", 2500)
        assert money(funded) == (7500, 0, 7500)
        with refused(HoldNotPending):
            capture(held, amount="1.00")

    def test_a_capture_with_a_destination_is_a_transfer_to_it(self, funded, payee):
        held = hold(funded, "40.00", destination_account_id=payee.public_id)
        txn = capture(held, amount="15.00")
        assert (txn.kind, txn.source_account_id, txn.destination_account_id) == ("transfer", funded.pk, payee.pk)
        assert money(payee) == (1500, 0, 1500)
        assert money(funded) == (8500, 2500, 6000)
        assert_books_balance()

    def test_captures_never_exceed_the_hold(self, funded):
        held = hold(funded, "30.00")
        capture(held, amount="20.00")
        with refused(CaptureExceedsHold):
            capture(held, amount="10.01")

    def test_a_capture_is_never_refused_for_funds_it_reserved(self, funded):
        held = hold(funded, "100.00")
        assert capture(held, amount="100.00").amount_minor == 10000
        assert money(funded) == (0, 0, 0)

    @pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
    def test_a_capture_on_an_inactive_account_is_refused_and_the_hold_stays_pending(self, funded, status):
        held = hold(funded, "30.00")
        Account.objects.filter(pk=funded.pk).update(status=status)
        with refused(AccountInactive):
            capture(held)
        held.refresh_from_db()
        assert held.status == "pending"

    def test_a_capture_to_a_frozen_destination_is_refused(self, funded, payee):
        held = hold(funded, "30.00", destination_account_id=payee.public_id)
        Account.objects.filter(pk=payee.pk).update(status=Account.Status.FROZEN)
        with refused(AccountInactive):
            capture(held)

    def test_only_the_held_accounts_owner_or_staff_may_capture(self, funded, other_user, staff):
        held = hold(funded, "30.00")
        with refused(NotFound):
            capture(held, actor=other_user)
        assert capture(held, actor=staff, amount="1.00").posted_by == staff

    def test_a_reversal_of_a_capture_returns_the_money_and_does_not_reopen_the_hold(self, staff, funded):
        held = hold(funded, "30.00")
        txn = capture(held)
        transaction_reverse(actor=staff, transaction_id=txn.public_id, reason="refund")
        held.refresh_from_db()
        assert (held.status, held.captured_minor) == ("captured", 3000)
        assert money(funded) == (10000, 0, 10000)
        assert_books_balance()


class TestVoiding:
    def test_a_void_releases_what_the_hold_still_reserves(self, funded):
        held = hold(funded, "60.00")
        capture(held, amount="10.00")
        voided = void(held, reason="order cancelled")
        assert (voided.status, voided.captured_minor, voided.resolution_reason) == ("voided", 1000, "order cancelled")
        held.refresh_from_db()
        assert held.status == "voided"
        assert held.resolved_at is not None
        assert money(funded) == (9000, 0, 9000)
        assert_books_balance()

    def test_a_hold_on_a_frozen_account_may_be_voided(self, funded):
        held = hold(funded, "60.00")
        Account.objects.filter(pk=funded.pk).update(status=Account.Status.FROZEN)
        assert void(held).status == "voided"
        assert money(funded) == (10000, 0, 10000)

    def test_a_hold_leaves_pending_once(self, funded):
        voided, captured = hold(funded, "10.00"), hold(funded, "10.00")
        void(voided)
        capture(captured)
        for done in (voided, captured):
            with refused(HoldNotPending):
                void(done)
            with refused(HoldNotPending):
                capture(done, amount="1.00")

    def test_an_operators_void_needs_a_reason_and_is_audited(self, staff, funded):
        from audit.models import AuditRecord

        held = hold(funded, "10.00")
        with refused(ValidationFailed):
            void(held, actor=staff, reason="  ", via="admin")
        void(held, actor=staff, reason="duplicate authorization", via="admin", ip_address="10.0.0.1")
        record = AuditRecord.objects.get(target_id=str(held.public_id))
        assert (record.action, record.reason, record.operator, record.ip_address) == (
            "void_hold",
            "duplicate authorization",
            staff,
            "10.0.0.1",
        )

    def test_someone_elses_hold_is_not_found(self, funded, other_user):
        held = hold(funded, "10.00")
        with refused(NotFound):
            void(held, actor=other_user)


class TestExpiry:
    def test_an_expired_hold_reserves_nothing_before_its_expiry_is_recorded(self, funded):
        held = hold(funded, "60.00")
        lapse(held)
        assert money(funded) == (10000, 6000, 10000)  # Stored as reserved, available all the same.
        held.refresh_from_db()
        assert held.status_at(timezone.now()) == "expired"

    def test_a_write_on_the_account_records_the_expiry_and_may_spend_what_it_held(self, funded):
        held = hold(funded, "60.00")
        lapse(held)
        withdrawal_create(actor=funded.owner, account_id=funded.public_id, amount=Decimal("100.00"))
        held.refresh_from_db()
        assert (held.status, held.resolved_at) == ("expired", held.expires_at)
        assert money(funded) == (0, 0, 0)
        assert_books_balance()

    def test_an_expired_hold_cannot_be_captured_or_voided(self, funded):
        held = hold(funded, "60.00")
        lapse(held)
        with refused(HoldNotPending):
            capture(held)
        with refused(HoldNotPending):
            void(held)

    def test_expire_holds_records_each_expiry_once(self, funded, payee):
        first, second, open_ = hold(funded, "10.00"), hold(funded, "20.00"), hold(funded, "30.00")
        capture(second, amount="5.00")
        lapse(first)
        lapse(second)

        assert holds_expire() == 2
        assert holds_expire() == 0
        statuses = dict(Hold.objects.values_list("pk", "status"))
        assert statuses == {first.pk: "expired", second.pk: "expired", open_.pk: "pending"}
        assert money(funded) == (9500, 3000, 6500)
        assert_books_balance()


class TestBatchesAndIdempotency:
    def test_a_batch_places_holds_after_its_earlier_operations(self, funded):
        batch = batch_post(
            actor=funded.owner,
            operations=[
                {"kind": "deposit", "account_id": funded.public_id, "amount": "50.00"},
                {"kind": "hold", "account_id": funded.public_id, "amount": "150.00"},
            ],
        )
        [held] = batch.holds.all()
        assert held.amount_minor == 15000
        assert money(funded) == (15000, 15000, 0)

    def test_a_refused_hold_refuses_the_whole_batch(self, funded):
        with refused(InsufficientFunds) as info:
            batch_post(
                actor=funded.owner,
                operations=[
                    {"kind": "hold", "account_id": funded.public_id, "amount": "60.00"},
                    {"kind": "withdrawal", "account_id": funded.public_id, "amount": "50.00"},
                ],
            )
        assert info.value.extra["operation"] == 1

    def test_a_bad_expiry_in_a_batch_names_its_operation(self, funded):
        with refused(ValidationFailed) as info:
            batch_post(
                actor=funded.owner,
                operations=[
                    {"kind": "hold", "account_id": funded.public_id, "amount": "1.00"},
                    {"kind": "hold", "account_id": funded.public_id, "amount": "1.00", "expires_at": timezone.now()},
                ],
            )
        assert info.value.extra["operation"] == 1
        assert list(info.value.errors) == ["operations.1.expires_at"]

    def test_the_key_is_bound_to_the_hold_and_a_void_answers_200(self, user, funded):
        def claim(key, status=201):
            return IdempotencyClaim(
                client=user, key=key, fingerprint="f" * 64, render=lambda h: str(h.public_id).encode(), status=status
            )

        held = hold(funded, "10.00", idempotency=claim("place-1"))
        assert IdempotencyRecord.objects.get(key="place-1").hold == held
        void(held, idempotency=claim("void-1", status=200))
        record = IdempotencyRecord.objects.get(key="void-1")
        assert (record.hold, record.response_status) == (held, 200)

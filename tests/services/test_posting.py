"""The posting service (``transactions.services``), called directly: every rule and every refusal.

Money movements are checked the way a ledger's user would check them: the signed postings,
their running balances and per-account sequence numbers, the stored balances, and the
transaction record itself. Every refusal must raise its exact error class and leave the
books exactly as they were (balances, sequences, and the number of transactions, postings
and idempotency records). Positive tests end with the accounting equation
(:func:`harness.books.assert_books_balance`). On PostgreSQL, Django's test teardown also runs
the deferred commit-time balance triggers over everything these tests wrote.
"""

import uuid
from contextlib import contextmanager
from decimal import Decimal, localcontext

import pytest
from django.db import IntegrityError
from django.db.models import Sum

from accounts.models import Account
from accounts.selectors import with_balances
from harness.books import assert_books_balance
from ledger.errors import (
    AccountInactive,
    AlreadyReversed,
    CurrencyMismatch,
    InsufficientFunds,
    LimitExceeded,
    NotFound,
    ReversalNotAllowed,
    SameAccount,
    ValidationFailed,
)
from ledger.money import BALANCE_LIMIT, format_minor, from_minor, to_minor
from tests.factories import AccountFactory
from transactions.engine.idempotency import IdempotencyClaim
from transactions.models import IdempotencyRecord, Posting, Transaction
from transactions.services import deposit_create, transaction_reverse, transfer_create, withdrawal_create

pytestmark = pytest.mark.django_db


# --- helpers --------------------------------------------------------------------------------


def ledger_state():
    """Everything a refused request must leave exactly as it was."""
    return {
        "accounts": {a.public_id: (a.balance_minor, a.last_sequence, a.status) for a in Account.objects.order_by("pk")},
        "transactions": sorted(Transaction.objects.values_list("public_id", "status")),
        "postings": Posting.objects.count(),
        "idempotency_records": IdempotencyRecord.objects.count(),
    }


@contextmanager
def refused(error_class):
    """Expect exactly ``error_class`` (not a subclass, not a sibling) and no change to the books."""
    before = ledger_state()
    with pytest.raises(error_class) as info:
        yield info
    assert type(info.value) is error_class
    assert ledger_state() == before


def system_account(currency="USD"):
    return Account.objects.get(is_system=True, currency=currency)


def balance(account):
    """What the account holds: its stored balance (a system account's derived one)."""
    return with_balances(Account.objects.filter(pk=account.pk)).get().current_balance_minor


def world_postings(currency="USD"):
    """The sum of the system account's postings: its balance, as derived from what moved."""
    return Posting.objects.filter(account=system_account(currency)).aggregate(total=Sum("amount_minor"))["total"] or 0


def legs(txn):
    """``{account: (amount, balance_after, sequence)}`` for a transaction's postings, from the database."""
    return {
        p.account.public_id: (p.amount_minor, p.balance_after_minor, p.sequence)
        for p in Posting.objects.filter(transaction=txn).select_related("account")
    }


def history(account):
    """``[(sequence, amount, balance_after), ...]`` of an account, oldest first."""
    return list(
        Posting.objects.filter(account=account)
        .order_by("sequence")
        .values_list("sequence", "amount_minor", "balance_after_minor")
    )


def deposit(account, amount, actor=None, **kwargs):
    return deposit_create(actor=actor or account.owner, account_id=account.public_id, amount=Decimal(amount), **kwargs)


def withdraw(account, amount, actor=None, **kwargs):
    return withdrawal_create(
        actor=actor or account.owner, account_id=account.public_id, amount=Decimal(amount), **kwargs
    )


def transfer(source, destination, amount, actor=None, **kwargs):
    return transfer_create(
        actor=actor or source.owner,
        source_account_id=source.public_id,
        destination_account_id=destination.public_id,
        amount=Decimal(amount),
        **kwargs,
    )


def reverse(txn, actor, reason="customer dispute"):
    return transaction_reverse(actor=actor, transaction_id=txn.public_id, reason=reason)


def set_status(account, status):
    Account.objects.filter(pk=account.pk).update(status=status)


def claim_for(client, key):
    return IdempotencyClaim(
        client=client, key=key, fingerprint="f" * 64, render=lambda txn: f'{{"id": "{txn.public_id}"}}'.encode()
    )


@pytest.fixture
def funded(account):
    """``account`` (USD, owned by ``user``) holding 100.00."""
    deposit(account, "100.00")
    return account


@pytest.fixture
def payee(other_user):
    """An empty USD account of another client."""
    return AccountFactory(owner=other_user, currency="USD")


# --- deposits -------------------------------------------------------------------------------


class TestDeposit:
    def test_credits_the_account_and_debits_the_system_account(self, user, account):
        txn = deposit(account, "25.50", description="salary", reference="ref-1", metadata={"payroll": "june"})
        system = system_account()

        txn.refresh_from_db()
        assert (txn.kind, txn.status, txn.amount_minor, txn.currency) == ("deposit", "posted", 2550, "USD")
        assert txn.source_account_id is None
        assert txn.destination_account_id == account.pk
        assert txn.posted_by == user
        assert (txn.description, txn.reference, txn.metadata) == ("salary", "ref-1", {"payroll": "june"})
        assert txn.reverses_id is None
        assert legs(txn) == {account.public_id: (2550, 2550, 1), system.public_id: (-2550, None, None)}
        assert {p.created_at for p in Posting.objects.filter(transaction=txn)} == {txn.created_at}
        assert balance(account) == 2550
        assert balance(system) == -2550
        assert_books_balance()

    def test_jpy_amounts_are_whole_yen(self, user):
        yen = AccountFactory(owner=user, currency="JPY")
        txn = deposit(yen, "1500")
        assert (txn.amount_minor, txn.currency) == (1500, "JPY")
        assert balance(yen) == 1500
        assert balance(system_account("JPY")) == -1500
        assert_books_balance()

    @pytest.mark.parametrize(
        ("currency", "amount", "minor"),
        [
            ("USD", "0.01", 1),
            ("USD", "12.3", 1230),
            ("USD", "999999999999999.99", 99999999999999999),  # the largest amount allowed
            ("JPY", "7", 7),
            ("JPY", "1E+3", 1000),
            ("JPY", "999999999999999", 999999999999999),
        ],
    )
    def test_amounts_convert_exactly_to_minor_units(self, user, currency, amount, minor):
        target = AccountFactory(owner=user, currency=currency)
        txn = deposit(target, amount)
        assert txn.amount_minor == minor
        assert balance(target) == minor
        assert_books_balance()

    def test_staff_may_deposit_into_any_clients_account(self, staff, account):
        txn = deposit(account, "10.00", actor=staff)
        assert txn.posted_by == staff
        assert balance(account) == 1000
        assert_books_balance()

    def test_into_a_missing_account_is_not_found(self, user, account):
        with refused(NotFound) as info:
            deposit_create(actor=user, account_id=uuid.uuid4(), amount=Decimal("10"))
        assert list(info.value.errors) == ["account_id"]

    def test_into_another_clients_account_is_not_found(self, other_user, account):
        with refused(NotFound):
            deposit(account, "10.00", actor=other_user)

    def test_a_client_cannot_address_the_system_account(self, user, account):
        with refused(NotFound):
            deposit_create(actor=user, account_id=system_account().public_id, amount=Decimal("10"))

    def test_even_staff_cannot_post_directly_to_the_system_account(self, staff, account):
        with refused(ValidationFailed) as info:
            deposit_create(actor=staff, account_id=system_account().public_id, amount=Decimal("10"))
        assert list(info.value.errors) == ["account_id"]

    @pytest.mark.parametrize(
        ("currency", "amount"),
        [
            ("USD", "1.005"),
            ("USD", "0.001"),
            ("USD", "1.0000000000000000000000000000000000001"),  # 38 decimals, beyond any context precision
            ("USD", "1.000"),  # decimal places as written: more than USD has, though the value is 1.00
            ("USD", "10.2500"),
            ("JPY", "10.0"),
            ("JPY", "1.5"),
            ("JPY", "0.1"),
        ],
    )
    def test_more_decimals_than_the_currency_has_are_refused_not_rounded(self, user, currency, amount):
        target = AccountFactory(owner=user, currency=currency)
        with refused(ValidationFailed) as info:
            deposit(target, amount)
        assert list(info.value.errors) == ["amount"]

    @pytest.mark.parametrize("amount", ["1000000000000000", "1E+15", "1000000000000000.00"])
    def test_amounts_from_ten_to_the_fifteenth_up_are_refused(self, account, amount):
        with refused(ValidationFailed):
            deposit(account, amount)

    @pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
    def test_non_finite_amounts_are_refused(self, account, amount):
        with refused(ValidationFailed):
            deposit(account, amount)

    @pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
    def test_into_a_frozen_or_closed_account_is_refused(self, account, status):
        set_status(account, status)
        with refused(AccountInactive):
            deposit(account, "10.00")

    @pytest.mark.parametrize("amount", ["0", "0.00", "-5.00"])
    def test_zero_or_negative_amounts_are_refused_as_invalid(self, funded, amount):
        with refused(ValidationFailed):
            deposit(funded, amount)


# --- withdrawals ----------------------------------------------------------------------------


class TestWithdrawal:
    def test_debits_the_account_and_credits_the_system_account(self, user, funded):
        txn = withdraw(funded, "40.25", description="cash", reference="atm-7")
        system = system_account()

        txn.refresh_from_db()
        assert (txn.kind, txn.status, txn.amount_minor, txn.currency) == ("withdrawal", "posted", 4025, "USD")
        assert txn.source_account_id == funded.pk
        assert txn.destination_account_id is None
        assert txn.posted_by == user
        assert (txn.description, txn.reference) == ("cash", "atm-7")
        assert legs(txn) == {funded.public_id: (-4025, 5975, 2), system.public_id: (4025, None, None)}
        assert {p.created_at for p in Posting.objects.filter(transaction=txn)} == {txn.created_at}
        assert balance(funded) == 5975
        assert balance(system) == -5975
        assert_books_balance()

    def test_the_whole_balance_may_be_withdrawn(self, funded):
        withdraw(funded, "100.00")
        assert balance(funded) == 0
        assert balance(system_account()) == 0
        assert_books_balance()

    def test_more_than_the_balance_is_insufficient_funds(self, funded):
        with refused(InsufficientFunds):
            withdraw(funded, "100.01")

    def test_from_an_empty_account_is_insufficient_funds(self, account):
        with refused(InsufficientFunds):
            withdraw(account, "0.01")

    def test_staff_may_withdraw_from_any_clients_account(self, staff, funded):
        txn = withdraw(funded, "10.00", actor=staff)
        assert txn.posted_by == staff
        assert balance(funded) == 9000
        assert_books_balance()

    def test_from_another_clients_account_is_not_found(self, other_user, funded):
        with refused(NotFound):
            withdraw(funded, "10.00", actor=other_user)

    def test_from_a_missing_account_is_not_found(self, user, funded):
        with refused(NotFound):
            withdrawal_create(actor=user, account_id=uuid.uuid4(), amount=Decimal("1"))

    def test_staff_cannot_withdraw_from_the_system_account(self, staff, funded):
        with refused(ValidationFailed):
            withdrawal_create(actor=staff, account_id=system_account().public_id, amount=Decimal("1"))

    def test_more_decimals_than_the_currency_has_are_refused(self, funded):
        with refused(ValidationFailed):
            withdraw(funded, "1.005")

    @pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
    def test_from_a_frozen_or_closed_account_is_refused(self, funded, status):
        set_status(funded, status)
        with refused(AccountInactive):
            withdraw(funded, "10.00")


# --- transfers ------------------------------------------------------------------------------


class TestTransfer:
    def test_a_client_may_pay_another_clients_account(self, user, funded, payee):
        system_before = balance(system_account())
        txn = transfer(funded, payee, "30.00", description="rent", reference="inv-42", metadata={"month": 6})

        txn.refresh_from_db()
        assert (txn.kind, txn.status, txn.amount_minor, txn.currency) == ("transfer", "posted", 3000, "USD")
        assert (txn.source_account_id, txn.destination_account_id) == (funded.pk, payee.pk)
        assert txn.posted_by == user
        assert (txn.description, txn.reference, txn.metadata) == ("rent", "inv-42", {"month": 6})
        assert legs(txn) == {funded.public_id: (-3000, 7000, 2), payee.public_id: (3000, 3000, 1)}
        assert {p.created_at for p in Posting.objects.filter(transaction=txn)} == {txn.created_at}
        assert (balance(funded), balance(payee)) == (7000, 3000)
        assert balance(system_account()) == system_before  # the world is not involved
        assert_books_balance()

    def test_the_whole_balance_may_be_transferred(self, funded, payee):
        transfer(funded, payee, "100")
        assert (balance(funded), balance(payee)) == (0, 10000)
        assert_books_balance()

    def test_between_jpy_accounts(self, user, other_user):
        source = AccountFactory(owner=user, currency="JPY")
        destination = AccountFactory(owner=other_user, currency="JPY")
        deposit(source, "1000")
        txn = transfer(source, destination, "999")
        assert txn.amount_minor == 999
        assert (balance(source), balance(destination)) == (1, 999)
        assert_books_balance()

    def test_staff_may_move_money_between_any_clients_accounts(self, staff, funded, payee):
        txn = transfer(funded, payee, "12.34", actor=staff)
        assert txn.posted_by == staff
        assert (balance(funded), balance(payee)) == (10000 - 1234, 1234)
        assert_books_balance()

    def test_a_client_cannot_pay_from_another_clients_account(self, other_user, funded, payee):
        with refused(NotFound) as info:
            transfer(funded, payee, "10.00", actor=other_user)
        assert list(info.value.errors) == ["source_account_id"]

    def test_from_a_missing_account_is_not_found(self, user, payee, funded):
        with refused(NotFound) as info:
            transfer_create(
                actor=user, source_account_id=uuid.uuid4(), destination_account_id=payee.public_id, amount=Decimal(1)
            )
        assert list(info.value.errors) == ["source_account_id"]

    def test_to_a_missing_account_is_not_found(self, user, funded):
        with refused(NotFound) as info:
            transfer_create(
                actor=user, source_account_id=funded.public_id, destination_account_id=uuid.uuid4(), amount=Decimal(1)
            )
        assert list(info.value.errors) == ["destination_account_id"]

    def test_to_the_system_account_is_invalid(self, user, funded):
        with refused(ValidationFailed) as info:
            transfer_create(
                actor=user,
                source_account_id=funded.public_id,
                destination_account_id=system_account().public_id,
                amount=Decimal(1),
            )
        assert list(info.value.errors) == ["destination_account_id"]

    def test_from_the_system_account_is_invalid_even_for_staff(self, staff, payee, funded):
        with refused(ValidationFailed):
            transfer_create(
                actor=staff,
                source_account_id=system_account().public_id,
                destination_account_id=payee.public_id,
                amount=Decimal(1),
            )

    def test_to_the_same_account_is_refused(self, funded):
        with refused(SameAccount):
            transfer(funded, funded, "1.00")

    def test_between_currencies_is_refused(self, user, funded):
        yen = AccountFactory(owner=user, currency="JPY")
        with refused(CurrencyMismatch):
            transfer(funded, yen, "1")

    def test_more_than_the_balance_is_insufficient_funds(self, funded, payee):
        with refused(InsufficientFunds):
            transfer(funded, payee, "100.01")

    @pytest.mark.parametrize(("currency", "amount"), [("USD", "1.005"), ("JPY", "1.5")])
    def test_more_decimals_than_the_currency_has_are_refused(self, user, other_user, currency, amount):
        source = AccountFactory(owner=user, currency=currency)
        destination = AccountFactory(owner=other_user, currency=currency)
        deposit(source, "100")
        with refused(ValidationFailed):
            transfer(source, destination, amount)

    @pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
    @pytest.mark.parametrize("side", ["source", "destination"])
    def test_with_a_frozen_or_closed_account_on_either_side_is_refused(self, funded, payee, side, status):
        set_status(funded if side == "source" else payee, status)
        with refused(AccountInactive):
            transfer(funded, payee, "10.00")

    def test_a_negative_amount_cannot_pull_money_from_the_payee(self, funded, payee):
        deposit(payee, "50.00", actor=payee.owner)
        before = ledger_state()
        with pytest.raises((ValidationFailed, IntegrityError)):
            transfer(funded, payee, "-50.00")
        assert ledger_state() == before

    def test_a_negative_amount_is_refused_as_invalid(self, funded, payee):
        deposit(payee, "50.00", actor=payee.owner)
        with refused(ValidationFailed):
            transfer(funded, payee, "-50.00")


# --- sequences, idempotency and limits ------------------------------------------------------


def test_each_account_numbers_its_postings_1_2_3_with_running_balances(funded, payee):
    transfer(funded, payee, "30.00")
    withdraw(funded, "20.00")
    deposit(payee, "5.00")
    system = system_account()

    assert history(funded) == [(1, 10000, 10000), (2, -3000, 7000), (3, -2000, 5000)]
    assert history(payee) == [(1, 3000, 3000), (2, 500, 3500)]
    # The outside world numbers nothing and stores no balance: no deposit or withdrawal waits for another.
    assert history(system) == [(None, -10000, None), (None, 2000, None), (None, -500, None)]
    assert [Account.objects.get(pk=a.pk).last_sequence for a in (funded, payee, system)] == [3, 2, 0]
    assert (balance(system), world_postings()) == (-8500, -8500)
    assert_books_balance()


def test_a_posting_binds_its_idempotency_key_to_the_transaction(user, account):
    txn = deposit(account, "10.00", idempotency=claim_for(user, "key-1"))
    record = IdempotencyRecord.objects.get(client=user, key="key-1")
    assert record.transaction == txn
    assert record.response_status == 201
    assert bytes(record.response_body) == f'{{"id": "{txn.public_id}"}}'.encode()
    assert_books_balance()


def test_a_refused_posting_binds_no_key_so_a_retry_may_succeed(user, account):
    with refused(InsufficientFunds):
        withdraw(account, "10.00", idempotency=claim_for(user, "key-1"))
    assert not IdempotencyRecord.objects.filter(key="key-1").exists()

    deposit(account, "10.00")
    txn = withdraw(account, "10.00", idempotency=claim_for(user, "key-1"))
    assert IdempotencyRecord.objects.get(client=user, key="key-1").transaction == txn
    assert_books_balance()


def test_a_balance_may_reach_but_not_pass_the_ledger_limit(user, account):
    largest = "999999999999999.99"  # 10^17 - 1 minor units, the largest single amount
    for _ in range(90):
        deposit(account, largest)
    deposit(account, "0.90")
    assert balance(account) == BALANCE_LIMIT

    with refused(LimitExceeded):
        deposit(account, "0.01")
    assert_books_balance()


# The world then owes more than 2**63 - 1 minor units: PostgreSQL sums bigints exactly (numeric), SQLite overflows.
@pytest.mark.postgres
def test_no_client_can_exhaust_the_outside_world(user, other_user, account):
    """The system account is every deposit's counterpart; it stores no balance a limit could bind.

    One client fills two accounts to the limit (the world then owes twice what a stored balance
    could hold); another client's deposit in the same currency still posts.
    """
    largest = "999999999999999.99"
    second = AccountFactory(owner=user, currency="USD")
    for target in (account, second):
        for _ in range(90):
            deposit(target, largest)
        deposit(target, "0.90")
    assert balance(system_account()) == world_postings() == -2 * BALANCE_LIMIT

    someone_else = AccountFactory(owner=other_user, currency="USD")
    deposit(someone_else, "10.00")
    assert balance(someone_else) == 1000
    assert balance(system_account()) == -2 * BALANCE_LIMIT - 1000
    assert_books_balance()


# --- reversals ------------------------------------------------------------------------------


class TestReversal:
    def test_of_a_deposit_takes_the_money_back_out(self, staff, account):
        original = deposit(account, "100.00")
        system = system_account()

        reversal = reverse(original, staff, reason="chargeback")

        original.refresh_from_db()
        reversal.refresh_from_db()
        assert (reversal.kind, reversal.status, reversal.amount_minor, reversal.currency) == (
            "reversal",
            "posted",
            10000,
            "USD",
        )
        assert (reversal.description, reversal.posted_by) == ("chargeback", staff)
        assert (reversal.source_account_id, reversal.destination_account_id) == (account.pk, None)
        assert original.status == "reversed"
        assert reversal.reverses == original
        assert original.reversed_by == reversal
        assert legs(reversal) == {account.public_id: (-10000, 0, 2), system.public_id: (10000, None, None)}
        assert {p.created_at for p in Posting.objects.filter(transaction=reversal)} == {reversal.created_at}
        assert (balance(account), balance(system)) == (0, 0)
        assert_books_balance()

    def test_of_a_withdrawal_puts_the_money_back(self, staff, funded):
        original = withdraw(funded, "40.00")
        system = system_account()

        reversal = reverse(original, staff)

        original.refresh_from_db()
        assert original.status == "reversed"
        assert original.reversed_by == reversal
        assert (reversal.source_account_id, reversal.destination_account_id) == (None, funded.pk)
        assert legs(reversal) == {funded.public_id: (4000, 10000, 3), system.public_id: (-4000, None, None)}
        assert (balance(funded), balance(system)) == (10000, -10000)
        assert_books_balance()

    def test_of_a_transfer_moves_the_money_back(self, staff, funded, payee):
        original = transfer(funded, payee, "30.00")

        reversal = reverse(original, staff)

        original.refresh_from_db()
        assert original.status == "reversed"
        assert original.reversed_by == reversal
        assert reversal.reverses == original
        assert (reversal.source_account_id, reversal.destination_account_id) == (payee.pk, funded.pk)
        assert legs(reversal) == {funded.public_id: (3000, 10000, 3), payee.public_id: (-3000, 0, 2)}
        assert (balance(funded), balance(payee)) == (10000, 0)
        assert_books_balance()

    def test_of_a_jpy_transfer_is_exact(self, staff, user, other_user):
        source = AccountFactory(owner=user, currency="JPY")
        destination = AccountFactory(owner=other_user, currency="JPY")
        deposit(source, "500")
        original = transfer(source, destination, "123")
        reversal = reverse(original, staff)
        assert (reversal.amount_minor, reversal.currency) == (123, "JPY")
        assert (balance(source), balance(destination)) == (500, 0)
        assert_books_balance()

    def test_a_second_reversal_is_refused(self, staff, funded):
        original = withdraw(funded, "10.00")
        reverse(original, staff)
        with refused(AlreadyReversed):
            reverse(original, staff)

    def test_a_reversal_cannot_be_reversed(self, staff, funded):
        reversal = reverse(withdraw(funded, "10.00"), staff)
        with refused(ReversalNotAllowed):
            reverse(reversal, staff)

    def test_of_a_missing_transaction_is_not_found(self, staff, funded):
        with refused(NotFound):
            transaction_reverse(actor=staff, transaction_id=uuid.uuid4(), reason="typo")

    def test_of_a_transfer_the_payee_already_spent_is_insufficient_funds(self, staff, funded, payee):
        original = transfer(funded, payee, "30.00")
        withdraw(payee, "25.00")

        with refused(InsufficientFunds):
            reverse(original, staff)
        original.refresh_from_db()
        assert original.status == "posted"
        assert not Transaction.objects.filter(reverses=original).exists()

    def test_of_a_deposit_already_withdrawn_is_insufficient_funds(self, staff, funded):
        original = deposit(funded, "10.00")
        withdraw(funded, "105.00")
        with refused(InsufficientFunds):
            reverse(original, staff)

    @pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
    def test_touching_a_frozen_or_closed_account_is_refused(self, staff, funded, payee, status):
        original = transfer(funded, payee, "30.00")
        set_status(payee, status)
        with refused(AccountInactive):
            reverse(original, staff)


# --- money conversion -----------------------------------------------------------------------


class TestMoney:
    @pytest.mark.parametrize("amount", ["0", "-0.05", "-0", "0.000"])
    def test_to_minor_refuses_amounts_that_are_not_positive(self, amount):
        with pytest.raises(ValidationFailed) as refusal:
            to_minor(Decimal(amount), "USD")
        assert refusal.value.errors == {"amount": ["The amount must be greater than zero."]}

    @pytest.mark.parametrize(
        ("amount", "currency", "minor"),
        [
            ("10.00", "USD", 1000),
            ("10", "USD", 1000),
            ("0.05", "USD", 5),
            ("1.1", "USD", 110),
            ("10", "JPY", 10),
            ("1E+2", "JPY", 100),
        ],
    )
    def test_to_minor_is_exact(self, amount, currency, minor):
        assert to_minor(Decimal(amount), currency) == minor

    @pytest.mark.parametrize(
        ("amount", "currency"),
        [
            ("1.005", "USD"),
            ("1.0000000000000000000000000000000000001", "USD"),
            ("0.0000000000000000000000000000000000001", "USD"),
            ("1.5", "JPY"),
            ("1.0000000000000000000000000000000000001", "JPY"),
        ],
    )
    def test_to_minor_refuses_extra_digits_instead_of_rounding(self, amount, currency):
        with pytest.raises(ValidationFailed) as info:
            to_minor(Decimal(amount), currency)
        assert type(info.value) is ValidationFailed
        assert list(info.value.errors) == ["amount"]

    def test_to_minor_does_not_depend_on_the_decimal_context(self):
        with localcontext() as context:
            context.prec = 3
            assert to_minor(Decimal("123456.78"), "USD") == 12345678
            with pytest.raises(ValidationFailed):
                to_minor(Decimal("123456.785"), "USD")

    def test_to_minor_accepts_the_largest_amount_whatever_the_decimal_context(self):
        with localcontext() as context:
            context.prec = 10
            assert to_minor(Decimal("999999999999999.99"), "USD") == 99999999999999999

    @pytest.mark.parametrize(
        ("minor", "currency", "text"),
        [
            (1000, "USD", "10.00"),
            (10, "JPY", "10"),
            (-5, "USD", "-0.05"),
            (0, "USD", "0.00"),
            (0, "JPY", "0"),
            (1, "EUR", "0.01"),
            (BALANCE_LIMIT, "USD", "90000000000000000.00"),
            (-BALANCE_LIMIT, "JPY", "-9000000000000000000"),
        ],
    )
    def test_format_minor_gives_exactly_the_currency_digits(self, minor, currency, text):
        assert format_minor(minor, currency) == text

    @pytest.mark.parametrize("amount", ["0.01", "12.34", "999999999999999.99"])
    def test_from_minor_inverts_to_minor(self, amount):
        assert from_minor(to_minor(Decimal(amount), "USD"), "USD") == Decimal(amount)


@pytest.mark.django_db(transaction=True)
def test_a_posting_inside_an_outer_transaction_is_refused_not_folded_into_it(user, account):
    """The engine's write is durable: inside another transaction it could neither commit nor be
    retried after a lost race, so it raises instead of quietly becoming part of the caller's."""
    from django.db import transaction

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        deposit_create(actor=user, account_id=account.public_id, amount=Decimal("5.00"))
    assert not Transaction.objects.exists()
    assert Account.objects.get(pk=account.pk).balance_minor == 0

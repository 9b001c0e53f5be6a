"""The database's own guards of the ledger, tested by writes that bypass the posting service.

The service checks every rule first; these tests show that the database refuses a write
that breaks an invariant even when the service is bypassed (ORM ``.update()``/``.create()``
or raw SQL): the CHECK and UNIQUE constraints of the models (any database), and the
PostgreSQL triggers of migration ``0002_ledger_triggers`` (marked ``postgres``):

- deferred constraint triggers that refuse, at commit, a transaction whose postings are
  fewer than two, do not sum to zero, or sit on an account of another currency;
- append-only postings, and transactions whose only change is posted -> reversed once
  their reversal exists.

Each refusal is paired with the legitimate write next to it, so a test cannot pass because
of some unrelated error. In tests that run inside the test's own transaction, each expected
failure sits in its own ``transaction.atomic()`` (a savepoint) so the test can go on. Note
that on PostgreSQL Django's test teardown runs ``SET CONSTRAINTS ALL IMMEDIATE`` before it
rolls back, so the deferred balance check also judges what such a test leaves written:
deliberately incomplete rows are written inside :func:`rolled_back`.
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from harness.books import assert_books_balance
from tests.factories import AccountFactory
from transactions.models import IdempotencyRecord, Posting, Transaction
from transactions.services import deposit_create, transaction_reverse, transfer_create, withdrawal_create

# --- helpers --------------------------------------------------------------------------------


def system_account(currency="USD"):
    return Account.objects.get(is_system=True, currency=currency)


def deposit(account, amount):
    return deposit_create(actor=account.owner, account_id=account.public_id, amount=Decimal(amount))


def counts():
    return (Transaction.objects.count(), Posting.objects.count(), IdempotencyRecord.objects.count())


def new_transaction(actor, *, currency="USD", amount_minor=1000, kind=Transaction.Kind.DEPOSIT, **fields):
    """A transaction row written directly, without postings."""
    return Transaction.objects.create(
        kind=kind,
        amount_minor=amount_minor,
        currency=currency,
        posted_by=actor,
        created_at=timezone.now(),
        **fields,
    )


def new_posting(txn, account, amount_minor, *, sequence=None, numbered=None):
    """A posting written directly as the service writes it: on a customer account numbered after its
    latest one (unless told otherwise), on a system account unnumbered (``numbered`` overrides)."""
    account = Account.objects.get(pk=account.pk)
    if not (not account.is_system if numbered is None else numbered):
        return Posting.objects.create(
            transaction=txn, account=account, amount_minor=amount_minor, created_at=txn.created_at
        )
    return Posting.objects.create(
        transaction=txn,
        account=account,
        amount_minor=amount_minor,
        balance_after_minor=account.balance_minor + amount_minor,
        sequence=account.last_sequence + 1 if sequence is None else sequence,
        created_at=txn.created_at,
    )


def balance(account):
    return Account.objects.get(pk=account.pk).balance_minor


def apply_to_balance(account, amount_minor):
    Account.objects.filter(pk=account.pk).update(
        balance_minor=F("balance_minor") + amount_minor, last_sequence=F("last_sequence") + 1
    )


@contextmanager
def rolled_back():
    """Writes that are accepted, then undone (so the deferred balance check never sees them)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def posted(user, account):
    """A 100.00 deposit into ``account``, posted by the service."""
    return deposit(account, "100.00")


# --- CHECK and UNIQUE constraints (every database) ------------------------------------------


@pytest.mark.django_db
class TestConstraints:
    def test_a_customer_balance_cannot_go_below_zero(self, account):
        with (
            pytest.raises(IntegrityError, match=r"account_(customer_balance|available)_not_negative"),
            transaction.atomic(),
        ):
            Account.objects.filter(pk=account.pk).update(balance_minor=-1)
        assert balance(account) == 0

    def test_a_system_account_stores_no_balance(self, account):
        deposit(account, "10.00")  # money from outside the ledger: the world's postings go negative
        world = system_account()
        assert (world.balance_minor, world.last_sequence) == (0, 0)
        assert Posting.objects.get(account=world).amount_minor == -1000
        with pytest.raises(IntegrityError, match="account_system_keeps_no_balance"), transaction.atomic():
            Account.objects.filter(pk=world.pk).update(balance_minor=-1000)
        with pytest.raises(IntegrityError, match="account_system_keeps_no_balance"), transaction.atomic():
            Account.objects.filter(pk=world.pk).update(last_sequence=1)
        assert_books_balance()

    def test_a_posting_has_a_sequence_exactly_when_it_has_a_balance_after(self, user, account, posted):
        with pytest.raises(IntegrityError, match="posting_sequence_with_balance_after"), transaction.atomic():
            Posting.objects.create(
                transaction=posted, account=account, amount_minor=1, sequence=9, created_at=posted.created_at
            )
        with pytest.raises(IntegrityError, match="posting_sequence_with_balance_after"), transaction.atomic():
            Posting.objects.create(
                transaction=posted, account=account, amount_minor=1, balance_after_minor=1, created_at=posted.created_at
            )

    def test_a_posting_amount_cannot_be_zero(self, user, account, posted):
        with pytest.raises(IntegrityError, match="posting_amount_not_zero"), transaction.atomic():
            new_posting(posted, account, 0)
        with rolled_back():
            new_posting(posted, account, 1)  # the same write with a non-zero amount is accepted

    def test_a_transaction_amount_must_be_positive(self, user):
        with pytest.raises(IntegrityError, match="transaction_amount_positive"), transaction.atomic():
            new_transaction(user, amount_minor=0)
        with pytest.raises(IntegrityError, match="transaction_amount_positive"), transaction.atomic():
            new_transaction(user, amount_minor=-1)

    def test_a_transaction_is_reversed_at_most_once(self, staff, posted):
        transaction_reverse(actor=staff, transaction_id=posted.public_id, reason="first")
        with pytest.raises(IntegrityError, match="reverses_id"), transaction.atomic():
            new_transaction(staff, kind=Transaction.Kind.REVERSAL, reverses=posted)
        assert Transaction.objects.filter(reverses=posted).count() == 1

    def test_only_a_reversal_names_an_original(self, staff, posted):
        with pytest.raises(IntegrityError, match="transaction_reversal_has_original"), transaction.atomic():
            new_transaction(staff, kind=Transaction.Kind.REVERSAL)
        with pytest.raises(IntegrityError, match="transaction_reversal_has_original"), transaction.atomic():
            new_transaction(staff, kind=Transaction.Kind.DEPOSIT, reverses=posted)

    def test_an_idempotency_key_is_bound_once_per_client(self, user, other_user):
        record = {"key": "order-1", "fingerprint": "f" * 64, "response_status": 201, "response_body": b"{}"}
        IdempotencyRecord.objects.create(client=user, **record)
        with pytest.raises(IntegrityError), transaction.atomic():
            IdempotencyRecord.objects.create(client=user, **record)
        IdempotencyRecord.objects.create(client=other_user, **record)  # keys are scoped to the client
        assert IdempotencyRecord.objects.filter(key="order-1").count() == 2

    def test_an_accounts_posting_sequence_is_unique(self, user, account, posted):
        with pytest.raises(IntegrityError), transaction.atomic():
            new_posting(posted, account, 1, sequence=1)  # the deposit already holds sequence 1
        with rolled_back():
            assert new_posting(posted, account, 1, sequence=2).sequence == 2  # the next number is free

    def test_there_is_one_system_account_per_currency(self, account):
        with pytest.raises(IntegrityError), transaction.atomic():
            Account.objects.create(is_system=True, currency="USD")
        assert Account.objects.filter(is_system=True, currency="USD").count() == 1

    def test_a_customer_account_has_an_owner_and_a_system_account_has_none(self, user, account):
        with pytest.raises(IntegrityError, match="account_owner_iff_customer"), transaction.atomic():
            Account.objects.create(is_system=False, currency="USD")
        with pytest.raises(IntegrityError, match="account_owner_iff_customer"), transaction.atomic():
            Account.objects.create(is_system=True, owner=user, currency="EUR")


# --- append-only triggers (PostgreSQL) ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
class TestAppendOnly:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("amount_minor", 1), ("balance_after_minor", 1), ("sequence", 99), ("created_at", timezone.now())],
    )
    def test_a_posting_cannot_be_updated(self, posted, field, value):
        posting = Posting.objects.filter(transaction=posted).first()
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            Posting.objects.filter(pk=posting.pk).update(**{field: value})
        assert getattr(Posting.objects.get(pk=posting.pk), field) == getattr(posting, field)

    def test_a_posting_cannot_be_deleted(self, posted):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            Posting.objects.filter(transaction=posted).delete()
        assert Posting.objects.filter(transaction=posted).count() == 2

    def test_a_posting_cannot_be_deleted_with_raw_sql(self, posted):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM transactions_posting WHERE transaction_id = %s", [posted.pk])
        assert Posting.objects.filter(transaction=posted).count() == 2

    def test_a_transaction_cannot_be_deleted(self, posted):
        # The ORM would refuse first (postings PROTECT it); raw SQL reaches the trigger.
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM transactions_transaction WHERE id = %s", [posted.pk])
        assert Transaction.objects.filter(pk=posted.pk).exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [("amount_minor", 1), ("description", "edited"), ("reference", "edited"), ("metadata", {"edited": True})],
    )
    def test_a_transaction_cannot_be_edited(self, posted, field, value):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            Transaction.objects.filter(pk=posted.pk).update(**{field: value})
        stored = Transaction.objects.get(pk=posted.pk)
        assert (stored.amount_minor, stored.description, stored.reference, stored.metadata) == (10000, "", "", {})

    def test_posted_to_reversed_needs_an_existing_reversal(self, posted):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            Transaction.objects.filter(pk=posted.pk).update(status=Transaction.Status.REVERSED)
        assert Transaction.objects.get(pk=posted.pk).status == "posted"

    def test_posted_to_reversed_changes_nothing_else(self, staff, posted):
        with rolled_back():
            # A reversal row written by hand, so that the original may now become reversed.
            new_transaction(staff, kind=Transaction.Kind.REVERSAL, amount_minor=10000, reverses=posted)
            with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
                Transaction.objects.filter(pk=posted.pk).update(status=Transaction.Status.REVERSED, description="x")
            Transaction.objects.filter(pk=posted.pk).update(status=Transaction.Status.REVERSED)
            assert Transaction.objects.get(pk=posted.pk).status == "reversed"

    def test_a_reversed_transaction_cannot_go_back_to_posted(self, staff, posted):
        transaction_reverse(actor=staff, transaction_id=posted.public_id, reason="chargeback")
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            Transaction.objects.filter(pk=posted.pk).update(status=Transaction.Status.POSTED)
        assert Transaction.objects.get(pk=posted.pk).status == "reversed"


# --- balanced transactions, checked at commit (PostgreSQL) ----------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestBalancedAtCommit:
    """Each write inside the block succeeds; the deferred trigger refuses the whole block at commit."""

    @staticmethod
    def in_one_transaction(write):
        """Run ``write`` in a database transaction of its own, which commits when the block exits."""
        with transaction.atomic():
            before = counts()
            try:
                write()
            except IntegrityError as error:
                pytest.fail(f"refused before the commit, not at it: {error}")
            assert counts() != before, "each row should be accepted when it is written"

    def refused_at_commit(self, write):
        before = counts()
        with pytest.raises(IntegrityError, match="unbalanced"):
            self.in_one_transaction(write)
        assert counts() == before  # the commit refused every row of the block

    def test_postings_that_do_not_sum_to_zero(self, user, account):
        system = system_account()

        def write():
            txn = new_transaction(user)
            new_posting(txn, system, -1000)
            new_posting(txn, account, 999)

        self.refused_at_commit(write)

    def test_a_single_posting(self, user, account):
        self.refused_at_commit(lambda: new_posting(new_transaction(user), account, 1000))

    def test_no_postings_at_all(self, user, account):
        self.refused_at_commit(lambda: new_transaction(user))

    def test_a_posting_on_an_account_of_another_currency(self, user, account):
        AccountFactory(owner=user, currency="JPY")  # opens the JPY system account
        yen_world = system_account("JPY")

        def write():
            txn = new_transaction(user, currency="USD")
            new_posting(txn, yen_world, -1000)  # sums to zero, but one leg is in yen
            new_posting(txn, account, 1000)

        self.refused_at_commit(write)

    def test_extra_unbalanced_postings_on_a_committed_transaction(self, user, account):
        committed = deposit(account, "10.00")
        self.refused_at_commit(lambda: new_posting(committed, account, 1))

    def test_set_constraints_immediate_fires_at_once(self, user, account):
        def write_and_check_now():
            with transaction.atomic():
                new_posting(new_transaction(user), account, 1000)
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                pytest.fail("SET CONSTRAINTS ALL IMMEDIATE should have checked the pending rows")

        before = counts()
        with pytest.raises(IntegrityError, match="unbalanced"):
            write_and_check_now()
        assert counts() == before

    def refused_as_misnumbered(self, write):
        before = counts()
        with pytest.raises(IntegrityError, match="numbered the wrong way"):
            self.in_one_transaction(write)
        assert counts() == before

    def test_a_numbered_leg_on_a_system_account(self, user, account):
        system = system_account()

        def write():
            txn = new_transaction(user)
            new_posting(txn, system, -1000, numbered=True)  # as the old scheme wrote it
            new_posting(txn, account, 1000)

        self.refused_as_misnumbered(write)

    def test_an_unnumbered_leg_on_a_customer_account(self, user, account):
        system = system_account()

        def write():
            txn = new_transaction(user)
            new_posting(txn, system, -1000)
            new_posting(txn, account, 1000, numbered=False)

        self.refused_as_misnumbered(write)

    def test_a_balanced_transaction_written_by_hand_commits(self, user, account):
        system = system_account()
        with transaction.atomic():
            txn = new_transaction(user)
            new_posting(txn, system, -1000)
            new_posting(txn, account, 1000)
            apply_to_balance(account, 1000)
        assert Posting.objects.filter(transaction=txn).count() == 2
        assert_books_balance()

    def test_the_services_writes_commit(self, user, staff, other_user, account):
        payee = AccountFactory(owner=other_user)
        deposit(account, "100.00")
        payment = transfer_create(
            actor=user, source_account_id=account.public_id, destination_account_id=payee.public_id, amount=Decimal(30)
        )
        withdrawal_create(actor=user, account_id=account.public_id, amount=Decimal("20.00"))
        reversal = transaction_reverse(actor=staff, transaction_id=payment.public_id, reason="refund")

        payment.refresh_from_db()
        assert payment.status == "reversed"  # the legitimate posted -> reversed, committed
        assert payment.reversed_by == reversal
        assert (balance(account), balance(payee)) == (8000, 0)
        assert_books_balance()

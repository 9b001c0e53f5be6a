"""The database's own guards of the ledger, tested by writes that bypass the posting service.

The service checks every rule first; these tests show that the database refuses a write
that breaks an invariant even when the service is bypassed (ORM ``.update()``/``.create()``
or raw SQL): the CHECK and UNIQUE constraints of the models (any database), and the
PostgreSQL triggers of migration ``0002_ledger_triggers`` (marked ``postgres``):

- deferred constraint triggers that refuse, at commit, a transaction whose postings are
  fewer than two, do not sum to zero, or sit on an account of another currency;
- append-only postings, and transactions whose only change is posted -> reversed once
  their reversal exists;
- holds (``accounts`` migration 0005, ``transactions`` migration 0007): the hold's CHECKs and
  the account's reservation CHECKs (any database), and on PostgreSQL the guard that lets a hold
  leave ``pending`` once and change nothing else, the capture guard, and the deferred checks
  that a reservation equals its pending holds and a hold's ``captured_minor`` its captures.

Each refusal is paired with the legitimate write next to it, so a test cannot pass because
of some unrelated error. In tests that run inside the test's own transaction, each expected
failure sits in its own ``transaction.atomic()`` (a savepoint) so the test can go on. Note
that on PostgreSQL Django's test teardown runs ``SET CONSTRAINTS ALL IMMEDIATE`` before it
rolls back, so the deferred balance check also judges what such a test leaves written:
deliberately incomplete rows are written inside :func:`rolled_back`.
"""

from contextlib import contextmanager, nullcontext
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, Hold
from harness.books import assert_books_balance
from tests.factories import AccountFactory
from transactions.holds import hold_capture, hold_create, hold_void
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


# --- holds and reservations -----------------------------------------------------------------


def refused_constraint(error):
    """The name of the constraint ``error`` reports: PostgreSQL's diagnostics, or SQLite's message."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None:
        return diag.constraint_name
    prefix = "CHECK constraint failed: "
    message = str(error)
    assert message.startswith(prefix), message
    return message[len(prefix) :]


@contextmanager
def refused_by(name):
    """Expect the write in the block to be refused by the constraint (or trigger constraint) ``name``."""
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        yield info
    assert refused_constraint(info.value) == name, info.value


@contextmanager
def refused_by_hold_guard():
    """Expect the ``hold_guard`` trigger to refuse the write in the block (a restrict violation it names)."""
    with pytest.raises(IntegrityError, match="a hold leaves pending once") as info, transaction.atomic():
        yield info
    diag = info.value.__cause__.diag
    assert diag.sqlstate == "23001", diag.sqlstate  # restrict_violation
    assert diag.constraint_name == "hold_guard", diag.constraint_name


@contextmanager
def triggers_off():
    """Only the CHECK constraints judge the writes in the block (PostgreSQL's triggers are off for it).

    For the CHECKs that the guard would refuse first on PostgreSQL; nothing in the block outlives it.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        transaction.set_rollback(True)


def place(account, amount="10.00", **fields):
    """A hold placed by the service."""
    return hold_create(actor=account.owner, account_id=account.public_id, amount=amount, **fields)


def new_hold(account, *, amount_minor=1000, **fields):
    """A hold row written directly (its account's reservation left as it is)."""
    now = timezone.now()
    values = {
        "currency": account.currency,
        "created_by": account.owner,
        "created_at": now,
        "expires_at": now + timedelta(hours=1),
    }
    return Hold.objects.create(account=account, amount_minor=amount_minor, **(values | fields))


def update_hold(held, **fields):
    return Hold.objects.filter(pk=held.pk).update(**fields)


def stored_hold(held):
    return Hold.objects.get(pk=held.pk)


def reserve(account, amount_minor):
    """Add ``amount_minor`` to the account's stored reservation, as the engine does for a new hold."""
    Account.objects.filter(pk=account.pk).update(reserved_minor=F("reserved_minor") + amount_minor)


def new_capture(held, *, amount_minor=100, **fields):
    """A capture row of ``held`` written directly, as the engine writes it (without postings)."""
    values = {
        "kind": Transaction.Kind.WITHDRAWAL if held.destination_account_id is None else Transaction.Kind.TRANSFER,
        "currency": held.currency,
        "source_account_id": held.account_id,
        "destination_account_id": held.destination_account_id,
        "posted_by": held.created_by,
        "created_at": timezone.now(),
    }
    return Transaction.objects.create(hold=held, amount_minor=amount_minor, **(values | fields))


@pytest.fixture
def funded(account):
    """``account`` holding 100.00."""
    deposit(account, "100.00")
    return Account.objects.get(pk=account.pk)


@pytest.fixture
def held(funded):
    """A pending hold of 10.00 on ``funded``, placed by the service."""
    return place(funded)


@pytest.mark.django_db
class TestHoldConstraints:
    """The hold's and the reservation's CHECK constraints, on every database."""

    @pytest.mark.parametrize("amount_minor", [0, -1])
    def test_a_hold_amount_must_be_positive(self, funded, amount_minor):
        with refused_by("hold_amount_positive"):
            new_hold(funded, amount_minor=amount_minor)
        with rolled_back():
            reserve(funded, 1)
            new_hold(funded, amount_minor=1)  # the same hold of a positive amount is accepted

    def test_a_hold_captures_no_more_than_its_amount(self, held):
        with refused_by("hold_captured_within_amount"):
            update_hold(held, captured_minor=1001)
        assert stored_hold(held).captured_minor == 0

    def test_a_hold_never_captures_less_than_nothing(self, funded):
        # On PostgreSQL the guard refuses any such write first (created with nothing captured, captured only grows).
        with triggers_off():
            with refused_by("hold_captured_within_amount"):
                new_hold(funded, captured_minor=-1)
            new_hold(funded, captured_minor=0)

    def test_a_hold_has_a_known_status(self, held):
        with refused_by("hold_status_valid"):
            update_hold(held, status="settled", resolved_at=timezone.now())
        assert stored_hold(held).status == Hold.Status.PENDING

    def test_a_pending_hold_is_not_resolved(self, held):
        with refused_by("hold_resolved_iff_not_pending"):
            update_hold(held, resolved_at=timezone.now())
        assert stored_hold(held).resolved_at is None

    @pytest.mark.parametrize("status", [Hold.Status.CAPTURED, Hold.Status.VOIDED, Hold.Status.EXPIRED])
    def test_a_resolved_hold_has_its_resolution_instant(self, held, status):
        # On PostgreSQL the guard refuses an expiry not resolved at expires_at first: only the CHECK judges it here.
        with (
            triggers_off() if status == Hold.Status.EXPIRED else nullcontext(),
            refused_by("hold_resolved_iff_not_pending"),
        ):
            update_hold(held, status=status, captured_minor=1000 if status == Hold.Status.CAPTURED else 0)
        assert stored_hold(held).status == Hold.Status.PENDING

    def test_a_pending_hold_has_something_left_to_capture(self, held):
        with refused_by("hold_resolved_iff_not_pending"):
            update_hold(held, captured_minor=1000)  # everything captured, yet pending
        assert stored_hold(held).captured_minor == 0

    def test_a_captured_hold_took_money(self, held):
        with refused_by("hold_captured_took_money"):
            update_hold(held, status=Hold.Status.CAPTURED, resolved_at=timezone.now())
        assert stored_hold(held).status == Hold.Status.PENDING

    @pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=-1)])
    def test_a_hold_expires_after_its_creation(self, funded, after):
        now = timezone.now()
        with refused_by("hold_expires_after_creation"):
            new_hold(funded, created_at=now, expires_at=now + after)

    def test_a_hold_is_resolved_no_later_than_its_expiry(self, held):
        late = held.expires_at + timedelta(seconds=1)
        with refused_by("hold_resolved_by_expiry"):
            update_hold(held, status=Hold.Status.VOIDED, resolved_at=late)
        assert stored_hold(held).status == Hold.Status.PENDING

    def test_a_hold_never_pays_its_own_account(self, funded):
        with refused_by("hold_distinct_accounts"):
            new_hold(funded, destination_account=funded)

    def test_a_customer_reserves_no_more_than_its_balance(self, held):
        # The account holds 100.00 and reserves 10.00: 90.00 more would leave it nothing; 90.01 is refused.
        with refused_by("account_available_not_negative"):
            reserve(held.account, 9001)
        with rolled_back():
            reserve(held.account, 9000)
        with refused_by("account_available_not_negative"):
            Account.objects.filter(pk=held.account_id).update(balance_minor=999)  # below what it reserves
        assert Account.objects.get(pk=held.account_id).reserved_minor == 1000
        assert_books_balance()

    def test_a_reservation_is_never_negative(self, funded):
        with refused_by("account_reserved_not_negative"):
            reserve(funded, -1)
        assert Account.objects.get(pk=funded.pk).reserved_minor == 0

    def test_a_system_account_reserves_nothing(self, funded):
        world = system_account()
        with refused_by("account_available_not_negative"):
            reserve(world, 1)
        assert system_account().reserved_minor == 0


@pytest.mark.postgres
@pytest.mark.django_db
class TestHoldGuard:
    """The ``hold_guard`` trigger: a hold is created pending, leaves pending once, and changes nothing else."""

    @pytest.mark.parametrize(
        "fields",
        [
            {"status": Hold.Status.VOIDED, "resolved_at": timezone.now()},
            {"status": Hold.Status.CAPTURED, "captured_minor": 1000, "resolved_at": timezone.now()},
            {"captured_minor": 500},
        ],
        ids=["voided", "captured", "partly-captured"],
    )
    def test_a_hold_is_created_pending_with_nothing_captured(self, funded, fields):
        with refused_by("hold_created_pending"):
            new_hold(funded, **fields)
        assert not Hold.objects.exists()

    def test_a_hold_cannot_be_deleted(self, held):
        with refused_by_hold_guard():
            Hold.objects.filter(pk=held.pk).delete()
        with refused_by_hold_guard(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_hold WHERE id = %s", [held.pk])
        assert Hold.objects.filter(pk=held.pk).exists()

    def test_a_voided_hold_never_becomes_pending_again(self, held):
        hold_void(actor=held.account.owner, hold_id=held.public_id)
        with refused_by_hold_guard():
            update_hold(held, status=Hold.Status.PENDING, resolved_at=None)
        assert stored_hold(held).status == Hold.Status.VOIDED

    def test_a_captured_hold_never_changes(self, held):
        hold_capture(actor=held.account.owner, hold_id=held.public_id)
        with refused_by_hold_guard():
            update_hold(held, status=Hold.Status.VOIDED)
        with refused_by_hold_guard():
            update_hold(held, description="edited")
        assert stored_hold(held).status == Hold.Status.CAPTURED
        assert_books_balance()

    @pytest.mark.parametrize("field", ["amount_minor", "account", "expires_at", "currency", "created_at"])
    def test_a_pending_holds_terms_are_immutable(self, user, held, field):
        other = AccountFactory(owner=user, currency="USD")
        changed = {
            "amount_minor": 999,
            "account": other,
            "expires_at": held.expires_at + timedelta(days=1),
            "currency": "EUR",
            "created_at": held.created_at - timedelta(seconds=1),
        }[field]
        with refused_by_hold_guard():
            update_hold(held, **{field: changed})
        assert getattr(stored_hold(held), field) == getattr(held, field)

    def test_what_a_hold_captured_never_decreases(self, held):
        hold_capture(actor=held.account.owner, hold_id=held.public_id, amount="3.00")
        with refused_by_hold_guard():
            update_hold(held, captured_minor=200)
        assert stored_hold(held).captured_minor == 300
        assert_books_balance()

    def test_an_expired_hold_is_resolved_at_its_expiry(self, held):
        with refused_by_hold_guard():
            update_hold(held, status=Hold.Status.EXPIRED, resolved_at=timezone.now())
        with rolled_back():  # resolved at its expires_at, and its reservation released: accepted
            update_hold(held, status=Hold.Status.EXPIRED, resolved_at=F("expires_at"))
            reserve(held.account, -1000)
        assert stored_hold(held).status == Hold.Status.PENDING


@pytest.mark.postgres
@pytest.mark.django_db
class TestCaptureGuard:
    """The ``capture_guard`` trigger: a transaction naming a hold must be a capture it allows."""

    def test_a_capture_of_a_hold_that_is_not_pending(self, held):
        hold_void(actor=held.account.owner, hold_id=held.public_id)
        with refused_by("capture_of_pending_hold"):
            new_capture(stored_hold(held))

    def test_a_capture_from_another_account(self, user, held):
        other = AccountFactory(owner=user, currency="USD")
        with refused_by("capture_of_pending_hold"):
            new_capture(held, source_account_id=other.pk)
        with rolled_back():
            new_capture(held)  # the same capture from the held account is accepted

    def test_a_capture_to_another_destination(self, user, funded, other_user):
        payee, stranger = AccountFactory(owner=other_user), AccountFactory(owner=other_user)
        to_payee = place(funded, destination_account_id=payee.public_id)
        with refused_by("capture_of_pending_hold"):
            new_capture(to_payee, destination_account_id=stranger.pk)
        with refused_by("capture_of_pending_hold"):
            new_capture(to_payee, kind=Transaction.Kind.WITHDRAWAL, destination_account_id=None)
        with rolled_back():
            new_capture(to_payee)  # a transfer to the hold's destination is accepted

    def test_a_capture_in_another_currency(self, held):
        with refused_by("capture_of_pending_hold"):
            new_capture(held, currency="EUR")

    @pytest.mark.parametrize("kind", [Transaction.Kind.DEPOSIT, Transaction.Kind.TRANSFER])
    def test_a_capture_of_the_wrong_kind(self, held, kind):
        with refused_by("capture_of_pending_hold"):
            new_capture(held, kind=kind)

    def test_a_capture_of_more_than_the_hold_still_reserves(self, held):
        hold_capture(actor=held.account.owner, hold_id=held.public_id, amount="4.00")
        with refused_by("capture_of_pending_hold"):
            new_capture(stored_hold(held), amount_minor=601)
        with rolled_back():
            new_capture(stored_hold(held), amount_minor=600)  # exactly the rest is accepted

    def test_a_capture_at_or_after_the_expiry(self, held):
        for late in (timedelta(0), timedelta(seconds=1)):
            with refused_by("capture_of_pending_hold"):
                new_capture(held, created_at=held.expires_at + late)
        with rolled_back():
            new_capture(held, created_at=held.expires_at - timedelta(microseconds=1))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestHoldsAtCommit:
    """Each write inside the block succeeds; a deferred trigger refuses the whole block at commit."""

    @staticmethod
    def refused_at_commit(name, write):
        before = (counts(), list(Hold.objects.values_list("pk", "status", "captured_minor").order_by("pk")))
        reservations = list(Account.objects.values_list("pk", "reserved_minor").order_by("pk"))

        def accepted_until_the_commit():
            with transaction.atomic():
                try:
                    write()
                except IntegrityError as error:
                    pytest.fail(f"refused before the commit, not at it: {error}")

        with pytest.raises(IntegrityError) as info:
            accepted_until_the_commit()
        assert refused_constraint(info.value) == name, info.value
        assert (counts(), list(Hold.objects.values_list("pk", "status", "captured_minor").order_by("pk"))) == before
        assert list(Account.objects.values_list("pk", "reserved_minor").order_by("pk")) == reservations

    def test_a_reservation_changed_alone(self, held):
        self.refused_at_commit("account_reservation_matches_holds", lambda: reserve(held.account, 500))

    def test_a_reservation_released_without_its_hold(self, held):
        self.refused_at_commit("account_reservation_matches_holds", lambda: reserve(held.account, -1000))

    def test_a_hold_inserted_without_its_reservation(self, funded):
        self.refused_at_commit("account_reservation_matches_holds", lambda: new_hold(funded))

    def test_a_hold_voided_without_releasing_its_reservation(self, held):
        def write():
            update_hold(held, status=Hold.Status.VOIDED, resolved_at=timezone.now())

        self.refused_at_commit("account_reservation_matches_holds", write)

    def test_a_hold_and_its_reservation_written_together_commit(self, funded):
        with transaction.atomic():
            reserve(funded, 1000)
            written = new_hold(funded)
        assert stored_hold(written).status == Hold.Status.PENDING
        assert_books_balance()

    def test_captured_minor_raised_without_a_capture(self, held):
        def write():
            update_hold(held, captured_minor=100)
            reserve(held.account, -100)  # the reservation kept right: only the captures are wrong

        self.refused_at_commit("hold_captured_is_its_captures", write)

    def test_a_capture_recorded_without_raising_captured_minor(self, held):
        account, world = held.account, system_account()

        def write():
            capture = new_capture(held, amount_minor=300)  # balanced and numbered: only the hold is wrong
            new_posting(capture, account, -300)
            new_posting(capture, world, 300)
            apply_to_balance(account, -300)

        self.refused_at_commit("hold_captured_is_its_captures", write)

    def test_a_capture_written_by_hand_with_its_hold_and_reservation_commits(self, held):
        account, world = held.account, system_account()
        with transaction.atomic():
            capture = new_capture(held, amount_minor=300)
            new_posting(capture, account, -300)
            new_posting(capture, world, 300)
            apply_to_balance(account, -300)
            update_hold(held, captured_minor=300)
            reserve(account, -300)
        assert stored_hold(held).captured_minor == 300
        assert_books_balance()

    def test_the_hold_services_writes_commit(self, held):
        hold_capture(actor=held.account.owner, hold_id=held.public_id, amount="2.50")
        second = place(held.account, "5.00")
        hold_void(actor=held.account.owner, hold_id=second.public_id)
        assert (stored_hold(held).captured_minor, stored_hold(second).status) == (250, Hold.Status.VOIDED)
        assert Account.objects.get(pk=held.account_id).reserved_minor == 750
        assert_books_balance()

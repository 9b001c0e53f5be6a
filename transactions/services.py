"""The posting service: the only code that writes transactions, postings and balances.

Every write (deposit, withdrawal, transfer, reversal) runs the same way, in one database
transaction (:func:`~ledger.atomic.run_atomically_with_retries`):

1. lock every customer account it touches with one ``SELECT ... ORDER BY id FOR NO KEY UPDATE``
   (never a system account: its legs are appended without touching its row), and release what
   lapsed holds on them still reserve (``transactions.engine.reservations``);
2. check the rules against the locked rows (ownership, status, currency, available funds) while
   adding each transaction to a :class:`~transactions.engine.journal.Journal`;
3. write the journal: the transactions, their postings, the balances and sequence numbers
   of the locked accounts, and the idempotency key (if any) bound to the answer; on
   PostgreSQL all in one statement (:meth:`~transactions.engine.journal.Journal.write`).

A refusal raises a :mod:`ledger.errors` error before step 3 or rolls back what was
written, so a refused request changes nothing. The database re-checks what it can (the
non-negative customer balance, the zero-sum of every transaction, append-only postings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Account, Hold
from audit.services import audit_record_create
from ledger.atomic import run_atomically_with_retries
from ledger.errors import LedgerError, NotFound, ValidationFailed
from ledger.money import amount_from, to_minor
from transactions import holds
from transactions.engine import events, orm, rules
from transactions.engine.idempotency import IdempotencyClaim
from transactions.engine.journal import Journal, Leg
from transactions.engine.locking import lock_accounts, lock_accounts_by_public_id, reserved_transaction_id
from transactions.engine.reservations import release_lapsed
from transactions.engine.rules import LockedAccounts
from transactions.models import Batch, Posting, Transaction

if TYPE_CHECKING:
    from ledger.users import User

MAX_BATCH_OPERATIONS = 1000


def _plan_external(
    journal: Journal, locked: LockedAccounts, *, kind: str, account_id: UUID, amount: Decimal, **details: Any
) -> Transaction:
    """Plan a deposit (money in from the outside world) or a withdrawal (money out to it) in ``journal``."""
    account = locked.customer(account_id, journal.actor, field="account_id")
    system = locked.system_of(account.currency)
    minor = to_minor(amount, account.currency)
    rules.require_active([account])
    inbound = kind == Transaction.Kind.DEPOSIT
    debited, credited = (system, account) if inbound else (account, system)
    return journal.add(
        kind=kind,
        currency=account.currency,
        amount_minor=minor,
        legs=[(debited, -minor), (credited, minor)],
        source=None if inbound else account,
        destination=account if inbound else None,
        **details,
    )


def _plan_transfer(
    journal: Journal,
    locked: LockedAccounts,
    *,
    source_account_id: UUID,
    destination_account_id: UUID,
    amount: Decimal,
    **details: Any,
) -> Transaction:
    """Plan a transfer from an account the actor owns to any active customer account of its currency."""
    rules.require_distinct(source_account_id, destination_account_id)
    source = locked.customer(source_account_id, journal.actor, field="source_account_id")
    destination = locked.customer(destination_account_id, journal.actor, field="destination_account_id", owned=False)
    rules.require_same_currency(source, destination)
    minor = to_minor(amount, source.currency)
    rules.require_active([source, destination])
    return journal.add(
        kind=Transaction.Kind.TRANSFER,
        currency=source.currency,
        amount_minor=minor,
        legs=[(source, -minor), (destination, minor)],
        source=source,
        destination=destination,
        **details,
    )


_PLANNERS: Mapping[str, Callable[..., Transaction]] = {
    Transaction.Kind.DEPOSIT: lambda journal, locked, **op: _plan_external(
        journal, locked, kind=Transaction.Kind.DEPOSIT, **op
    ),
    Transaction.Kind.WITHDRAWAL: lambda journal, locked, **op: _plan_external(
        journal, locked, kind=Transaction.Kind.WITHDRAWAL, **op
    ),
    Transaction.Kind.TRANSFER: _plan_transfer,
}
_ACCOUNT_FIELDS = ("account_id", "source_account_id", "destination_account_id")


def _plan_hold(journal: Journal, locked: LockedAccounts, **fields: Any) -> Hold:
    """Plan a hold of a batch (``transactions.holds.plan_hold``) and stage it with the journal's instant."""
    hold = holds.plan_hold(locked, journal.actor, journal.now, **fields)
    journal.holds.append(hold)
    return hold


_BATCH_PLANNERS: Mapping[str, Callable[..., Transaction | Hold]] = {**_PLANNERS, "hold": _plan_hold}


def _post_one(
    actor: User,
    kind: str,
    movement: dict[str, Any],
    idempotency: IdempotencyClaim[Transaction] | None,
) -> Transaction:
    """Lock the movement's accounts, plan it, write it, bind the idempotency key; retried on lost races.

    The amount is parsed and bounded before anything is locked (:func:`ledger.money.amount_from`).
    """
    movement = {**movement, "amount": amount_from(movement["amount"])}
    account_ids = [movement[field] for field in _ACCOUNT_FIELDS if field in movement]

    def work() -> Transaction:
        accounts = lock_accounts_by_public_id(account_ids, reserve_transaction_id=True)
        journal = Journal(actor, transaction_id=reserved_transaction_id(accounts))
        release_lapsed(accounts, journal.now)
        _PLANNERS[kind](journal, LockedAccounts(accounts), **movement)
        [txn] = journal.write(bind=idempotency)
        return txn

    return run_atomically_with_retries(work)


def deposit_create(
    *,
    actor: User,
    account_id: UUID,
    amount: Decimal,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim[Transaction] | None = None,
) -> Transaction:
    """Credit ``account_id`` with money from outside (debiting its currency's system account)."""
    movement = {"account_id": account_id, "amount": amount, "description": description, "reference": reference}
    return _post_one(actor, Transaction.Kind.DEPOSIT, {**movement, "metadata": metadata}, idempotency)


def withdrawal_create(
    *,
    actor: User,
    account_id: UUID,
    amount: Decimal,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim[Transaction] | None = None,
) -> Transaction:
    """Debit ``account_id`` for money leaving the ledger (crediting its currency's system account)."""
    movement = {"account_id": account_id, "amount": amount, "description": description, "reference": reference}
    return _post_one(actor, Transaction.Kind.WITHDRAWAL, {**movement, "metadata": metadata}, idempotency)


def transfer_create(
    *,
    actor: User,
    source_account_id: UUID,
    destination_account_id: UUID,
    amount: Decimal,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim[Transaction] | None = None,
) -> Transaction:
    """Move money from an account the actor owns to any active account of the same currency."""
    rules.require_distinct(source_account_id, destination_account_id)  # Before locking anything.
    movement = {
        "source_account_id": source_account_id,
        "destination_account_id": destination_account_id,
        "amount": amount,
        "description": description,
        "reference": reference,
        "metadata": metadata,
    }
    return _post_one(actor, Transaction.Kind.TRANSFER, movement, idempotency)


def _reversal_legs(original: Transaction, locked: Mapping[int, Account]) -> list[Leg]:
    """Return the mirror image of ``original``'s postings: each account with the opposite amount.

    A customer account is its locked row; a system account, which is never locked, the posting's own.
    """
    return [(locked.get(leg.account_id, leg.account), -leg.amount_minor) for leg in original.postings.all()]


def _locked_or_none(locked: Mapping[int, Account], pk: int | None) -> Account | None:
    """Return the locked account ``pk``, or ``None`` for no account or one not locked (a system account)."""
    return None if pk is None else locked.get(pk)


def _with_legs() -> Prefetch[str, QuerySet[Posting], str]:
    """Return the prefetch of a transaction's legs with their accounts, in the order they were written."""
    return Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("pk"))


def transaction_reverse(
    *,
    actor: User,
    transaction_id: UUID,
    reason: str,
    idempotency: IdempotencyClaim[Transaction] | None = None,
    ip_address: str | None = None,
    via: str = "api",
) -> Transaction:
    """Post the mirror image of a posted transaction, mark it reversed, and audit it.

    Authorization is the caller's (staff in the API, a permission in the admin). Refused
    when the transaction is itself a reversal, is already reversed, or when an account it
    credited no longer holds the money or is no longer active. The audit record (who,
    why, from where) is written in the same database transaction as the reversal.
    """
    if not reason.strip():
        raise ValidationFailed(errors={"reason": ["A reason is required."]})

    def work() -> Transaction:
        touched = Posting.objects.filter(transaction__public_id=transaction_id).values("account_id")
        locked = lock_accounts(Q(pk__in=touched), reserve_transaction_id=True)  # Its customer accounts.
        journal = Journal(actor, transaction_id=reserved_transaction_id(locked))
        release_lapsed(locked, journal.now)
        accounts = {account.pk: account for account in locked}
        # Read after the locks: a concurrent reversal has either committed or not started.
        original = Transaction.objects.filter(public_id=transaction_id).prefetch_related(_with_legs()).first()
        if original is None:
            raise NotFound("No such transaction.")
        refusal = rules.reversal_refusal(original)
        if refusal is not None:
            raise refusal
        legs = _reversal_legs(original, accounts)
        rules.require_active(account for account, _ in legs)
        reversal = journal.add(
            kind=Transaction.Kind.REVERSAL,
            currency=original.currency,
            amount_minor=original.amount_minor,
            legs=legs,
            source=_locked_or_none(accounts, original.destination_account_id),
            destination=_locked_or_none(accounts, original.source_account_id),
            description=reason,
            reverses=original,
        )
        # The original's event shows it as it stands once this commits: reversed, by this reversal.
        original.status = Transaction.Status.REVERSED
        orm.cache_reverse_one(original, Transaction.reversed_by, reversal)
        journal.emit(lambda: events.reversed_event(original, reversal))
        [reversal] = journal.write(bind=idempotency)
        Transaction.objects.filter(pk=original.pk, status=Transaction.Status.POSTED).update(
            status=Transaction.Status.REVERSED
        )
        audit_record_create(
            action="reverse",
            target_type="transaction",
            target_id=original.public_id,
            reason=reason.strip(),
            operator=actor,
            ip_address=ip_address,
            details={"reversal_id": str(reversal.public_id), "via": via},
        )
        return reversal

    return run_atomically_with_retries(work)


def _checked_operations(operations: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Return each operation's kind and fields, amounts parsed and bounded: all before anything is locked."""
    if not 1 <= len(operations) <= MAX_BATCH_OPERATIONS:
        raise ValidationFailed(errors={"operations": [f"Send 1 to {MAX_BATCH_OPERATIONS} operations."]})
    checked = []
    for index, operation in enumerate(operations):
        kind = operation.get("kind")
        try:
            if kind not in _BATCH_PLANNERS:
                raise ValidationFailed(errors={"kind": [f"Use one of: {', '.join(_BATCH_PLANNERS)}."]})
            fields = {name: value for name, value in operation.items() if name != "kind"}
            fields["amount"] = amount_from(fields.get("amount"))
            if kind == "hold":
                holds.check_expiry(fields.get("expires_at"), timezone.now())
        except LedgerError as refusal:
            raise _named(refusal, index) from None
        checked.append((str(kind), fields))
    return checked


def _named(refusal: LedgerError, index: int) -> LedgerError:
    """Return ``refusal`` naming the batch operation it refuses (``operation``, and each field's path)."""
    refusal.extra["operation"] = index
    if refusal.errors:
        refusal.errors = {f"operations.{index}.{name}": errs for name, errs in refusal.errors.items()}
    return refusal


def batch_post(
    *,
    actor: User,
    operations: Sequence[dict[str, Any]],
    idempotency: IdempotencyClaim[Batch] | None = None,
) -> Batch:
    """Post up to 1000 deposits, withdrawals, transfers and holds in one database transaction.

    All or nothing: every customer account any operation touches is locked once, in ascending
    id order, so batches never deadlock each other or single movements; each operation is
    checked against the balances the earlier ones left; a refusal names its operation
    (``operation``: its index) and posts nothing. Each operation is a dict with ``kind`` and the
    fields of that movement's endpoint.
    """
    checked = _checked_operations(operations)
    account_ids = {fields[name] for _, fields in checked for name in _ACCOUNT_FIELDS if name in fields}

    def work() -> Batch:
        accounts = lock_accounts_by_public_id(list(account_ids))
        journal = Journal(actor)
        release_lapsed(accounts, journal.now)
        locked = LockedAccounts(accounts)
        for index, (kind, fields) in enumerate(checked):
            try:
                _BATCH_PLANNERS[kind](journal, locked, **fields)
            except LedgerError as refusal:
                raise _named(refusal, index) from None
        batch = Batch.objects.create(posted_by=actor, created_at=journal.now)
        orm.cache_related(batch, "transactions", journal.write(batch=batch) if journal.has_entries else [])
        if journal.holds:
            holds.store_holds(journal.holds, journal.now)
            batch.holds.add(*journal.holds)
        orm.cache_related(batch, "holds", journal.holds)
        if idempotency is not None:
            idempotency.bind(batch)
        return batch

    return run_atomically_with_retries(work)

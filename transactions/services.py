"""The posting service: the only code that writes transactions, postings and balances.

Every write (deposit, withdrawal, transfer, reversal) runs the same way, in one database
transaction (:func:`~transactions.locking.run_atomically_with_retries`):

1. lock every customer account it touches with one ``SELECT ... ORDER BY id FOR NO KEY UPDATE``
   (never a system account: its legs are appended without touching its row);
2. check the rules against the locked rows (ownership, status, currency, funds) while
   adding each transaction to a :class:`~transactions.journal.Journal`;
3. write the journal: the transactions, their postings, the balances and sequence numbers
   of the locked accounts, and the idempotency key (if any) bound to the answer; on
   PostgreSQL all in one statement (:meth:`~transactions.journal.Journal.write`).

A refusal raises a :mod:`transactions.errors` error before step 3 or rolls back what was
written, so a refused request changes nothing. The database re-checks what it can (the
non-negative customer balance, the zero-sum of every transaction, append-only postings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q

from accounts.models import Account
from audit.services import audit_record_create
from transactions.errors import (
    AccountInactive,
    AlreadyReversed,
    CurrencyMismatch,
    LedgerError,
    NotFound,
    ReversalNotAllowed,
    SameAccount,
    ValidationFailed,
)
from transactions.idempotency import IdempotencyClaim
from transactions.journal import Journal
from transactions.locking import (
    lock_accounts,
    lock_accounts_by_public_id,
    reserved_transaction_id,
    run_atomically_with_retries,
    system_account_of,
)
from transactions.models import Batch, Posting, Transaction
from transactions.money import to_minor


class _Locked:
    """The customer accounts a write has locked, looked up by public id, and system accounts by currency."""

    def __init__(self, accounts: Sequence[Account]) -> None:
        self.by_id = {account.public_id: account for account in accounts}
        self.system = {account.currency: system_account_of(account) for account in accounts}

    def customer(self, account_id: UUID, actor: AbstractBaseUser, *, field: str, owned: bool = True) -> Account:
        """The customer account ``account_id``; ``NotFound`` unless the actor may act on it."""
        account = self.by_id.get(account_id)
        if account is None:  # Not a customer account (those are locked): a system account, or none.
            may_see = actor.is_staff or not owned  # A payee need not be the actor's.
            if may_see and Account.objects.filter(public_id=account_id, is_system=True).exists():
                raise ValidationFailed(errors={field: ["System accounts cannot be posted to directly."]})
            raise NotFound("No such account.", errors={field: ["No such account."]})
        if owned and not actor.is_staff and account.owner_id != actor.pk:
            raise NotFound("No such account.", errors={field: ["No such account."]})
        return account

    def system_of(self, currency: str) -> Account:
        account = self.system.get(currency)
        if account is None or account.pk is None:  # Cannot happen once accounts.services opened the account.
            raise NotFound(f"The ledger has no system account for {currency}.")
        return account


def _require_active(*accounts: Account) -> None:
    for account in accounts:
        if not account.is_active:
            raise AccountInactive(f"Account {account.public_id} is {account.status}.")


def _plan_external(
    journal: Journal, locked: _Locked, *, kind: str, account_id: UUID, amount: Decimal, **details: Any
) -> Transaction:
    """A deposit (money in from the outside world) or a withdrawal (money out to it)."""
    account = locked.customer(account_id, journal.actor, field="account_id")
    system = locked.system_of(account.currency)
    minor = to_minor(amount, account.currency)
    _require_active(account)
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
    locked: _Locked,
    *,
    source_account_id: UUID,
    destination_account_id: UUID,
    amount: Decimal,
    **details: Any,
) -> Transaction:
    """From an account the actor owns to any active customer account of the same currency."""
    if source_account_id == destination_account_id:
        raise SameAccount()
    source = locked.customer(source_account_id, journal.actor, field="source_account_id")
    destination = locked.customer(destination_account_id, journal.actor, field="destination_account_id", owned=False)
    if source.currency != destination.currency:
        raise CurrencyMismatch(f"The source holds {source.currency}, the destination {destination.currency}.")
    minor = to_minor(amount, source.currency)
    _require_active(source, destination)
    return journal.add(
        kind=Transaction.Kind.TRANSFER,
        currency=source.currency,
        amount_minor=minor,
        legs=[(source, -minor), (destination, minor)],
        source=source,
        destination=destination,
        **details,
    )


def _post_one(
    actor: AbstractBaseUser,
    account_ids: Sequence[UUID],
    plan: Callable[[Journal, _Locked], Transaction],
    idempotency: IdempotencyClaim | None,
) -> Transaction:
    """Lock ``account_ids``, plan one transaction, write it, bind the idempotency key; retried on lost races."""

    def work() -> Transaction:
        accounts = lock_accounts_by_public_id(account_ids, reserve_transaction_id=True)
        journal = Journal(actor, transaction_id=reserved_transaction_id(accounts))
        plan(journal, _Locked(accounts))
        [txn] = journal.write(bind=idempotency)
        return txn

    return run_atomically_with_retries(work)


def deposit_create(
    *,
    actor: AbstractBaseUser,
    account_id: UUID,
    amount: Decimal,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim | None = None,
) -> Transaction:
    """Credit ``account_id`` with money from outside (debiting its currency's system account)."""
    details = {"description": description, "reference": reference, "metadata": metadata}
    return _post_one(
        actor,
        [account_id],
        lambda journal, locked: _plan_external(
            journal, locked, kind=Transaction.Kind.DEPOSIT, account_id=account_id, amount=amount, **details
        ),
        idempotency,
    )


def withdrawal_create(
    *,
    actor: AbstractBaseUser,
    account_id: UUID,
    amount: Decimal,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim | None = None,
) -> Transaction:
    """Debit ``account_id`` for money leaving the ledger (crediting its currency's system account)."""
    details = {"description": description, "reference": reference, "metadata": metadata}
    return _post_one(
        actor,
        [account_id],
        lambda journal, locked: _plan_external(
            journal, locked, kind=Transaction.Kind.WITHDRAWAL, account_id=account_id, amount=amount, **details
        ),
        idempotency,
    )


def transfer_create(
    *,
    actor: AbstractBaseUser,
    source_account_id: UUID,
    destination_account_id: UUID,
    amount: Decimal,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim | None = None,
) -> Transaction:
    """Move money from an account the actor owns to any active account of the same currency."""
    if source_account_id == destination_account_id:
        raise SameAccount()
    details = {"description": description, "reference": reference, "metadata": metadata}
    return _post_one(
        actor,
        [source_account_id, destination_account_id],
        lambda journal, locked: _plan_transfer(
            journal,
            locked,
            source_account_id=source_account_id,
            destination_account_id=destination_account_id,
            amount=amount,
            **details,
        ),
        idempotency,
    )


def transaction_reverse(
    *,
    actor: AbstractBaseUser,
    transaction_id: UUID,
    reason: str,
    idempotency: IdempotencyClaim | None = None,
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
        accounts = {account.pk: account for account in locked}
        # Read after the locks: a concurrent reversal has either committed or not started.
        legs_with_accounts = Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("pk"))
        original = Transaction.objects.filter(public_id=transaction_id).prefetch_related(legs_with_accounts).first()
        if original is None:
            raise NotFound("No such transaction.")
        if original.kind == Transaction.Kind.REVERSAL:
            raise ReversalNotAllowed()
        if original.status == Transaction.Status.REVERSED:
            raise AlreadyReversed()
        legs = [
            (accounts.get(posting.account_id, posting.account), -posting.amount_minor)  # A system leg: not locked.
            for posting in original.postings.all()
        ]
        _require_active(*(account for account, _ in legs))
        journal = Journal(actor, transaction_id=reserved_transaction_id(locked))
        journal.add(
            kind=Transaction.Kind.REVERSAL,
            currency=original.currency,
            amount_minor=original.amount_minor,
            legs=legs,
            source=accounts.get(original.destination_account_id),
            destination=accounts.get(original.source_account_id),
            description=reason,
            reverses=original,
        )
        [reversal] = journal.write(bind=idempotency)
        Transaction.objects.filter(pk=original.pk, status=Transaction.Status.POSTED).update(
            status=Transaction.Status.REVERSED
        )
        original.status = Transaction.Status.REVERSED
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


MAX_BATCH_OPERATIONS = 1000

_PLANNERS: dict[str, Callable[..., Transaction]] = {
    Transaction.Kind.DEPOSIT: lambda journal, locked, **op: _plan_external(
        journal, locked, kind=Transaction.Kind.DEPOSIT, **op
    ),
    Transaction.Kind.WITHDRAWAL: lambda journal, locked, **op: _plan_external(
        journal, locked, kind=Transaction.Kind.WITHDRAWAL, **op
    ),
    Transaction.Kind.TRANSFER: _plan_transfer,
}


def batch_post(
    *,
    actor: AbstractBaseUser,
    operations: Sequence[dict[str, Any]],
    idempotency: IdempotencyClaim | None = None,
) -> Batch:
    """Post up to 1000 deposits, withdrawals and transfers in one database transaction.

    All or nothing: every customer account any operation touches is locked once, in ascending
    id order, so batches never deadlock each other
    or single movements; each operation is checked against the balances the earlier ones
    left; a refusal names its operation (``operation``: its index) and posts nothing.
    Each operation is a dict with ``kind`` and the fields of that movement's endpoint.
    """
    if not 1 <= len(operations) <= MAX_BATCH_OPERATIONS:
        raise ValidationFailed(errors={"operations": [f"Send 1 to {MAX_BATCH_OPERATIONS} operations."]})
    account_ids = {
        op[field] for op in operations for field in ("account_id", "source_account_id", "destination_account_id")
        if field in op
    }  # fmt: skip

    def work() -> Batch:
        journal = Journal(actor)
        locked = _Locked(lock_accounts_by_public_id(list(account_ids)))
        for index, operation in enumerate(operations):
            fields = {name: value for name, value in operation.items() if name != "kind"}
            try:
                _PLANNERS[operation["kind"]](journal, locked, **fields)
            except LedgerError as refusal:
                refusal.extra["operation"] = index
                if refusal.errors:
                    refusal.errors = {f"operations.{index}.{name}": errs for name, errs in refusal.errors.items()}
                raise
        batch = Batch.objects.create(posted_by=actor, created_at=journal.now)
        batch._prefetched_objects_cache = {"transactions": journal.write(batch=batch)}
        if idempotency is not None:
            idempotency.bind(batch)
        return batch

    return run_atomically_with_retries(work)

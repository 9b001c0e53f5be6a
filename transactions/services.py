"""The posting service: the only code that writes transactions, postings and balances.

Every write (deposit, withdrawal, transfer, reversal) runs the same way, in one database
transaction (:func:`~transactions.locking.run_atomically_with_retries`):

1. lock every account it touches with one ``SELECT ... ORDER BY id FOR UPDATE``;
2. check the rules against the locked rows (ownership, status, currency, funds);
3. insert the transaction, insert its postings in one statement, and update the balances
   and sequence numbers of the locked accounts in one statement;
4. bind the idempotency key, if any, to the answer.

A refusal raises a :mod:`transactions.errors` error before step 3 or rolls back what was
written, so a refused request changes nothing. The database re-checks what it can (the
non-negative customer balance, the zero-sum of every transaction, append-only postings).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from accounts.models import Account
from audit.services import audit_record_create
from ledger_project import metrics
from transactions.errors import (
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
from transactions.idempotency import IdempotencyClaim
from transactions.locking import lock_accounts, run_atomically_with_retries
from transactions.models import Posting, Transaction
from transactions.money import BALANCE_LIMIT, to_minor

logger = logging.getLogger(__name__)

Leg = tuple[Account, int]  # (account, signed amount in minor units)


def _customer_account(
    accounts: Sequence[Account], account_id: UUID, actor: AbstractBaseUser, *, field: str, owned: bool = True
) -> Account:
    """The locked customer account ``account_id``; ``NotFound`` unless the actor may act on it."""
    account = next((a for a in accounts if a.public_id == account_id), None)
    if account is None or (owned and not actor.is_staff and account.owner_id != actor.pk):
        raise NotFound("No such account.", errors={field: ["No such account."]})
    if account.is_system:
        raise ValidationFailed(errors={field: ["System accounts cannot be posted to directly."]})
    return account


def _system_account(accounts: Sequence[Account], currency: str) -> Account:
    account = next((a for a in accounts if a.is_system and a.currency == currency), None)
    if account is None:  # Cannot happen once the customer account was opened by accounts.services.
        raise NotFound(f"The ledger has no system account for {currency}.")
    return account


def _with_system_account(account_id: UUID) -> Q:
    """The customer account ``account_id`` and the system account of its currency."""
    currency = Account.objects.filter(public_id=account_id).values("currency")[:1]
    return Q(public_id=account_id) | Q(is_system=True, currency=Subquery(currency))


def _require_active(*accounts: Account) -> None:
    for account in accounts:
        if not account.is_active:
            raise AccountInactive(f"Account {account.public_id} is {account.status}.")


def _write(
    *,
    kind: str,
    actor: AbstractBaseUser,
    currency: str,
    amount_minor: int,
    legs: list[Leg],
    source: Account | None,
    destination: Account | None,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    reverses: Transaction | None = None,
    idempotency: IdempotencyClaim | None = None,
) -> Transaction:
    """Check the legs against the locked accounts, then write the transaction in three statements."""
    assert sum(amount for _, amount in legs) == 0, "a transaction's postings must sum to zero"
    for account, amount in legs:
        new_balance = account.balance_minor + amount
        if not account.is_system and new_balance < 0:
            raise InsufficientFunds(f"Account {account.public_id} holds too little for this posting.")
        if abs(new_balance) > BALANCE_LIMIT:
            raise LimitExceeded()

    now = timezone.now()
    txn = Transaction.objects.create(
        kind=kind,
        amount_minor=amount_minor,
        currency=currency,
        source_account=source,
        destination_account=destination,
        description=description,
        reference=reference,
        metadata=metadata or {},
        posted_by=actor,
        reverses=reverses,
        created_at=now,
    )
    postings = []
    for account, amount in legs:
        account.balance_minor += amount
        account.last_sequence += 1
        account.updated_at = now
        postings.append(
            Posting(
                transaction=txn,
                account=account,
                amount_minor=amount,
                balance_after_minor=account.balance_minor,
                sequence=account.last_sequence,
                created_at=now,
            )
        )
    Posting.objects.bulk_create(postings)
    Account.objects.bulk_update([account for account, _ in legs], ["balance_minor", "last_sequence", "updated_at"])
    # What the API renders is all in memory: its postings, and no reversal yet.
    txn._prefetched_objects_cache = {"postings": postings}
    Transaction.reversed_by.related.set_cached_value(txn, None)
    if idempotency is not None:
        idempotency.bind(txn)
    db_transaction.on_commit(lambda: _posted(txn))
    return txn


def _posted(txn: Transaction) -> None:
    """After commit: count the transaction and log its id (never amounts' owners or secrets)."""
    metrics.TRANSACTIONS_POSTED.labels(txn.kind, txn.currency).inc()
    logger.info(
        "posted %s %s",
        txn.kind,
        txn.public_id,
        extra={"transaction_id": str(txn.public_id), "kind": txn.kind, "currency": txn.currency},
    )


def _post_external(
    *,
    kind: str,
    actor: AbstractBaseUser,
    account_id: UUID,
    amount: Decimal,
    inbound: bool,
    idempotency: IdempotencyClaim | None,
    **details: Any,
) -> Transaction:
    """Move money between a customer account and its currency's system account (the outside world)."""

    def work() -> Transaction:
        accounts = lock_accounts(_with_system_account(account_id))
        account = _customer_account(accounts, account_id, actor, field="account_id")
        system = _system_account(accounts, account.currency)
        minor = to_minor(amount, account.currency)
        _require_active(account)
        debited, credited = (system, account) if inbound else (account, system)
        return _write(
            kind=kind,
            actor=actor,
            currency=account.currency,
            amount_minor=minor,
            legs=[(debited, -minor), (credited, minor)],
            source=None if inbound else account,
            destination=account if inbound else None,
            idempotency=idempotency,
            **details,
        )

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
    return _post_external(
        kind=Transaction.Kind.DEPOSIT,
        actor=actor,
        account_id=account_id,
        amount=amount,
        inbound=True,
        idempotency=idempotency,
        description=description,
        reference=reference,
        metadata=metadata,
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
    return _post_external(
        kind=Transaction.Kind.WITHDRAWAL,
        actor=actor,
        account_id=account_id,
        amount=amount,
        inbound=False,
        idempotency=idempotency,
        description=description,
        reference=reference,
        metadata=metadata,
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

    def work() -> Transaction:
        accounts = lock_accounts(Q(public_id__in=[source_account_id, destination_account_id]))
        source = _customer_account(accounts, source_account_id, actor, field="source_account_id")
        destination = _customer_account(
            accounts, destination_account_id, actor, field="destination_account_id", owned=False
        )
        if source.currency != destination.currency:
            raise CurrencyMismatch(f"The source holds {source.currency}, the destination {destination.currency}.")
        minor = to_minor(amount, source.currency)
        _require_active(source, destination)
        return _write(
            kind=Transaction.Kind.TRANSFER,
            actor=actor,
            currency=source.currency,
            amount_minor=minor,
            legs=[(source, -minor), (destination, minor)],
            source=source,
            destination=destination,
            description=description,
            reference=reference,
            metadata=metadata,
            idempotency=idempotency,
        )

    return run_atomically_with_retries(work)


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
        accounts = {account.pk: account for account in lock_accounts(Q(pk__in=touched))}
        # Read after the locks: a concurrent reversal has either committed or not started.
        original = Transaction.objects.filter(public_id=transaction_id).prefetch_related("postings").first()
        if original is None:
            raise NotFound("No such transaction.")
        if original.kind == Transaction.Kind.REVERSAL:
            raise ReversalNotAllowed()
        if original.status == Transaction.Status.REVERSED:
            raise AlreadyReversed()
        legs = [(accounts[posting.account_id], -posting.amount_minor) for posting in original.postings.all()]
        _require_active(*(account for account, _ in legs))
        reversal = _write(
            kind=Transaction.Kind.REVERSAL,
            actor=actor,
            currency=original.currency,
            amount_minor=original.amount_minor,
            legs=legs,
            source=accounts.get(original.destination_account_id),
            destination=accounts.get(original.source_account_id),
            description=reason,
            reverses=original,
            idempotency=idempotency,
        )
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

"""The rules a movement is checked by, each defined once, against the accounts it has locked.

The services (``transactions.services``) plan every movement with these functions, and the
console's previews ask the same functions what a write would be refused with; the database
re-checks what it can (a customer balance never below zero, distinct accounts, the zero-sum
of every transaction). Each rule raises its :mod:`ledger.errors` refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from accounts.models import Account, Hold
from ledger.errors import (
    AccountInactive,
    AlreadyReversed,
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldNotPending,
    InsufficientFunds,
    LedgerError,
    LimitExceeded,
    NotFound,
    ReversalNotAllowed,
    SameAccount,
    ValidationFailed,
)
from ledger.money import BALANCE_LIMIT, format_minor
from transactions.engine.locking import system_account_of
from transactions.models import Transaction

if TYPE_CHECKING:
    from ledger.users import User
    from transactions.engine.locking import LockedAccount


class LockedAccounts:
    """The customer accounts a write has locked, by public id, and their system accounts by currency."""

    def __init__(self, accounts: Sequence[LockedAccount]) -> None:
        self.by_id = {account.public_id: account for account in accounts}
        self.system = {account.currency: system_account_of(account) for account in accounts}

    def customer(self, account_id: UUID, actor: User, *, field: str, owned: bool = True) -> Account:
        """Return the customer account ``account_id``; ``NotFound`` unless the actor may act on it.

        ``owned``: the actor must own it (a source); a payee need not be the actor's. A system
        account is never addressed directly (``ValidationFailed``), though only someone who may
        see it learns that it is one.
        """
        account = self.by_id.get(account_id)
        if account is None:  # Not a customer account (those are locked): a system account, or none.
            may_see = actor.is_staff or not owned
            if may_see and Account.objects.filter(public_id=account_id, is_system=True).exists():
                raise ValidationFailed(errors={field: ["System accounts cannot be posted to directly."]})
            raise NotFound("No such account.", errors={field: ["No such account."]})
        if owned and not actor.is_staff and account.owner_id != actor.pk:
            raise NotFound("No such account.", errors={field: ["No such account."]})
        return account

    def system_of(self, currency: str) -> Account:
        """Return the system account of ``currency``; ``NotFound`` if the ledger has none."""
        account = self.system.get(currency)
        if account is None:  # Not once accounts.services opened an account of the currency.
            raise NotFound(f"The ledger has no system account for {currency}.")
        return account


def require_active(accounts: Iterable[Account]) -> None:
    """Refuse a frozen or closed account (``account_inactive``): only active accounts take postings."""
    for account in accounts:
        if not account.is_active:
            raise AccountInactive(f"Account {account.public_id} is {account.status}.")


def require_distinct(source_id: UUID, destination_id: UUID) -> None:
    """Refuse a transfer from an account to itself (``same_account``)."""
    if source_id == destination_id:
        raise SameAccount()


def require_same_currency(source: Account, destination: Account) -> None:
    """Refuse a transfer between accounts of different currencies (``currency_mismatch``)."""
    if source.currency != destination.currency:
        raise CurrencyMismatch(f"The source holds {source.currency}, the destination {destination.currency}.")


def require_balance_after(account: Account, amount_minor: int) -> None:
    """Refuse a leg that would take a customer's available balance below zero, or its balance past ``BALANCE_LIMIT``.

    The available balance is the balance less what the account's holds reserve
    (``reserved_minor``, as the locked row has it once lapsed holds are released). A system
    account keeps no balance: nothing to check.
    """
    if account.is_system:
        return
    balance = account.balance_minor + amount_minor
    if balance - account.reserved_minor < 0:
        raise InsufficientFunds(f"Account {account.public_id} holds too little for this posting.")
    if balance > BALANCE_LIMIT:
        raise LimitExceeded()


def require_reservable(account: Account, amount_minor: int) -> None:
    """Refuse a hold of ``amount_minor`` on an account whose available balance is less (``insufficient_funds``)."""
    if account.balance_minor - account.reserved_minor < amount_minor:
        raise InsufficientFunds(f"Account {account.public_id} has too little available for this hold.")


def require_pending(hold: Hold, now: datetime) -> None:
    """Refuse to capture or void a hold that is captured, voided or expired at ``now`` (``hold_not_pending``)."""
    status = hold.status_at(now)
    if status != Hold.Status.PENDING:
        raise HoldNotPending(f"The hold is {status}.")


def require_within_hold(hold: Hold, amount_minor: int, now: datetime) -> None:
    """Refuse a capture above what the hold still reserves (``capture_exceeds_hold``)."""
    remaining = hold.remaining_minor_at(now)
    if amount_minor > remaining:
        raise CaptureExceedsHold(f"The hold reserves {format_minor(remaining, hold.currency)} {hold.currency}.")


def require_balanced(legs: Iterable[tuple[Account, int]]) -> None:
    """Refuse legs that do not sum to zero (``ValueError``, a programming error).

    The deferred trigger checks the same at commit.
    """
    total = sum(amount for _, amount in legs)
    if total != 0:
        raise ValueError(f"a transaction's postings must sum to zero, not {total}")


def reversal_refusal(txn: Transaction) -> LedgerError | None:
    """Return why ``txn`` cannot be reversed at all (whatever the balances), or ``None``."""
    if txn.kind == Transaction.Kind.REVERSAL:
        return ReversalNotAllowed()
    if txn.status == Transaction.Status.REVERSED:
        return AlreadyReversed()
    return None


def refusal_of(check: Callable[..., None], *args: object) -> LedgerError | None:
    """Return the refusal ``check(*args)`` raises, or ``None`` (for previews, which show rather than raise)."""
    try:
        check(*args)
    except LedgerError as refusal:
        return refusal
    return None

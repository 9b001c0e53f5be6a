"""Reads of accounts, scoped to what a client may see."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import BigIntegerField, Case, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce

from accounts.models import Account
from ledger.errors import NotFound

if TYPE_CHECKING:
    from ledger.users import User


def system_balance_minor(currency: str) -> int:
    """Return the balance of ``currency``'s system account: the negative of what its customer accounts hold.

    Every transaction sums to zero, so this equals the sum of the system account's postings
    (``reconcile`` proves it); reading the customers' stored balances costs one pass over the
    currency's accounts instead of one over all its deposits and withdrawals.
    """
    held = Account.objects.filter(is_system=False, currency=currency).aggregate(total=Sum("balance_minor"))["total"]
    return -int(held or 0)


def with_balances(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """Return ``accounts`` with each system account's derived balance (``Account.current_balance_minor``)."""
    held = (
        Account.objects.filter(is_system=False, currency=OuterRef("currency"))
        .order_by()
        .values("currency")
        .annotate(total=Sum("balance_minor"))
        .values("total")
    )
    negated = ExpressionWrapper(-Coalesce(Subquery(held), 0), output_field=BigIntegerField())
    return accounts.annotate(system_balance_minor=Case(When(is_system=True, then=negated), default=F("balance_minor")))


def accounts_visible_to(user: User) -> QuerySet[Account]:
    """Return the accounts ``user`` may see: the ones it owns, or for staff every account.

    Staff see system accounts too, with their derived balance.
    """
    if user.is_staff:
        return with_balances(Account.objects.all())
    return Account.objects.filter(owner=user)


def account_get(*, user: User, account_id: UUID | str) -> Account:
    """Return the account ``account_id``; ``NotFound`` if it does not exist or is not the user's to see."""
    try:
        return accounts_visible_to(user).get(public_id=account_id)
    except (Account.DoesNotExist, ValueError):
        raise NotFound("No such account.") from None

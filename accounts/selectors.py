"""Reads of accounts, scoped to what a client may see."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import connection
from django.db.models import BigIntegerField, Case, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, When
from django.db.models.functions import Coalesce

from accounts.models import Account
from ledger import rows
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
    """Return the account ``account_id``; ``NotFound`` if it does not exist or is not the user's to see.

    A client's own account (every balance and history read) is one fixed statement, the same
    rows as ``accounts_visible_to(user).get(public_id=...)`` without building that queryset.
    """
    try:
        if user.is_staff:
            return accounts_visible_to(user).get(public_id=account_id)
        public_id = account_id if isinstance(account_id, UUID) else UUID(account_id)
        found = rows.fetch(Account, _own_account_sql(), [rows.db_value(Account, "public_id", public_id), user.pk])
    except (Account.DoesNotExist, ValueError):
        raise NotFound("No such account.") from None
    if not found:
        raise NotFound("No such account.")
    return found[0]


@functools.cache
def _own_account_sql() -> str:
    """Return the statement of a client's own account by public id (``%s`` public id, ``%s`` owner id)."""
    table = connection.ops.quote_name(Account._meta.db_table)
    return f"SELECT {rows.columns(Account, 'a')} FROM {table} a WHERE a.public_id = %s AND a.owner_id = %s"  # noqa: S608

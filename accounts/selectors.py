"""Reads of accounts, scoped to what a client may see."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import connection, models
from django.db.models import BigIntegerField, Case, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, Hold
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


# What a pending hold still reserves.
_REMAINING = F("amount_minor") - F("captured_minor")


def _lapsed_holds(now: datetime) -> QuerySet[Hold]:
    """Return the holds still recorded as pending that are past their expiry at ``now``."""
    return Hold.objects.filter(status=Hold.Status.PENDING, expires_at__lte=now)


def lapsed_reserved_minor(account_pk: int, now: datetime | None = None) -> int:
    """Return what the account's reservation still counts for holds already expired at ``now`` (default: now).

    They reserve nothing from ``expires_at`` on; until a write or ``expire_holds`` records them
    as expired, ``reserved_minor`` still counts them, and the available balance adds this back.
    """
    holds = _lapsed_holds(now or timezone.now()).filter(account_id=account_pk)
    total = holds.aggregate(total=Sum(_REMAINING))["total"]
    return int(total or 0)


def with_available(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """Return ``accounts`` with what lapsed holds still count in each reservation (``available_balance_minor``).

    One subquery per account that reserves anything; none for the others.
    """
    lapsed = (
        _lapsed_holds(timezone.now())
        .filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(total=Sum(_REMAINING))
        .values("total")
    )
    return accounts.annotate(
        lapsed_reserved_minor=Case(
            When(reserved_minor=0, then=Value(0)),
            default=Coalesce(Subquery(lapsed), 0),
            output_field=BigIntegerField(),
        )
    )


def accounts_visible_to(user: User) -> QuerySet[Account]:
    """Return the accounts ``user`` may see: the ones it owns, or for staff every account.

    Staff see system accounts too, with their derived balance. Each account comes with what it
    needs for its available balance (:func:`with_available`).
    """
    if user.is_staff:
        return with_available(with_balances(Account.objects.all()))
    return with_available(Account.objects.filter(owner=user))


def account_get(*, user: User, account_id: UUID | str) -> Account:
    """Return the account ``account_id``; ``NotFound`` if it does not exist or is not the user's to see.

    A client's own account (every balance and history read) is one fixed statement, the same
    rows as ``accounts_visible_to(user).get(public_id=...)`` without building that queryset.
    """
    try:
        if user.is_staff:
            return accounts_visible_to(user).get(public_id=account_id)
        public_id = account_id if isinstance(account_id, UUID) else UUID(account_id)
        found = rows.fetch(
            Account,
            _own_account_sql(),
            [
                rows.db_value(Hold, "expires_at", timezone.now()),
                rows.db_value(Account, "public_id", public_id),
                user.pk,
            ],
            ("lapsed_reserved_minor",),
        )
    except (Account.DoesNotExist, ValueError):
        raise NotFound("No such account.") from None
    if not found:
        raise NotFound("No such account.")
    return found[0]


@functools.cache
def _own_account_sql() -> str:
    """Return the statement of a client's own account by public id (``%s`` now, public id, owner id).

    With the account, what lapsed holds still count in its reservation (:func:`lapsed_reserved_minor`).
    """
    quote = connection.ops.quote_name
    table, holds = quote(Account._meta.db_table), quote(Hold._meta.db_table)
    lapsed = (
        "CASE WHEN a.reserved_minor = 0 THEN 0 ELSE (SELECT COALESCE(SUM(h.amount_minor - h.captured_minor), 0) "  # noqa: S608
        f"FROM {holds} h WHERE h.account_id = a.id AND h.status = 'pending' AND h.expires_at <= %s) END"
    )
    return (
        f"SELECT {rows.columns(Account, 'a')}, {lapsed} AS lapsed_reserved_minor "  # noqa: S608
        f"FROM {table} a WHERE a.public_id = %s AND a.owner_id = %s"
    )


def open_holds_by_currency(now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """Return, per currency, how many holds are open at ``now`` and what they still reserve (minor units).

    Open: pending and not past its expiry (a lapsed hold reserves nothing, even before its
    expiry is recorded). One query along the pending holds' expiry index.
    """
    rows = (
        Hold.objects.filter(status=Hold.Status.PENDING, expires_at__gt=now or timezone.now())
        .values("currency")
        .annotate(open=models.Count("pk"), reserved=Sum(F("amount_minor") - F("captured_minor")))
        .order_by("currency")
    )
    return {row["currency"]: (row["open"], int(row["reserved"])) for row in rows}

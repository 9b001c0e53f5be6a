"""Row locks on accounts, always taken the same way so that writers can never deadlock.

Every write locks all the customer accounts it touches in one query, ``ORDER BY id FOR NO KEY
UPDATE``: PostgreSQL locks the rows in the order it returns them, so two writers that share
accounts always queue on the lowest shared id first. ``NO KEY`` because no write changes an
account's key: the foreign-key checks of other transactions' postings (``FOR KEY SHARE``) never
wait for it. System accounts are never locked: their legs are appended without touching their
row (``accounts.models``), so deposits and withdrawals of one currency do not queue on each
other. Lock waits are bounded by the connection's ``lock_timeout`` (``LEDGER_LOCK_TIMEOUT_MS``).
On SQLite ``select_for_update`` is a no-op; there every write transaction starts with ``BEGIN
IMMEDIATE`` and so holds the database lock.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias, TypedDict, cast
from uuid import UUID

from django.db import connection
from django.db.models import BigIntegerField, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL

from accounts.models import Account, Hold
from ledger import rows
from transactions.models import Transaction

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from ledger.users import User


class SystemAccountColumns(TypedDict):
    """What :func:`lock_accounts_by_public_id` adds to each account: its currency's system account.

    Both are ``None`` if the currency has no system account.
    """

    system_account_id: int | None
    system_public_id: UUID | None


if TYPE_CHECKING:
    LockedAccount: TypeAlias = WithAnnotations[Account, SystemAccountColumns]

logger = logging.getLogger(__name__)

# An uncorrelated scalar subquery: PostgreSQL evaluates it once per query, whatever the rows.
_NEXT_TRANSACTION_ID = RawSQL(  # noqa: S611 (fixed text, no input)
    f"(SELECT nextval(pg_get_serial_sequence('{Transaction._meta.db_table}', 'id')))",
    [],
    output_field=BigIntegerField(),
)


def lock_accounts(condition: Q, *, reserve_transaction_id: bool = False, skip_locked: bool = False) -> list[Account]:
    """Lock and return the customer accounts matching ``condition``, in ascending primary-key order.

    With ``reserve_transaction_id`` on PostgreSQL, the same query also draws the id of the
    transaction about to be written from its sequence (see :func:`reserved_transaction_id`):
    the journal can then render the answer and write everything in one more round trip.
    With ``skip_locked``, accounts another transaction has locked are left out rather than
    waited for (background work: ``expire_holds``).
    """
    accounts = (
        Account.objects.select_for_update(no_key=True, skip_locked=skip_locked)
        .filter(condition, is_system=False)
        .order_by("pk")
    )
    if reserve_transaction_id and connection.vendor == "postgresql":
        accounts = accounts.annotate(reserved_transaction_id=_NEXT_TRANSACTION_ID)
    return list(accounts)


def system_account_of(account: LockedAccount) -> Account | None:
    """Return the system account of a locked account's currency, or ``None`` if the currency has none.

    As :func:`lock_accounts_by_public_id` found it: not locked, not loaded, a reference carrying
    its id, public id and currency.
    """
    if account.system_account_id is None or account.system_public_id is None:
        return None
    return Account(
        pk=account.system_account_id, public_id=account.system_public_id, currency=account.currency, is_system=True
    )


def lock_accounts_by_public_id(
    public_ids: Sequence[UUID], *, reserve_transaction_id: bool = False
) -> list[LockedAccount]:
    """Lock and return the customer accounts ``public_ids``, each with its system account's columns.

    One ``... ORDER BY id FOR NO KEY UPDATE``, like :func:`lock_accounts`, which also finds each
    account's system account (:func:`system_account_of`). Every deposit, withdrawal, transfer and
    batch locks this way, so on PostgreSQL the statement is fixed text rather than an ORM query
    built anew for each posting (docs/benchmarks.md, "Why the code is written as it is"). An id
    that is not a customer account's is simply not returned.
    """
    if connection.vendor != "postgresql":
        systems = Account.objects.filter(is_system=True, currency=OuterRef("currency"))
        accounts = Account.objects.filter(public_id__in=public_ids, is_system=False).annotate(
            system_account_id=Subquery(systems.values("pk")), system_public_id=Subquery(systems.values("public_id"))
        )
        return list(accounts.order_by("pk"))
    sql, extra = _lock_sql(reserve_transaction_id=reserve_transaction_id, where=_BY_PUBLIC_ID)
    return cast("list[LockedAccount]", rows.fetch(Account, sql, [list(public_ids)], extra))


def lock_accounts_of_hold(hold_id: UUID, viewer: User, *, reserve_transaction_id: bool = False) -> list[LockedAccount]:
    """Lock and return the customer accounts of hold ``hold_id`` (its account and destination), as above.

    Only if ``viewer`` may act on the hold (staff, or the owner of its account): otherwise, or
    for no such hold, nothing is locked and the list is empty. On PostgreSQL one statement finds
    the hold's accounts and locks them, so a capture needs no lookup of its own first.
    """
    holds = Hold.objects.filter(public_id=hold_id)
    if not viewer.is_staff:
        holds = holds.filter(account__owner=viewer)
    if connection.vendor != "postgresql":
        found = holds.values_list("account__public_id", "destination_account__public_id").first()
        ids = [] if found is None else [public_id for public_id in found if public_id is not None]
        return lock_accounts_by_public_id(ids, reserve_transaction_id=reserve_transaction_id) if ids else []
    sql, extra = _lock_sql(reserve_transaction_id=reserve_transaction_id, where=_OF_HOLD)
    params = [rows.db_value(Hold, "public_id", hold_id), viewer.is_staff, viewer.pk]
    return cast("list[LockedAccount]", rows.fetch(Account, sql, params, extra))


_BY_PUBLIC_ID = "a.public_id = ANY(%s::uuid[])"
# The hold's account and destination, if the viewer is staff or owns the account (the owner's row, o).
_OF_HOLD = (
    "a.id IN (SELECT v.id FROM accounts_hold h JOIN accounts_account o ON o.id = h.account_id, "
    "LATERAL (VALUES (h.account_id), (h.destination_account_id)) AS v(id) "
    "WHERE h.public_id = %s AND (%s OR o.owner_id = %s))"
)


@functools.cache
def _lock_sql(*, reserve_transaction_id: bool, where: str) -> tuple[str, tuple[str, ...]]:
    """Return a locking statement (the accounts ``where`` selects) and the names of the columns it adds.

    The added columns: the system account's (:class:`SystemAccountColumns`), then the drawn
    transaction id if ``reserve_transaction_id``.
    """
    table = Account._meta.db_table
    added = {"system_account_id": "s.id", "system_public_id": "s.public_id"}
    if reserve_transaction_id:
        added["reserved_transaction_id"] = _NEXT_TRANSACTION_ID.sql
    extra = ", ".join(f"{expression} AS {name}" for name, expression in added.items())
    sql = (
        f"SELECT {rows.columns(Account, 'a')}, {extra} "  # noqa: S608
        f"FROM {table} a LEFT JOIN {table} s ON s.is_system AND s.currency = a.currency "
        f"WHERE {where} AND NOT a.is_system ORDER BY a.id FOR NO KEY UPDATE OF a"
    )
    return sql, tuple(added)


def reserved_transaction_id(accounts: Sequence[Account]) -> int | None:
    """Return the transaction id :func:`lock_accounts` drew with the locks, or ``None`` if it drew none."""
    return getattr(accounts[0], "reserved_transaction_id", None) if accounts else None

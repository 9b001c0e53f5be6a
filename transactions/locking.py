"""Row locks on accounts, always taken the same way so that writers can never deadlock.

Every write locks all the accounts it touches in one query, ``ORDER BY id FOR UPDATE``:
PostgreSQL locks the rows in the order it returns them, so two writers that share accounts
always queue on the lowest shared id first. Lock waits are bounded by the connection's
``lock_timeout`` (``LEDGER_LOCK_TIMEOUT_MS``). On SQLite ``select_for_update`` is a no-op;
there every write transaction starts with ``BEGIN IMMEDIATE`` and so holds the database lock.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from django.conf import settings
from django.db import OperationalError, connection
from django.db import transaction as db_transaction
from django.db.models import BigIntegerField, Q
from django.db.models.expressions import RawSQL

from accounts.models import Account
from ledger_project import metrics
from transactions.errors import Unavailable
from transactions.models import Transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_TIMEOUT_SQLSTATES = {"55P03", "57014"}  # lock_not_available, query_canceled (statement_timeout)


# An uncorrelated scalar subquery: PostgreSQL evaluates it once per query, whatever the rows.
_NEXT_TRANSACTION_ID = RawSQL(  # noqa: S611 (fixed text, no input)
    f"(SELECT nextval(pg_get_serial_sequence('{Transaction._meta.db_table}', 'id')))",
    [],
    output_field=BigIntegerField(),
)


def lock_accounts(condition: Q, *, reserve_transaction_id: bool = False) -> list[Account]:
    """Lock and return the accounts matching ``condition``, in ascending primary-key order.

    With ``reserve_transaction_id`` on PostgreSQL, the same query also draws the id of the
    transaction about to be written from its sequence (see :func:`reserved_transaction_id`):
    the journal can then render the answer and write everything in one more round trip.
    """
    accounts = Account.objects.select_for_update().filter(condition).order_by("pk")
    if reserve_transaction_id and connection.vendor == "postgresql":
        accounts = accounts.annotate(reserved_transaction_id=_NEXT_TRANSACTION_ID)
    return list(accounts)


def lock_accounts_by_public_id(
    public_ids: Sequence[UUID], *, with_system_accounts: bool = False, reserve_transaction_id: bool = False
) -> list[Account]:
    """:func:`lock_accounts` for the accounts ``public_ids`` and, with ``with_system_accounts``,
    the system accounts of their currencies: the same single ``... ORDER BY id FOR UPDATE``.

    Every deposit, withdrawal, transfer and batch locks this way, so on PostgreSQL the statement is
    fixed text rather than an ORM query built anew for each posting (which cost more CPU than
    PostgreSQL spends running it).
    """
    if connection.vendor != "postgresql":
        condition = Q(public_id__in=public_ids)
        if with_system_accounts:
            currencies = Account.objects.filter(public_id__in=public_ids).values("currency")
            condition |= Q(is_system=True, currency__in=currencies)
        return lock_accounts(condition, reserve_transaction_id=reserve_transaction_id)
    sql = _lock_sql(with_system_accounts=with_system_accounts, reserve_transaction_id=reserve_transaction_id)
    ids = list(public_ids)
    return list(Account.objects.raw(sql, [ids, ids] if with_system_accounts else [ids]))


@functools.cache
def _lock_sql(*, with_system_accounts: bool, reserve_transaction_id: bool) -> str:
    table = Account._meta.db_table
    columns = ", ".join(field.column for field in Account._meta.concrete_fields)
    reserve = f", {_NEXT_TRANSACTION_ID.sql} AS reserved_transaction_id" if reserve_transaction_id else ""
    system = (
        f" OR (is_system AND currency IN (SELECT currency FROM {table} WHERE public_id = ANY(%s::uuid[])))"  # noqa: S608
        if with_system_accounts
        else ""
    )
    return (
        f"SELECT {columns}{reserve} FROM {table} WHERE public_id = ANY(%s::uuid[]){system} "  # noqa: S608 (fixed text)
        "ORDER BY id FOR UPDATE"
    )


def reserved_transaction_id(accounts: list[Account]) -> int | None:
    """The transaction id :func:`lock_accounts` drew with the locks, if it drew one."""
    return getattr(accounts[0], "reserved_transaction_id", None) if accounts else None


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def run_atomically_with_retries(work: Callable[[], T]) -> T:
    """Run ``work`` in its own database transaction, retrying lost deadlock or serialization races.

    At most ``LEDGER_CONFLICT_RETRIES`` attempts, with jittered backoff; a lock wait that runs
    out, or the last lost race, raises :class:`Unavailable` (503) with nothing written.
    Inside an enclosing transaction (nothing to retry safely) ``work`` runs once.
    """
    attempts = 1 if connection.in_atomic_block else max(1, settings.LEDGER_CONFLICT_RETRIES)
    for attempt in range(1, attempts + 1):
        try:
            with db_transaction.atomic():
                return work()
        except OperationalError as exc:
            state = _sqlstate(exc)
            if state in _RETRYABLE_SQLSTATES and attempt < attempts:
                metrics.POSTING_RETRIES.labels("deadlock" if state == "40P01" else "serialization").inc()
                logger.info("posting lost a %s race, retrying (attempt %d of %d)", state, attempt, attempts)
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 (jitter, not crypto)
                continue
            if state in _RETRYABLE_SQLSTATES or state in _TIMEOUT_SQLSTATES:
                metrics.LOCK_TIMEOUTS.inc()
                raise Unavailable("The accounts are busy; nothing was posted. Retry with the same key.") from exc
            raise
    raise AssertionError("unreachable")

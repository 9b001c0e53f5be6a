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
import random
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.db import transaction as db_transaction
from django.db.models import BigIntegerField, OuterRef, Q, Subquery
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
    """Lock and return the customer accounts matching ``condition``, in ascending primary-key order.

    With ``reserve_transaction_id`` on PostgreSQL, the same query also draws the id of the
    transaction about to be written from its sequence (see :func:`reserved_transaction_id`):
    the journal can then render the answer and write everything in one more round trip.
    """
    accounts = Account.objects.select_for_update(no_key=True).filter(condition, is_system=False).order_by("pk")
    if reserve_transaction_id and connection.vendor == "postgresql":
        accounts = accounts.annotate(reserved_transaction_id=_NEXT_TRANSACTION_ID)
    return list(accounts)


def system_account_of(account: Account) -> Account:
    """The system account of a locked account's currency, as :func:`lock_accounts_by_public_id` found
    it (not locked, not loaded: a reference carrying its id, public id and currency)."""
    return Account(
        pk=account.system_account_id, public_id=account.system_public_id, currency=account.currency, is_system=True
    )


def lock_accounts_by_public_id(public_ids: Sequence[UUID], *, reserve_transaction_id: bool = False) -> list[Account]:
    """:func:`lock_accounts` for the customer accounts ``public_ids``: one ``... ORDER BY id FOR NO
    KEY UPDATE``, which also finds each account's system account (``system_account_of``).

    Every deposit, withdrawal, transfer and batch locks this way, so on PostgreSQL the statement is
    fixed text rather than an ORM query built anew for each posting (which cost more CPU than
    PostgreSQL spends running it). An id that is not a customer account's is simply not returned.
    """
    if connection.vendor != "postgresql":
        systems = Account.objects.filter(is_system=True, currency=OuterRef("currency"))
        accounts = Account.objects.filter(public_id__in=public_ids, is_system=False).annotate(
            system_account_id=Subquery(systems.values("pk")), system_public_id=Subquery(systems.values("public_id"))
        )
        return list(accounts.order_by("pk"))
    sql = _lock_sql(reserve_transaction_id=reserve_transaction_id)
    return list(Account.objects.raw(sql, [list(public_ids)]))


@functools.cache
def _lock_sql(*, reserve_transaction_id: bool) -> str:
    table = Account._meta.db_table
    columns = ", ".join(f"a.{field.column}" for field in Account._meta.concrete_fields)
    reserve = f", {_NEXT_TRANSACTION_ID.sql} AS reserved_transaction_id" if reserve_transaction_id else ""
    return (
        f"SELECT {columns}, s.id AS system_account_id, s.public_id AS system_public_id{reserve} "  # noqa: S608
        f"FROM {table} a LEFT JOIN {table} s ON s.is_system AND s.currency = a.currency "
        "WHERE a.public_id = ANY(%s::uuid[]) AND NOT a.is_system ORDER BY a.id FOR NO KEY UPDATE OF a"
    )


def reserved_transaction_id(accounts: list[Account]) -> int | None:
    """The transaction id :func:`lock_accounts` drew with the locks, if it drew one."""
    return getattr(accounts[0], "reserved_transaction_id", None) if accounts else None


def _sqlstate(exc: DatabaseError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


# SQLSTATE classes of an error the server sent in answer to COMMIT, saying that it rolled the
# transaction back: data exceptions, integrity violations (a deferred trigger or foreign key),
# transaction rollbacks (serialization, deadlock), syntax or access rule violations.
_ROLLED_BACK_CLASSES = {"22", "23", "40", "42"}


def _commit_outcome_unknown(exc: DatabaseError) -> bool:
    """Whether an error raised by COMMIT leaves it unknown if the transaction committed.

    It does when the connection failed after COMMIT was sent: the server may have committed
    and lost only the answer. SQLite commits in this process, so its answer is never lost.
    """
    if connection.vendor != "postgresql":
        return False
    state = _sqlstate(exc)
    return state is None or state[:2] not in _ROLLED_BACK_CLASSES


OUTCOME_UNKNOWN_DETAIL = (
    "The connection to the database failed while the change was being committed: it may or may not "
    "have been made. Retry with the same Idempotency-Key: a posting that committed is replayed, one "
    "that did not is posted."
)


def run_atomically_with_retries(work: Callable[[], T]) -> T:
    """Run ``work`` in its own database transaction, retrying lost deadlock or serialization races.

    At most ``LEDGER_CONFLICT_RETRIES`` attempts, with jittered backoff; a lock wait that runs
    out, or the last lost race, raises :class:`Unavailable` (503) with nothing written. When
    the connection fails after COMMIT was sent, the outcome is unknown: :class:`Unavailable`
    with ``outcome="unknown"`` (a failure before COMMIT propagates, and means nothing was
    written). Inside an enclosing transaction (nothing to retry safely) ``work`` runs once.
    """
    attempts = 1 if connection.in_atomic_block else max(1, settings.LEDGER_CONFLICT_RETRIES)
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with db_transaction.atomic():
                result = work()
                committing = True  # Leaving the block commits; an error from here on is the COMMIT's.
            return result
        except DatabaseError as exc:
            if committing and not connection.in_atomic_block and _commit_outcome_unknown(exc):
                metrics.COMMIT_OUTCOME_UNKNOWN.inc()
                logger.error("the connection failed during COMMIT; the outcome is unknown: %s", exc)
                raise Unavailable(OUTCOME_UNKNOWN_DETAIL, outcome="unknown") from exc
            if not isinstance(exc, OperationalError):
                raise
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

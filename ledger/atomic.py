"""Every write runs in a database transaction of its own, retried when it loses a race.

:func:`run_atomically_with_retries` is how the posting engine (and every other write of the
books) commits: deadlocks and serialization failures are retried a bounded number of times; a
lock wait that runs out answers 503 with nothing written; a connection lost while COMMIT was on
its way says that the outcome is unknown, which only a retry with the same idempotency key can
settle.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.db import transaction as db_transaction

from ledger import metrics
from ledger.errors import Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_TIMEOUT_SQLSTATES = {"55P03", "57014"}  # lock_not_available, query_canceled (statement_timeout)


def _sqlstate(exc: DatabaseError) -> str | None:
    """Return the SQLSTATE the server sent with ``exc``, if the driver reports one."""
    return getattr(exc.__cause__, "sqlstate", None)


# SQLSTATE classes of an error the server sent in answer to COMMIT, saying that it rolled the
# transaction back: data exceptions, integrity violations (a deferred trigger or foreign key),
# transaction rollbacks (serialization, deadlock), syntax or access rule violations.
_ROLLED_BACK_CLASSES = {"22", "23", "40", "42"}


def _commit_outcome_unknown(exc: DatabaseError) -> bool:
    """Return whether an error raised by COMMIT leaves it unknown if the transaction committed.

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
    """Run ``work`` in a database transaction of its own, retrying lost deadlock or serialization races.

    At most ``LEDGER_CONFLICT_RETRIES`` attempts, with jittered backoff; a lock wait that runs
    out, or the last lost race, raises :class:`Unavailable` (503) with nothing written. When the
    connection fails after COMMIT was sent, the outcome is unknown: :class:`Unavailable` with
    ``outcome="unknown"`` (a failure before COMMIT propagates, and means nothing was written).

    The transaction is durable: called inside another one, where it could neither commit nor
    be retried, it raises ``RuntimeError`` instead of quietly becoming part of it.
    """
    attempts = max(1, settings.LEDGER_CONFLICT_RETRIES)
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with db_transaction.atomic(durable=True):
                result = work()
                committing = True  # Leaving the block commits; an error from here on is the COMMIT's.
            return result
        except DatabaseError as exc:
            if committing and _commit_outcome_unknown(exc):
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
    raise RuntimeError("unreachable: the last attempt returns or raises")

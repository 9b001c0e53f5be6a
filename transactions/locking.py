"""Row locks on accounts, always taken the same way so that writers can never deadlock.

Every write locks all the accounts it touches in one query, ``ORDER BY id FOR UPDATE``:
PostgreSQL locks the rows in the order it returns them, so two writers that share accounts
always queue on the lowest shared id first. Lock waits are bounded by the connection's
``lock_timeout`` (``LEDGER_LOCK_TIMEOUT_MS``). On SQLite ``select_for_update`` is a no-op;
there every write transaction starts with ``BEGIN IMMEDIATE`` and so holds the database lock.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection
from django.db import transaction as db_transaction
from django.db.models import Q

from accounts.models import Account
from ledger_project import metrics
from transactions.errors import Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
_TIMEOUT_SQLSTATES = {"55P03", "57014"}  # lock_not_available, query_canceled (statement_timeout)


def lock_accounts(condition: Q) -> list[Account]:
    """Lock and return the accounts matching ``condition``, in ascending primary-key order."""
    return list(Account.objects.select_for_update().filter(condition).order_by("pk"))


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

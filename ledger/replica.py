"""Reads from the streaming replica, only where the replica can be proven fresh enough, else from the primary.

A replica (``DATABASE_REPLICA_URL``, the ``replica`` alias) replays the primary's WAL with a
delay, and may be stopped. A selector that would read from it asks :func:`database_for` with a
freshness test, a query that says whether the replica has replayed at least what the primary
showed this request (for an account's history: the account's row with the primary's
``last_sequence``, ``transactions.selectors.history_database``). The answer is the replica only
when the test passes on it; otherwise, and whenever the replica fails to answer, the primary.
So a reader never sees less on the replica than it would have been answered by the primary.
The rows themselves are read through a :class:`FallbackQuerySet`: if the replica fails between
the test and the read, the same query is run on the primary.

A replica that fails (refused connection, timeout, a query cancelled by replay) is left alone
for :data:`RETRY_SECONDS` in this process, so its outage costs one failed attempt, not one per
request. What each read chose is counted in ``ledger_replica_reads_total``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseFailure
from django.db.models import Model, QuerySet

from ledger.metrics import REPLICA_READS

logger = logging.getLogger(__name__)

REPLICA = "replica"
RETRY_SECONDS = 5.0  # how long a failed replica is left alone before it is asked again

_M = TypeVar("_M", bound=Model)
_Row = TypeVar("_Row")

_lock = threading.Lock()
_failed_until = 0.0  # time.monotonic() before which this process does not ask the replica


def configured() -> bool:
    """Whether a read replica is configured (``DATABASE_REPLICA_URL``)."""
    return REPLICA in connections.databases


def database_for(fresh: Callable[[str], bool]) -> str:
    """Return the alias to read from: ``"replica"`` if it is configured, answers, and ``fresh("replica")``.

    Otherwise ``"default"``, the primary: no replica, the replica left alone after a failure,
    the replica failing now (its connection is closed and it is left alone for
    :data:`RETRY_SECONDS`), or ``fresh`` false (the replica has not replayed what it must show).
    """
    if not configured():
        return DEFAULT_DB_ALIAS
    if time.monotonic() < _failed_until:
        REPLICA_READS.labels(database="primary", reason="replica_failed").inc()
        return DEFAULT_DB_ALIAS
    try:
        is_fresh = fresh(REPLICA)
    except DatabaseFailure as exc:
        _failed(exc)
        return DEFAULT_DB_ALIAS
    if not is_fresh:
        REPLICA_READS.labels(database="primary", reason="replica_behind").inc()
        return DEFAULT_DB_ALIAS
    REPLICA_READS.labels(database="replica", reason="fresh").inc()
    return REPLICA


class FallbackQuerySet(QuerySet[_M, _Row]):
    """A queryset that, when reading the replica fails, runs the same query on the primary instead.

    The replica passed its freshness test a moment before; if it stops answering before the
    rows are read, the primary has them all (it is never behind), so the reader loses nothing.
    """

    def _fetch_all(self) -> None:
        if self._result_cache is None and self.db == REPLICA:
            try:
                super()._fetch_all()
                return
            except DatabaseFailure as exc:
                _failed(exc)
                self._db = DEFAULT_DB_ALIAS
        super()._fetch_all()


def _failed(exc: DatabaseFailure) -> None:
    """Leave the replica alone for :data:`RETRY_SECONDS` and drop this thread's connection to it."""
    global _failed_until
    with _lock:
        _failed_until = time.monotonic() + RETRY_SECONDS
    logger.warning("read replica failed, reading the primary for %.0f s: %s", RETRY_SECONDS, exc)
    REPLICA_READS.labels(database="primary", reason="replica_failed").inc()
    with contextlib.suppress(DatabaseFailure):  # Closing a broken connection may fail too: it is dropped anyway.
        connections[REPLICA].close()


def forget_failure() -> None:
    """Ask the replica again at the next read (for tests and operators who know it is back)."""
    global _failed_until
    _failed_until = 0.0

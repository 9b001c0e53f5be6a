"""Running the reconciliation checks, recording each run, and rebuilding stored balances.

``reconciliation_run`` runs the ten checks of :mod:`reconciliation.checks` in one read-only
snapshot (:func:`read_snapshot`): on PostgreSQL a ``REPEATABLE READ, READ ONLY`` transaction,
which takes no lock that a writer waits for, so the ledger keeps posting while it runs and
every check sees the same committed state. The run is recorded afterwards in a separate
short transaction, so checking itself writes nothing.

``balances_rebuild`` is the one sanctioned writer of balances besides the posting service:
it sets stored balances back to what the postings say, under the posting service's locks,
with an audit record per account.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, connection
from django.db import transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record_create
from reconciliation.checks import CHECKS, Check, CheckResult, Scope, SQLParam, sequential_plans, uuid_text
from reconciliation.models import ReconciliationRun
from transactions.engine.locking import lock_accounts

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

# How many postings statements a posting transaction runs after taking its timestamp, at most
# (insert the transaction, its postings, update the balances, bind the idempotency key, mark
# the original of a reversal, write its audit record, COMMIT).
POSTING_STATEMENTS_AFTER_TIMESTAMP = 7
# The connection's idle_in_transaction_session_timeout (ledger_project/settings.py).
IDLE_IN_TRANSACTION_TIMEOUT = timedelta(seconds=60)


def since_margin() -> timedelta:
    """Return how long a posting transaction can stay open after taking its ``created_at``, at most.

    A posting's ``created_at`` is taken in Python before its database transaction commits,
    so a posting can become visible after a ``--since`` run whose cutoff is later than its
    timestamp. The connection settings bound how late: each of the at most
    ``POSTING_STATEMENTS_AFTER_TIMESTAMP`` statements is cut off by ``statement_timeout``
    (``LEDGER_STATEMENT_TIMEOUT_MS``) and each pause between them by
    ``idle_in_transaction_session_timeout`` (60 s). With the defaults: 7 x (30 s + 60 s) =
    10.5 minutes. A ``--since`` run moves its cutoff back by this margin, so it can only
    check more than asked, never less. (It assumes the servers' clocks agree within seconds.)
    """
    statement = timedelta(milliseconds=settings.LEDGER_STATEMENT_TIMEOUT_MS)
    return POSTING_STATEMENTS_AFTER_TIMESTAMP * (statement + IDLE_IN_TRANSACTION_TIMEOUT)


def command_operator_label(command: str) -> str:
    """Return who runs a management command, as audit records and runs show it: ``manage.py <command> (user@host)``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # No name for this uid (e.g. in a container).
        user = "unknown"
    return f"manage.py {command} ({user}@{socket.gethostname()})"[:150]


@contextmanager
def read_snapshot(*, work_mem: str = "256MB") -> Iterator[CursorWrapper]:
    """Yield a cursor in one consistent, read-only snapshot of the database that blocks no writer.

    PostgreSQL: a ``REPEATABLE READ, READ ONLY`` transaction. It takes only the ``ACCESS
    SHARE`` locks of plain reads, which no insert or update waits for; every statement in it
    sees the data as it was when the first one ran, so a transaction that commits meanwhile is
    either wholly visible or not at all. The service's ``statement_timeout`` is lifted for
    this transaction only (a full pass over a large ledger's postings can outlast it), and
    ``work_mem`` raised for its sorts and hash aggregates.

    SQLite: a deferred transaction (not the ``BEGIN IMMEDIATE`` of writers), which reads one
    snapshot under WAL without taking the write lock.

    Inside an enclosing transaction (tests), that transaction is used as it is.
    """
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL statement_timeout = 0")
            yield cursor
        return
    if connection.vendor == "postgresql":
        with db_transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
            yield cursor
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED" if connection.vendor == "sqlite" else "BEGIN")
        try:
            yield cursor
        finally:
            cursor.execute("ROLLBACK")  # Nothing was written; ending the read transaction is all.


@dataclass
class RunOutcome:
    """A recorded run and what each check found, in the order of :data:`reconciliation.checks.CHECKS`."""

    run: ReconciliationRun
    results: list[CheckResult]


Progress = Callable[[Check, float | None, CheckResult | None], None]


def reconciliation_run(*, scope: Scope, run_by: str, progress: Progress | None = None) -> RunOutcome:
    """Run the ten checks over ``scope`` in one snapshot, then record the run.

    ``progress(check, None, None)`` is called before each check and ``progress(check,
    seconds, result)`` after it. A database error stops the run; it is recorded with result
    ``error`` (if the database still takes the write) and re-raised.
    """
    limit = ReconciliationRun.MAX_STORED_DISCREPANCIES
    started = timezone.now()
    results: list[CheckResult] = []
    timings: dict[str, float] = {}
    try:
        with read_snapshot() as cursor:
            scope = scope.resolve(cursor)
            for check in CHECKS:
                if progress is not None:
                    progress(check, None, None)
                began = time.monotonic()
                result = check.run(cursor, scope, limit)
                timings[check.name] = round(time.monotonic() - began, 3)
                results.append(result)
                if progress is not None:
                    progress(check, timings[check.name], result)
    except DatabaseError as exc:
        with suppress(DatabaseError):  # If the database is gone, the caller reports the original error.
            _record(scope, started, run_by, results, timings, error=str(exc).strip() or exc.__class__.__name__)
        raise
    return RunOutcome(_record(scope, started, run_by, results, timings), results)


def _record(
    scope: Scope,
    started: datetime,
    run_by: str,
    results: list[CheckResult],
    timings: dict[str, float],
    *,
    error: str = "",
) -> ReconciliationRun:
    """Record a run over ``scope`` with what its checks found (``error``: why it stopped, if it did)."""
    from accounts.models import Account

    count = sum(result.count for result in results)
    stored = [d.as_dict() for result in results for d in result.discrepancies]
    if error:
        outcome = ReconciliationRun.Result.ERROR
    else:
        outcome = ReconciliationRun.Result.DISCREPANCIES if count else ReconciliationRun.Result.CLEAN
    account = ""
    if scope.kind == "account" and scope.account_pk is not None:
        account = str(Account.objects.filter(pk=scope.account_pk).values_list("public_id", flat=True).first() or "")
    return ReconciliationRun.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        scope=scope.kind,
        scope_account=account,
        since=scope.cutoff,
        checks={
            result.name: {"discrepancies": result.count, "seconds": timings.get(result.name)} for result in results
        },
        result=outcome,
        discrepancy_count=count,
        discrepancies=stored[: ReconciliationRun.MAX_STORED_DISCREPANCIES],
        error=error,
        run_by=run_by,
    )


# --- rebuilding stored balances ------------------------------------------------------------


@dataclass(frozen=True)
class BalanceDrift:
    """An account whose stored balance or last sequence disagrees with its postings."""

    account_pk: int
    public_id: str
    currency: str
    is_system: bool
    stored_balance: int
    derived_balance: int
    stored_sequence: int
    derived_sequence: int

    @property
    def repairable(self) -> bool:
        """Whether a rebuild may set the derived balance: never a customer balance below zero.

        A customer account whose postings sum below zero has wrong postings, not a wrong balance.
        """
        return self.is_system or self.derived_balance >= 0


def balance_drifts(*, account_pks: list[int] | None = None) -> list[BalanceDrift]:
    """Return the customer accounts whose stored balance or ``last_sequence`` disagrees with their postings.

    The balance is compared with the sum of the postings and ``last_sequence`` with their highest
    sequence, in one set-based query. (System accounts store no balance: theirs is derived, see
    ``accounts.models``.)
    """
    condition = "1 = 1"
    params: list[SQLParam] = []
    if account_pks is not None:
        if not account_pks:
            return []
        if connection.vendor == "postgresql":
            condition, params = "a.id = ANY(%s)", [list(account_pks)]
        else:
            condition, params = f"a.id IN ({', '.join(['%s'] * len(account_pks))})", list(account_pks)
    posting_condition = condition.replace("a.id", "p.account_id")
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""  # see checks.check_balances
    query = f"""
        WITH sums AS {materialized} (
            SELECT p.account_id, SUM(p.amount_minor) AS total, MAX(p.sequence) AS top
              FROM transactions_posting p
             WHERE {posting_condition}
             GROUP BY p.account_id)
        SELECT a.id, a.public_id, a.currency, a.is_system, a.balance_minor, COALESCE(s.total, 0),
               a.last_sequence, COALESCE(s.top, 0)
          FROM accounts_account a
          LEFT JOIN sums s ON s.account_id = a.id
         WHERE {condition} AND NOT a.is_system
           AND (a.balance_minor <> COALESCE(s.total, 0) OR a.last_sequence <> COALESCE(s.top, 0))
         ORDER BY a.id
    """  # noqa: S608 (fixed text; the values are parameters)
    # In a snapshot of its own unless called inside a transaction (balances_rebuild, under its locks).
    with read_snapshot() as cursor, sequential_plans(cursor, sequential=account_pks is None):
        cursor.execute(query, params * 2)
        rows = cursor.fetchall()
    return [
        BalanceDrift(
            account_pk=pk,
            public_id=uuid_text(public_id) or "",
            currency=currency,
            is_system=bool(is_system),
            stored_balance=int(stored),
            derived_balance=int(derived),
            stored_sequence=int(stored_sequence),
            derived_sequence=int(derived_sequence),
        )
        for pk, public_id, currency, is_system, stored, derived, stored_sequence, derived_sequence in rows
    ]


def balances_rebuild(*, account_pks: list[int], reason: str, operator_label: str) -> list[BalanceDrift]:
    """Set the stored balance and ``last_sequence`` of these accounts to what their postings say.

    In one transaction: lock the accounts as the posting service does (one ``SELECT ...
    ORDER BY id FOR UPDATE``), recompute their drift under the lock (a posting that committed
    meanwhile is counted, one that has not yet cannot start), update each drifted account and
    write one audit record per account changed. Return what was changed; refuse, changing
    nothing, when a customer account's postings sum below zero (``ValueError``).
    """
    if not reason.strip():
        raise ValueError("a reason is required")
    from accounts.models import Account

    with db_transaction.atomic():
        lock_accounts(Q(pk__in=account_pks))
        drifts = balance_drifts(account_pks=account_pks)
        broken = [drift.public_id for drift in drifts if not drift.repairable]
        if broken:
            raise ValueError(f"postings of customer accounts sum below zero: {', '.join(broken)}")
        now = timezone.now()
        for drift in drifts:
            Account.objects.filter(pk=drift.account_pk).update(
                balance_minor=drift.derived_balance, last_sequence=drift.derived_sequence, updated_at=now
            )
            audit_record_create(
                action="rebuild_balance",
                target_type="account",
                target_id=drift.public_id,
                reason=reason.strip(),
                operator=None,
                operator_label=operator_label,
                details={
                    "from": drift.stored_balance,
                    "to": drift.derived_balance,
                    "last_sequence_from": drift.stored_sequence,
                    "last_sequence_to": drift.derived_sequence,
                    "currency": drift.currency,
                },
            )
    return drifts

"""Commit order: which rows a reader may page through without missing one that commits late.

Ids are drawn from a sequence when a row is inserted, not when its transaction commits, so a
row with a lower id can become visible after one with a higher id. A reader that pages by id
(``id > last``, or ``id < last`` newest first) can therefore walk past a row that was still
uncommitted, and never see it.

The method, as event stores on PostgreSQL do it (docs/events.md): every row that a list pages
through records the id of the database transaction that inserted it (``txid``, PostgreSQL's
``pg_current_xact_id()``, a 64-bit ``xid8`` that never wraps), and a reader sees only rows
below the *horizon* of its snapshot, ``pg_snapshot_xmin(pg_current_snapshot())``: every
transaction with a lower id has finished, committed or rolled back, so no row below the
horizon can still appear. Lists are ordered by ``(txid, id)``. A row that commits later has a
``txid`` at or above the horizon of every page already read, so it sorts after all of them
(oldest first) or before all of them (newest first): it is never skipped, and nothing is
repeated. The rows a reader's own, still open transaction wrote are visible to it too (it
sees them in its snapshot, and nothing can commit into the range they close).

Invariants: ``txid`` is set by the database when a row is inserted and never changes; the
horizon never moves backwards. History that is not a change made now carries :data:`IMPORTED`
(1, below every real transaction id), so it keeps its id order ahead of new rows: the rows that
existed before a table gained the column, and history written in bulk by the seeders
(``transactions.engine.bulk``), which writes no events either.

On SQLite there is one writer at a time, holding the database's write lock from its first
write to its commit: ids are drawn in commit order, ``txid`` is 2 for every row written (1 for
imported history), and the order is the id order.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet
from django.db.models.expressions import Expression, RawSQL
from django.db.models.sql.compiler import SQLCompiler

_M = Any  # The model of a queryset: any model with a ``txid`` field.

IMPORTED = 1  # The ``txid`` of history imported rather than changed now: before every transaction's rows.
DEFAULT_SQL = "pg_current_xact_id()"  # The column's default on PostgreSQL: the inserting transaction's id.


class CurrentTransactionId(models.Func):
    """The database default of a ``txid`` column: ``pg_current_xact_id()``; 0 on SQLite."""

    template = DEFAULT_SQL
    arity = 0
    output_field: models.Field[Any, Any] = models.BigIntegerField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        """SQLite draws ids in commit order: every row's ``txid`` is the same there, after imported history."""
        return str(IMPORTED + 1), ()


class TransactionIdField(models.BigIntegerField):  # type: ignore[type-arg]
    """The id of the database transaction that inserted the row: ``xid8`` on PostgreSQL.

    Read as a Python ``int``; written (compared in lookups) as text, which PostgreSQL casts to
    ``xid8`` (it has no cast from ``bigint``).
    """

    description = "Inserting database transaction id"

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        """Return ``xid8`` on PostgreSQL, ``bigint`` elsewhere."""
        return "xid8" if connection.vendor == "postgresql" else "bigint"

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> int | None:
        """Return the id as an ``int`` (psycopg reads ``xid8`` as text)."""
        return None if value is None else int(value)

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        """Return ``value`` as PostgreSQL compares it with ``xid8`` (text), or as an integer elsewhere."""
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return str(int(value)) if connection.vendor == "postgresql" else int(value)


def txid_field() -> TransactionIdField:
    """Return the ``txid`` field every commit-ordered model declares (set by the database on insert)."""
    return TransactionIdField(
        db_default=CurrentTransactionId(),
        editable=False,
        help_text="The database transaction that inserted the row; lists page in (txid, id) order.",
    )


def _horizon() -> Expression:
    return RawSQL("pg_snapshot_xmin(pg_current_snapshot())", (), output_field=TransactionIdField())


def _own_transaction() -> Expression:
    return RawSQL("pg_current_xact_id_if_assigned()", (), output_field=TransactionIdField())


def committed(queryset: QuerySet[_M, Any]) -> QuerySet[_M, Any]:
    """Return the rows of ``queryset`` that no later commit can precede: below the horizon, or the reader's own.

    On PostgreSQL only; elsewhere every visible row is final in commit order already.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset
    return queryset.filter(Q(txid__lt=_horizon()) | Q(txid=_own_transaction()))


Position = tuple[int, int]  # (txid, id) of a row: its place in commit order.


def after(position: Position) -> Q:
    """Return the condition "later in commit order than ``position``"."""
    txid, pk = position
    return Q(txid__gte=txid) & (Q(txid__gt=txid) | Q(pk__gt=pk))


def before(position: Position) -> Q:
    """Return the condition "earlier in commit order than ``position``"."""
    txid, pk = position
    return Q(txid__lte=txid) & (Q(txid__lt=txid) | Q(pk__lt=pk))


OLDEST_FIRST = ("txid", "id")
NEWEST_FIRST = ("-txid", "-id")

"""Trigram indexes for case-insensitive "contains" search, created concurrently and on PostgreSQL only.

Django compiles ``field__icontains=term`` on PostgreSQL to ``UPPER("field"::text) LIKE UPPER('%term%')``;
a GIN index of ``gin_trgm_ops`` on ``UPPER(field)`` (the same expression: a ``varchar`` is cast
to ``text`` by ``UPPER`` anyway) answers it without reading the table, for a term of three
characters or more. The extension comes first (``TrigramExtension``, in its own migration).

The indexes are database-only (``SeparateDatabaseAndState`` in the migrations, nothing in the
models' ``Meta``): on SQLite, which has no GIN, they are not made and the search scans, and
SQLite's table rebuilds never try to recreate them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db.models.functions import Upper


def trigram_index(field: str, name: str) -> GinIndex:
    """Return the GIN trigram index on ``UPPER(field)`` that ``field__icontains`` uses."""
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)


class AddTrigramIndexConcurrently(AddIndexConcurrently):
    """``CREATE INDEX CONCURRENTLY`` (and ``DROP INDEX CONCURRENTLY`` back) on PostgreSQL; nothing elsewhere.

    Its migration must be ``atomic = False``: PostgreSQL builds a concurrent index outside a
    transaction, without blocking writes to the table.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresTrigramExtension(TrigramExtension):
    """``CREATE EXTENSION pg_trgm`` on PostgreSQL, nothing elsewhere, both ways.

    Django's ``CreateExtension`` skips other databases going forwards only: backwards it asks
    SQLite for ``pg_extension``.
    """

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

"""Migration operations that stay safe on large tables.

Import them in migrations like Django's own operations; they hold no application logic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently, ValidateConstraint
from django.db import migrations

from ledger import commit_order

if TYPE_CHECKING:
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.migrations.state import ProjectState


class AddCheckConstraintWithoutBlocking(migrations.AddConstraint):
    """Add a CHECK constraint without blocking writes while the existing rows are checked.

    On PostgreSQL: ``ADD CONSTRAINT ... NOT VALID`` (a brief exclusive lock; new rows are
    checked from then on), then ``VALIDATE CONSTRAINT``, which scans the table under a lock
    that lets inserts and updates proceed. In a migration with ``atomic = False`` the two run
    in separate transactions, so the exclusive lock is not held during the scan. Elsewhere
    (SQLite), a plain :class:`~django.db.migrations.AddConstraint`.
    """

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        """Add the constraint ``NOT VALID``, then validate it (on PostgreSQL; elsewhere, add it)."""
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        AddConstraintNotValid(self.model_name, self.constraint).database_forwards(
            app_label, schema_editor, from_state, to_state
        )
        ValidateConstraint(self.model_name, self.constraint.name).database_forwards(
            app_label, schema_editor, from_state, to_state
        )


class AddIndexWithoutBlocking(migrations.AddIndex):
    """Add an index without blocking writes to the table while it is built.

    On PostgreSQL: ``CREATE INDEX CONCURRENTLY`` (the migration must be ``atomic = False``);
    elsewhere (SQLite), a plain :class:`~django.db.migrations.AddIndex`. Reversed by
    ``DROP INDEX CONCURRENTLY`` on PostgreSQL.
    """

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        """Build the index concurrently on PostgreSQL; elsewhere, add it."""
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        AddIndexConcurrently(self.model_name, self.index).database_forwards(
            app_label, schema_editor, from_state, to_state
        )

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        """Drop the index (concurrently on PostgreSQL)."""
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        AddIndexConcurrently(self.model_name, self.index).database_backwards(
            app_label, schema_editor, from_state, to_state
        )


class AddFieldExceptOnPostgreSQL(migrations.AddField):
    """Add the field to the state everywhere, and to the table as Django does except on PostgreSQL.

    PostgreSQL gets the column (and its foreign key, ``NOT VALID`` then validated, which does not
    block writes) from the migration's own statements (:func:`run_sql_on_postgresql`).
    """

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def run_sql_on_postgresql(forwards: str, backwards: str) -> migrations.RunPython:
    """Return an operation that runs ``forwards`` (reversed by ``backwards``) on PostgreSQL, and nothing elsewhere.

    For what only PostgreSQL has: triggers, and the statements that add a column without blocking.
    """

    def runner(sql: str) -> Callable[[object, BaseDatabaseSchemaEditor], None]:
        def run(apps: object, schema_editor: BaseDatabaseSchemaEditor) -> None:
            if schema_editor.connection.vendor == "postgresql":
                with schema_editor.connection.cursor() as cursor:
                    cursor.execute(sql)

        return run

    return migrations.RunPython(runner(forwards), runner(backwards), elidable=False)


class AddTransactionIdField(migrations.AddField):
    """Add a ``txid`` field (``ledger.commit_order``) to an existing table without rewriting it.

    On PostgreSQL a column with a volatile default (``pg_current_xact_id()``) would be written
    into every existing row under an exclusive lock. Instead the column is added ``NOT NULL
    DEFAULT '1'`` (a constant: existing rows read 1 from the catalogue, nothing is rewritten),
    then its default becomes ``pg_current_xact_id()`` for new rows; both are brief catalogue
    changes. Elsewhere (SQLite), a plain :class:`~django.db.migrations.AddField`.
    """

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        """Add the column with the constant default, then switch the default (on PostgreSQL)."""
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        table = schema_editor.quote_name(to_state.apps.get_model(app_label, self.model_name)._meta.db_table)
        column = schema_editor.quote_name(self.name)
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} xid8 NOT NULL DEFAULT '{commit_order.IMPORTED}'"
        )
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {commit_order.DEFAULT_SQL}")

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState, to_state: ProjectState
    ) -> None:
        """Drop the column (on PostgreSQL directly; elsewhere as Django removes a field)."""
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        table = schema_editor.quote_name(from_state.apps.get_model(app_label, self.model_name)._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN {schema_editor.quote_name(self.name)}")

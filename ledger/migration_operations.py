"""Migration operations that stay safe on large tables.

Import them in migrations like Django's own operations; they hold no application logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint
from django.db import migrations

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

"""Database routing: the primary holds the schema and serves every query by default.

A read replica (``DATABASE_REPLICA_URL``) is used only where a selector asks for it
explicitly, after proving it fresh enough (``ledger.replica``), so nothing reads stale data by
accident.
"""

from django.db.models import Model


class PrimaryReplicaRouter:
    """Every query and every migration on the primary; the replica is read only when a selector names it."""

    def db_for_read(self, model: type[Model], **hints: object) -> str:
        return "default"

    def db_for_write(self, model: type[Model], **hints: object) -> str:
        return "default"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: object) -> bool:
        return True  # Same data on both.

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: object) -> bool:
        return db == "default"

"""Database routing: the primary holds the schema and serves every query by default.

A read replica (``DATABASE_REPLICA_URL``) is used only where a selector asks for it
explicitly (``settings.LEDGER_HISTORY_DATABASE``), so nothing reads stale data by accident.
"""


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # Same data on both.

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == "default"

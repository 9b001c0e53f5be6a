from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_system_accounts(sender: AppConfig, using: str = "default", plan: object = None, **kwargs: object) -> None:
    """Ensure every configured currency has its system account, once the schema is in place (``post_migrate``).

    Not after migrating backwards: the schema is then older than the models.
    """
    from django.conf import settings
    from django.db import connections

    from accounts.models import Account
    from accounts.services import system_account_ensure

    if isinstance(plan, list) and any(backwards for _, backwards in plan):
        return
    if Account._meta.db_table not in connections[using].introspection.table_names():
        return  # Migrated backwards past the accounts table.
    for currency in settings.LEDGER_CURRENCIES:
        system_account_ensure(currency=currency)


class TransactionsConfig(AppConfig):
    name = "transactions"
    verbose_name = "Ledger transactions"

    def ready(self) -> None:
        """Check ``LEDGER_CURRENCIES`` now, and ensure the system accounts after every ``migrate``."""
        from ledger import money

        money.currencies()  # Fail at start-up, not at the first request, on a bad LEDGER_CURRENCIES.
        post_migrate.connect(_ensure_system_accounts, sender=self)

"""The operator console's app: ``console.admin`` registers every ledger model on the admin site."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Operator console"

    def ready(self) -> None:
        from console import checks  # noqa: F401 (registers the console's system checks)

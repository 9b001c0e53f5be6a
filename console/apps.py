"""The operator console's app: ``console.admin`` registers every ledger model on the admin site."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Operator console"

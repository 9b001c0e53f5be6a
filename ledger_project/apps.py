"""The composition root as a Django application: what every ledger process does once Django is set up."""

from django.apps import AppConfig


class LedgerProjectConfig(AppConfig):
    """Starts OpenTelemetry tracing (``ledger_project.tracing``) in every process, when it is asked for.

    ``ready`` runs once per process, after the settings and before any request, connection or
    command: in each gunicorn worker after its fork (the application is loaded there, not in
    the master), in ``manage.py relay_events``, ``grpcserver`` and the other commands.
    """

    name = "ledger_project"
    verbose_name = "Ledger service"

    def ready(self) -> None:
        from ledger_project.tracing import configure_tracing

        configure_tracing()

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API; its commands manage API clients (``create_api_client``, ``setup_demo``)."""

    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        """Register the documents the outbox renders its events' data with, and the schema's token scheme."""
        from api import openapi  # noqa: F401  # Registers the tokenAuth extension.
        from api.documents import register_event_renderers

        register_event_renderers()

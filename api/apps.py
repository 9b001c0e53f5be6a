from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API; its commands manage API clients (``create_api_client``, ``setup_demo``)."""

    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        """Register the documents the outbox renders its events' data with."""
        from api.documents import register_event_renderers

        register_event_renderers()

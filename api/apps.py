from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API; its commands manage API clients (``create_api_client``, ``setup_demo``)."""

    name = "api"
    verbose_name = "REST API"

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Webhooks: clients' endpoints, and the signed deliveries of the events they may see."""

    name = "webhooks"
    verbose_name = "Webhooks"

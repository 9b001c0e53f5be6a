from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The outbox: the events every change to the books writes in its own database transaction."""

    name = "events"
    verbose_name = "Events"

"""Per-client request throttling at ``LEDGER_THROTTLE_RATE`` (read on every request)."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class ClientRateThrottle(UserRateThrottle):
    """Limits each authenticated API client to ``LEDGER_THROTTLE_RATE``."""

    def get_rate(self) -> str | None:
        return settings.LEDGER_THROTTLE_RATE


class AnonymousRateThrottle(AnonRateThrottle):
    """Limits unauthenticated callers, per address, to ``LEDGER_THROTTLE_RATE``."""

    def get_rate(self) -> str | None:
        return settings.LEDGER_THROTTLE_RATE

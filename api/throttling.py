"""Per-client request throttling at ``LEDGER_THROTTLE_RATE`` (read on every request).

Counters live in Django's cache: Redis when ``REDIS_URL`` is set, so every instance shares
them. If the cache cannot be reached, requests are let through (and logged): throttling
protects the ledger, it must not take it down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:  # Not at run time: REST framework imports this module while defining APIView.
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class _FailOpen(SimpleRateThrottle):
    """A throttle at ``LEDGER_THROTTLE_RATE`` that lets requests through when its cache is unreachable."""

    def get_rate(self) -> str | None:
        return settings.LEDGER_THROTTLE_RATE

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # The cache backend's connection errors vary by backend.
            logger.warning("throttle cache unreachable, letting the request through: %s", type(exc).__name__)
            return True


class ClientRateThrottle(_FailOpen, UserRateThrottle):
    """Limits each authenticated API client to ``LEDGER_THROTTLE_RATE``."""


class AnonymousRateThrottle(_FailOpen, AnonRateThrottle):
    """Limits unauthenticated callers, per address, to ``LEDGER_THROTTLE_RATE``."""

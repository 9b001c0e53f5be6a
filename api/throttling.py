"""Per-client request throttling at ``LEDGER_THROTTLE_RATE`` (read on every request).

A fixed window per client: one counter per client and window, raised atomically
(:func:`api.counters.hit`), refused once over the rate until the window ends. REST
framework's own throttles keep every request's timestamp in one cached list that each request
reads, rewrites and sends back whole (at 100 requests a second, 6,000 timestamps pickled both
ways on every request), and two instances rewriting it at once lose each other's requests.
The price of the fixed window is the usual one: a client may send up to twice the rate across
a window boundary.

Counters live in Redis when ``REDIS_URL`` is set, so every instance shares them
(:mod:`api.counters`), else in each process's memory. If the store cannot be reached,
requests are let through (and logged): throttling protects the ledger, it must not take it
down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from api import counters

if TYPE_CHECKING:  # Not at run time: REST framework imports this module while defining APIView.
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class _FailOpen(SimpleRateThrottle):
    """A fixed-window throttle at ``LEDGER_THROTTLE_RATE`` that lets requests through when its cache is unreachable."""

    num_requests: int  # Both set by SimpleRateThrottle.__init__ from the rate.
    duration: int
    retry_in: float = 0.0  # Seconds until the window of the last request counted ends.

    def get_rate(self) -> str | None:
        return settings.LEDGER_THROTTLE_RATE

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Count the request in its client's current window; refuse it once the window's count is over the rate."""
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.retry_in = (window + 1) * self.duration - now
        try:
            count = counters.hit(f"{ident}:{self.duration}:{window}", self.duration)
        except Exception as exc:  # The store's connection errors vary by backend.
            logger.warning("throttle cache unreachable, letting the request through: %s", type(exc).__name__)
            return True
        return count <= self.num_requests

    def wait(self) -> float:
        """Return the seconds until the refused client's window ends."""
        return self.retry_in


class ClientRateThrottle(_FailOpen, UserRateThrottle):
    """Limits each authenticated API client to ``LEDGER_THROTTLE_RATE``."""


class AnonymousRateThrottle(_FailOpen, AnonRateThrottle):
    """Limits unauthenticated callers, per address, to ``LEDGER_THROTTLE_RATE``."""

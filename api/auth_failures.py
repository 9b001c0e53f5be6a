"""Failed authentication, throttled per client address: API tokens and admin passwords alike.

An address that fails ``LEDGER_AUTH_FAILURE_RATE`` times (default ``30/min``) within one
window is refused every authentication attempt, right or wrong, until the window ends:
answered 429 ``throttled`` with ``Retry-After`` by the API, and as a failed login by the
admin. So credentials cannot be guessed faster than that rate from one address. Counters
live in Redis when ``REDIS_URL`` is set, so every instance shares them (:mod:`api.counters`). If
the cache cannot be reached, attempts are let through (and logged), as request throttling
does: the throttle protects the ledger, it must not take it down.

The address is the one REST framework's throttles use: ``REMOTE_ADDR``, or with
``LEDGER_NUM_PROXIES`` set the address that many trusted proxies saw (``X-Forwarded-For``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from api import counters

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate() -> tuple[int, int] | None:
    """Return ``(failures allowed, window in seconds)``, or ``None`` when the throttle is off."""
    rate = settings.LEDGER_AUTH_FAILURE_RATE
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def client_address(request: Any) -> str:
    """Return the address failures are counted against (the same as the request throttles')."""
    return BaseThrottle().get_ident(request)


def _key(address: str, window: int, period: int) -> str:
    """Return the cache key counting ``address``'s failures in one window."""
    return f"auth-failures:{period}:{window}:{address}"


def retry_after(address: str) -> int | None:
    """Return the seconds until ``address`` may authenticate again, or ``None`` if it may now."""
    rate = _rate()
    if rate is None:
        return None
    limit, period = rate
    now = time.time()
    window = int(now // period)
    try:
        failures = counters.peek(_key(address, window, period))
    except Exception as exc:  # The cache backend's connection errors vary by backend.
        logger.warning("authentication throttle cache unreachable, letting the attempt through: %s", type(exc).__name__)
        return None
    if failures < limit:
        return None
    return max(1, int((window + 1) * period - now + 0.999))


def record_failure(address: str) -> None:
    """Count one failed authentication from ``address`` in the current window."""
    rate = _rate()
    if rate is None:
        return
    _, period = rate
    key = _key(address, int(time.time() // period), period)
    try:
        counters.hit(key, period)
    except Exception as exc:
        logger.warning("authentication throttle cache unreachable, failure not counted: %s", type(exc).__name__)


class ThrottledModelBackend(ModelBackend):
    """Django's username and password backend (the admin's login), under the same throttle."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:  # fmt: skip
        """Authenticate by username and password, unless the address is over the failure rate."""
        address = client_address(request) if request is not None else None
        if address is not None and retry_after(address) is not None:
            raise PermissionDenied("too many failed logins from this address")  # Stops every backend.
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and address is not None:
            record_failure(address)
        return user

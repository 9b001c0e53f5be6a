"""Request ids (every response carries ``X-Request-ID``) and the per-request log line and metrics."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from log_request_id.middleware import RequestIDMiddleware as _LibraryRequestIDMiddleware

from ledger import metrics

request_logger = logging.getLogger("ledger.request")

# A caller's id is echoed only when it is short and plain; anything else is replaced.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


class RequestIDMiddleware(_LibraryRequestIDMiddleware):
    """django-log-request-id's middleware, refusing to echo oversized or odd caller ids."""

    def _get_request_id(self, request: HttpRequest) -> str:
        """Return the caller's ``X-Request-ID`` if it is short and plain, else a new id."""
        request_id = super()._get_request_id(request)
        if not _ACCEPTABLE_ID.fullmatch(request_id):
            return self._generate_id()
        return request_id


class RequestLogMiddleware:
    """One log line and one metrics sample per request: client, route, method, status, duration.

    The route is the URL pattern's name (bounded, never the raw path); no headers, tokens or
    bodies are logged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match else "unmatched"
        user = getattr(request, "user", None)
        client = user.get_username() if user is not None and user.is_authenticated else None
        metrics.HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(route, request.method).observe(elapsed)
        metrics.record_pool_usage()
        request_logger.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "client": client,
                "route": route,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response


class NoStoreMiddleware:
    """Mark every answer ``Cache-Control: no-store`` unless it says otherwise (static files do).

    Balances, transactions and problem documents must never be kept by a browser, a proxy or
    a shared cache; the outermost middleware, so that the error handlers' answers carry it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response

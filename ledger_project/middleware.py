"""Request ids (every response carries ``X-Request-ID``) and the per-request log line and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string
from log_request_id.middleware import RequestIDMiddleware as _LibraryRequestIDMiddleware

from ledger import metrics, request_ids

request_logger = logging.getLogger("ledger.request")


class RequestIDMiddleware(_LibraryRequestIDMiddleware):
    """django-log-request-id's middleware, refusing to echo oversized or odd caller ids."""

    def _get_request_id(self, request: HttpRequest) -> str:
        """Return the caller's ``X-Request-ID`` if it is short and plain, else a new id."""
        request_id = super()._get_request_id(request)
        if not request_ids.acceptable(request_id):
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


class ConsoleMiddleware:
    """The middleware only the console needs (``settings.CONSOLE_MIDDLEWARE``), skipped on ``/api/v1/``.

    Static files, sessions, CSRF, session authentication and messages serve the admin and the
    API's documentation pages. The JSON API authenticates every request by its token, keeps no
    session and sets no cookie, so its requests bypass them (docs/benchmarks.md, "A lean request
    path"). The inner middleware are loaded as Django loads its own (each layer converting
    exceptions to responses), and their ``process_view`` hooks, which Django collects only from
    ``MIDDLEWARE`` itself, run from this one's, in order: CSRF protection is the console's and
    stays exactly as it was.
    """

    API_PREFIX = "/api/v1/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        handler: Callable[[HttpRequest], Any] = get_response
        view_hooks: list[Callable[..., HttpResponseBase | None]] = []
        for path in reversed(settings.CONSOLE_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                view_hooks.insert(0, instance.process_view)
            handler = convert_exception_to_response(instance)
        self.console = handler
        self.view_hooks = view_hooks

    def _is_api(self, request: HttpRequest) -> bool:
        return request.path_info.startswith(self.API_PREFIX)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self._is_api(request):
            return self.get_response(request)
        return self.console(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponseBase], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponseBase | None:
        """Run the inner middleware's ``process_view`` hooks (CSRF's) outside the API; the first answer wins."""
        if self._is_api(request):
            return None
        for hook in self.view_hooks:
            response = hook(request, view, args, kwargs)
            if response is not None:
                return response
        return None

"""RFC 9457 problem documents: the one place where every API error is shaped.

A problem is ``{"type", "title", "status", "detail", "code", "errors"?, "request_id"}``
served as ``application/problem+json``. ``code`` is the stable machine code of the contract.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from api.parsers import PayloadTooLarge
from api.problem_codes import EXPLANATIONS, problem_page_path
from ledger import metrics
from ledger.errors import ALL_ERRORS, LedgerError, NotFound, Unavailable, ValidationFailed

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Titles for the codes that REST framework itself raises.
_FRAMEWORK_TITLES = {
    "parse_error": "Malformed request body",
    "not_authenticated": "Authentication required",
    "authentication_failed": "Authentication failed",
    "permission_denied": "Permission denied",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "not_acceptable": "Not acceptable",
    "unsupported_media_type": "Unsupported media type",
    "payload_too_large": "Payload too large",
    "throttled": "Too many requests",
    "server_error": "Internal server error",
}
# Titles for the requests gunicorn refuses before the app runs (ledger_project/gunicorn_worker.py).
_SERVER_TITLES = {
    "uri_too_long": "URI too long",
    "request_header_fields_too_large": "Request header fields too large",
    "expectation_failed": "Expectation failed",
    "not_implemented": "Not implemented",
}
TITLES: dict[str, str] = {
    **_FRAMEWORK_TITLES,
    **_SERVER_TITLES,
    **{error.code: error.title for error in ALL_ERRORS},
}


def problem_type(request: HttpRequest | None, code: str) -> str:
    """Return the problem type's URI: absolute on this host, else relative.

    Relative when the request names no host this service answers for: building it must never
    raise, since it shapes every error.
    """
    path = problem_page_path(code)
    if request is None:
        return path
    try:
        return request.build_absolute_uri(path)
    except DisallowedHost:
        return path


def problem_body(
    request: HttpRequest | None,
    *,
    status: int,
    code: str,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return the problem document of a refusal, and count it (``ledger_refusals_total``)."""
    body: dict[str, Any] = {
        "type": problem_type(request, code),
        "title": TITLES.get(code, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    body["request_id"] = getattr(request, "id", None)
    metrics.REFUSALS.labels(code).inc()
    return body


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten nested field errors: ``{"a": {"b": ["x"]}}`` -> ``{"a.b": ["x"]}``.

    A bare list belongs to ``non_field_errors``.
    """
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]} if messages else {}


def _as_ledger_error(exc: Exception) -> LedgerError | None:
    """Return the ledger refusal ``exc`` stands for (a 404, an unavailable database), or ``None``."""
    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc)
        return Unavailable()
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer every error a view raised with a problem document (REST framework's ``EXCEPTION_HANDLER``)."""
    request = context.get("request")
    error = _as_ledger_error(exc)
    if error is not None:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        body = problem_body(
            request, status=error.status, code=error.code, detail=error.detail, errors=error.errors, **error.extra
        )
        return Response(body, status=error.status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body must be at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request was refused as malformed.")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # Unexpected: Django's 500 handler answers (see server_error below).

    if not isinstance(exc, exceptions.APIException):  # REST framework answers nothing else (Http404: above).
        raise TypeError(f"REST framework answered {type(exc).__name__}, which is not one of its exceptions")
    if isinstance(exc, exceptions.ValidationError):
        code, detail = ValidationFailed.code, ValidationFailed.default_detail
        errors = flatten_errors(exc.detail)
    else:
        code = getattr(exc, "default_code", "error")
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
        errors = None
    response.data = problem_body(request, status=response.status_code, code=code, detail=detail, errors=errors)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _problem_response(
    request: HttpRequest, status: int, code: str, detail: str, errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    """Return a problem document answered outside REST framework (Django's error handlers)."""
    body = problem_body(request, status=status, code=code, detail=detail, errors=errors)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Answer a 404: a problem document under ``/api/``, Django's page elsewhere (``handler404``)."""
    if request.path.startswith("/api/"):
        return _problem_response(request, 404, "not_found", "No such resource.")
    from django.views.defaults import page_not_found as default

    return default(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer a 500 without an HTML page or a stack trace for API clients (``handler500``)."""
    if request.path.startswith("/api/"):
        return _problem_response(request, 500, "server_error", "An unexpected error occurred; it has been logged.")
    from django.views.defaults import server_error as default

    return default(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a request Django refused before any view ran: under ``/api/``, a problem document.

    An unknown ``Host`` is among them (``DJANGO_ALLOWED_HOSTS``). Django's ``handler400``.
    """
    if request.path.startswith("/api/"):
        if isinstance(exception, DisallowedHost):
            detail = "The Host header names no host this service answers for."
            return _problem_response(request, 400, ValidationFailed.code, detail, errors={"Host": [detail]})
        return _problem_response(request, 400, "parse_error", "The request was refused as malformed.")
    from django.views.defaults import bad_request as default

    return default(request, exception)


@extend_schema(exclude=True)
class ProblemTypeView(APIView):
    """Describes a problem ``type`` URI, so that the type of every problem document resolves.

    Answers ``{"type", "code", "title", "explanation"}``: the explanation says what happened and
    what to do (``api.problem_codes``).

    A class rather than ``@api_view``, whose methods come from a set: its ``Allow`` header
    changed order from one process to the next.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    http_method_names = ["get", "options"]

    def get(self, request: Request, code: str) -> Response:
        """Describe the problem type ``code``; ``not_found`` for a code the API never answers."""
        if code not in TITLES:
            raise NotFound("No such problem type.")
        return Response(
            {
                "type": problem_type(request, code),
                "code": code,
                "title": TITLES[code],
                "explanation": EXPLANATIONS[code],
            }
        )


problem_type_view = ProblemTypeView.as_view()

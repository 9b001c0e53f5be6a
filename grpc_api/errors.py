"""Refusals as gRPC statuses: the contract's codes, with a ``google.rpc.ErrorInfo`` detail.

Each refusal the REST interface answers with a problem document is answered here with the
status its HTTP status stands for (:data:`STATUS_CODES`) and these details (``grpcio-status``):

- ``google.rpc.ErrorInfo``: ``reason`` the contract's code (``insufficient_funds``), ``domain``
  ``ledger``, ``metadata`` with ``request_id``, ``fields`` (the fields REST's ``errors`` names,
  comma-separated) and any extra member of the problem document (a batch's ``operation``);
- ``google.rpc.BadRequest``: one field violation per message of a field, when fields are named
  (bounded: the details travel in a trailer, see :func:`status_of`);
- ``google.rpc.RetryInfo``: when REST would send ``Retry-After`` (throttling, an unavailable database).

Nothing escapes as ``UNKNOWN``: anything unexpected is ``INTERNAL`` with reason ``server_error``,
and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import grpc
from django.db import InterfaceError, OperationalError
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from rest_framework import exceptions

from api.problems import flatten_errors
from ledger import metrics
from ledger.errors import LedgerError, Unavailable, ValidationFailed

logger = logging.getLogger(__name__)

DOMAIN = "ledger"
MAX_FIELDS = 20  # fields named in a refusal's details
MAX_MESSAGES_PER_FIELD = 3
MAX_TEXT = 200  # characters of a field's name or message, and of the status message

# The gRPC status of each HTTP status a refusal has (the contract's table).
STATUS_CODES: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.FAILED_PRECONDITION,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


@dataclass
class Refusal(Exception):
    """A call refused: its gRPC status, the contract's code, a message and what the details name."""

    status: grpc.StatusCode
    code: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)
    retry_after: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def refused(code: str, message: str, status: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> Refusal:
    """Return a refusal the gRPC interface itself makes (a message that does not parse, too many streams)."""
    return Refusal(status=status, code=code, message=message)


def _from_ledger(error: LedgerError) -> Refusal:
    return Refusal(
        status=STATUS_CODES.get(error.status, grpc.StatusCode.INVALID_ARGUMENT),
        code=error.code,
        message=error.detail,
        errors=error.errors or {},
        extra=dict(error.extra),
        retry_after=error.retry_after,
    )


def refusal_of(exc: BaseException) -> Refusal:
    """Return the refusal ``exc`` stands for: a ledger refusal, REST framework's, the database's, or ``INTERNAL``."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, LedgerError):
        return _from_ledger(exc)
    if isinstance(exc, exceptions.ValidationError):
        return _from_ledger(ValidationFailed(errors=flatten_errors(exc.detail)))
    if isinstance(exc, exceptions.APIException):  # Authentication, permission, throttling: as REST answers them.
        wait = getattr(exc, "wait", None)
        return Refusal(
            status=STATUS_CODES.get(exc.status_code, grpc.StatusCode.INVALID_ARGUMENT),
            code=exc.default_code,
            message=str(exc.detail),
            retry_after=int(wait + 0.999) if wait else None,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc)
        return _from_ledger(Unavailable())
    logger.exception("unexpected error in a gRPC call", exc_info=exc)
    return Refusal(
        status=grpc.StatusCode.INTERNAL,
        code="server_error",
        message="An unexpected error occurred; it has been logged.",
    )


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _bounded(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_of(refusal: Refusal, request_id: str) -> grpc.Status:
    """Return the rich status of ``refusal`` (counted in ``ledger_refusals_total``, as REST's are).

    The details travel in a trailer, which clients refuse beyond 8 to 16 KiB by default: at most
    :data:`MAX_FIELDS` fields are named (``fields_omitted`` counts the rest), each message and
    name at most :data:`MAX_TEXT` characters (a message may quote the input).
    """
    metrics.REFUSALS.labels(refusal.code).inc()
    metadata = {"request_id": request_id, **{name: _bounded(str(value)) for name, value in refusal.extra.items()}}
    named = list(refusal.errors.items())[:MAX_FIELDS]
    if named:
        metadata["fields"] = ",".join(_bounded(name) for name, _ in named)
    if len(refusal.errors) > MAX_FIELDS:
        metadata["fields_omitted"] = str(len(refusal.errors) - MAX_FIELDS)
    details = [_packed(error_details_pb2.ErrorInfo(reason=refusal.code, domain=DOMAIN, metadata=metadata))]
    if named:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=_bounded(name), description=_bounded(message))
            for name, messages in named
            for message in messages[:MAX_MESSAGES_PER_FIELD]
        ]
        details.append(_packed(error_details_pb2.BadRequest(field_violations=violations)))
    if refusal.retry_after:
        details.append(
            _packed(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=refusal.retry_after)))
        )
    code: int = refusal.status.value[0]
    return rpc_status.to_status(status_pb2.Status(code=code, message=_bounded(refusal.message), details=details))

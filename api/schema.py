"""OpenAPI pieces shared by the viewsets: the problem document, headers, error responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.problems import PROBLEM_CONTENT_TYPE


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem document."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine code, e.g. `insufficient_funds`.")
    # REST framework's metaclass takes declared fields off the class, so this does not hide
    # Serializer.errors at run time; the stubs cannot know that.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For `validation_error`: the messages of each invalid field.",
    )
    operation = serializers.IntegerField(
        required=False, help_text="For a refused batch: the zero-based index of the refused operation."
    )
    outcome = serializers.ChoiceField(
        choices=["unknown"],
        required=False,
        help_text=(
            "For `unavailable`: `unknown` when the connection to the database failed after the commit was sent, "
            "so the change may have been made; retry with the same `Idempotency-Key` to learn which."
        ),
    )
    request_id = serializers.CharField(allow_null=True)


def _idempotency_key(*, required: bool, description: str) -> OpenApiParameter:
    """Return the ``Idempotency-Key`` header parameter, required or not."""
    return OpenApiParameter(
        name="Idempotency-Key",
        type=OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        required=required,
        description=description,
    )


IDEMPOTENCY_KEY = _idempotency_key(
    required=True,
    description=(
        "1 to 255 printable ASCII characters, unique per client. Retrying with the same key and "
        "body replays the first answer (with `Idempotent-Replayed: true`); another body or "
        "endpoint with the key is `idempotency_key_reused`."
    ),
)
# Opening an account moves no money: the key is optional there, and makes a retry answer the same account.
OPTIONAL_IDEMPOTENCY_KEY = _idempotency_key(
    required=False,
    description=(
        "Optional: 1 to 255 printable ASCII characters, unique per client. With it, a retry with the same key "
        "and body answers the account first opened (with `Idempotent-Replayed: true`) instead of opening another; "
        "another body or endpoint with the key is `idempotency_key_reused`."
    ),
)

# For actions that paginate (drf-spectacular documents pagination on list views only).
PAGE_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description="Opaque cursor from a `next` or `previous` link.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 200},
        OpenApiParameter.QUERY,
        description="Results per page, 1 to 200 (default 50).",
    ),
]

_DESCRIPTIONS = {
    400: "`validation_error`, `parse_error`, `invalid_page_size`, `invalid_cursor` or `idempotency_key_required`",
    401: "`not_authenticated` or `authentication_failed`",
    403: "`permission_denied`",
    404: "`not_found`: no such object, or not the client's",
    413: "`payload_too_large`",
    415: "`unsupported_media_type`",
    422: (
        "`insufficient_funds`, `currency_mismatch`, `account_inactive`, `same_account`, `already_reversed`, "
        "`reversal_not_allowed`, `limit_exceeded` or `idempotency_key_reused`"
    ),
    429: "`throttled`; see `Retry-After`",
    503: (
        "`unavailable`: the database is down or a lock wait ran out; see `Retry-After`. Nothing was posted, "
        'unless the answer says `"outcome": "unknown"` (the connection failed after the commit was sent): then '
        "a retry with the same `Idempotency-Key` replays the posting if it committed"
    ),
}


# The refusals of the hold endpoints (placing one, capturing, voiding): a 422 of their own.
HOLD_REFUSALS = (
    "`insufficient_funds` (against the available balance), `currency_mismatch`, `account_inactive`, "
    "`same_account`, `hold_not_pending` (the hold is captured, voided or expired), `capture_exceeds_hold` "
    "(a capture above what the hold still reserves) or `idempotency_key_reused`"
)


def problems(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[tuple[int, str], OpenApiResponse]:
    """Return the ``responses`` entries of the given error statuses, as problem documents.

    ``descriptions`` replaces the shared description of a status (e.g. the 422 of holds).
    """
    described = {**_DESCRIPTIONS, **(descriptions or {})}
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=described[status])
        for status in statuses
    }


READ_ERRORS = (400, 401, 404, 429, 503)
WRITE_ERRORS = (400, 401, 404, 413, 415, 422, 429, 503)


# What gunicorn answers before the API runs (ledger_project/gunicorn_worker.py), to any request.
_SERVER_REFUSALS = {
    "414": "`uri_too_long`: the request line is longer than the server reads",
    "431": "`request_header_fields_too_large`: a header line too long, or too many headers",
}


def document_server_refusals(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add to every operation the problems the server answers before the API runs (a drf-spectacular hook)."""
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _SERVER_REFUSALS.items():
                responses.setdefault(status, {"content": problem, "description": description})
    return result

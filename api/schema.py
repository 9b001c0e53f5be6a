"""OpenAPI pieces shared by the viewsets: the problem document, headers, error responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.problem_codes import EXPLANATIONS, problem_page_path
from api.problems import PROBLEM_CONTENT_TYPE, TITLES


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

# --- wording shared by the operations' descriptions ------------------------------------------

AUTHENTICATED = "Any API client may call it (`Authorization: Token <key>`)."
STAFF_ONLY = "Staff clients only (`Authorization: Token <key>` of a client created with `--staff`)."
VISIBLE = (
    "A client sees only what touches its own accounts; staff see everything. Another client's object answers "
    "`404 not_found`, never 403, so ids reveal nothing."
)
PAGED = (
    "Answers a page `{next, previous, results}`, newest first. Follow `next` (it carries an opaque `cursor`) "
    "until it is null; set `page_size` (1 to 200, default 50). Paging neither skips nor repeats a row while "
    "new ones arrive. Any query parameter the list does not take is refused (`400 validation_error` naming it)."
)
IDEMPOTENT = (
    "Send an `Idempotency-Key` header (e.g. a new UUID per operation). A retry with the same key and body "
    "replays the first answer with `Idempotent-Replayed: true` and posts nothing again; the same key with "
    "another body or endpoint is `422 idempotency_key_reused`. A refused request binds nothing."
)
MONEY = (
    "`amount` is a decimal string (a JSON number is accepted) greater than zero with at most the currency's "
    'minor-unit digits (`"250.00"` in USD, never `"1.005"`); answers carry amounts as strings with exactly '
    "those digits."
)


def describe(*paragraphs: str) -> str:
    """Return an operation's description: its paragraphs, each on its own."""
    return "\n\n".join(paragraphs)


# --- error responses ------------------------------------------------------------------------
# An operation's error responses list the codes it can answer, each with the one explanation of
# its problem page (api.problem_codes.EXPLANATIONS), linked to that page.

AUTH_CODES = ("not_authenticated", "authentication_failed")
_BODY_CODES = ("validation_error", "parse_error")
_PAGE_CODES = ("invalid_page_size", "invalid_cursor")

# Example problem documents: what a client sees for the most common refusal of each status.
_EXAMPLE_DETAILS = {
    "validation_error": (
        "Some fields are invalid.",
        {"amount": ["Ensure that there are no more than 2 decimal places."]},
    ),
    "idempotency_key_required": ("The Idempotency-Key header is required.", None),
    "not_authenticated": ("Authentication credentials were not provided.", None),
    "permission_denied": ("Only staff clients may reverse transactions.", None),
    "not_found": ("No such account.", None),
    "insufficient_funds": ("Account 3f1c9a2e-5b7d-4c8e-9f10-2a3b4c5d6e7f holds too little for this posting.", None),
    "throttled": ("Request was throttled. Expected available in 2 seconds.", None),
    "unavailable": ("The service is unavailable; retry later.", None),
}


def code_list(codes: Sequence[str]) -> str:
    """Return the Markdown list of ``codes``: each linked to its problem page, with its explanation."""
    return "\n".join(f"- [`{code}`]({problem_page_path(code)}): {EXPLANATIONS[code]}" for code in codes)


def problem_example(status: int, code: str) -> dict[str, Any]:
    """Return an example problem document of ``code`` answered with ``status``."""
    detail, errors = _EXAMPLE_DETAILS.get(code, (EXPLANATIONS[code].split(". ")[0].rstrip(".") + ".", None))
    body: dict[str, Any] = {
        "type": f"https://ledger.example.com{problem_page_path(code)}",
        "title": TITLES[code],
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body["request_id"] = "7d5e3c1a9b8f4e2d8c6b4a2f0e1d3c5b"
    return body


def problems(codes: Mapping[int, Sequence[str]]) -> dict[tuple[int, str], OpenApiResponse]:
    """Return the ``responses`` entries of an operation's error statuses, each listing its ``codes``."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer,
            description=code_list(listed),
            examples=[
                OpenApiExample(f"{status} {listed[0]}", value=problem_example(status, listed[0]), status_codes=[status])
            ],
        )
        for status, listed in sorted(codes.items())
    }


def read_errors(
    *, paged: bool = False, lookup: bool = True, cursor: bool = True
) -> dict[tuple[int, str], OpenApiResponse]:
    """Return the error responses of a read: ``paged`` for a list, ``lookup`` when the path names an object.

    ``cursor``: a paged list with a cursor (the events list pages by ``after`` instead). A 400
    ``validation_error`` is an invalid or unknown query parameter, or an unknown ``Host``.
    """
    page_codes = _PAGE_CODES if cursor else ("invalid_page_size",)
    codes: dict[int, Sequence[str]] = {
        400: ("validation_error", *(page_codes if paged else ())),
        401: AUTH_CODES,
        429: ("throttled",),
        503: ("unavailable",),
    }
    if lookup:
        codes[404] = ("not_found",)
    return problems(codes)


def write_errors(
    *refusals: str, idempotent: bool = True, lookup: bool = True, staff_only: bool = False
) -> dict[tuple[int, str], OpenApiResponse]:
    """Return the error responses of a write that can refuse with the 422 ``refusals``.

    ``idempotent``: it needs an ``Idempotency-Key`` (missing: 400 ``idempotency_key_required``; reused:
    422 ``idempotency_key_reused``, to list among ``refusals``). ``lookup``: it names objects that may
    be missing or another client's (404). ``staff_only``: non-staff clients get 403.
    """
    codes: dict[int, Sequence[str]] = {
        400: (*_BODY_CODES, *(("idempotency_key_required",) if idempotent else ())),
        401: AUTH_CODES,
        413: ("payload_too_large",),
        415: ("unsupported_media_type",),
        429: ("throttled",),
        503: ("unavailable",),
    }
    if lookup:
        codes[404] = ("not_found",)
    if staff_only:
        codes[403] = ("permission_denied",)
    if refusals:
        codes[422] = refusals
    return problems(codes)


# The 422 refusals of each write, as its service can answer them (transactions.engine.rules).
DEPOSIT_REFUSALS = ("account_inactive", "limit_exceeded", "idempotency_key_reused")
WITHDRAWAL_REFUSALS = ("insufficient_funds", "account_inactive", "limit_exceeded", "idempotency_key_reused")
TRANSFER_REFUSALS = (
    "insufficient_funds",
    "currency_mismatch",
    "account_inactive",
    "same_account",
    "limit_exceeded",
    "idempotency_key_reused",
)
REVERSAL_REFUSALS = (
    "already_reversed",
    "reversal_not_allowed",
    "insufficient_funds",
    "account_inactive",
    "limit_exceeded",
    "idempotency_key_reused",
)
HOLD_REFUSALS = (
    "insufficient_funds",
    "currency_mismatch",
    "account_inactive",
    "same_account",
    "idempotency_key_reused",
)
CAPTURE_REFUSALS = (
    "account_inactive",
    "hold_not_pending",
    "capture_exceeds_hold",
    "limit_exceeded",
    "idempotency_key_reused",
)
VOID_REFUSALS = ("hold_not_pending", "idempotency_key_reused")
BATCH_REFUSALS = tuple(dict.fromkeys((*TRANSFER_REFUSALS, *HOLD_REFUSALS)))


# What gunicorn answers before the API runs (ledger_project/gunicorn_worker.py), to any request.
_SERVER_REFUSALS = {"414": "uri_too_long", "431": "request_header_fields_too_large"}


def document_server_refusals(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add to every operation the problems the server answers before the API runs (a drf-spectacular hook)."""
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, code in _SERVER_REFUSALS.items():
                responses.setdefault(status, {"content": problem, "description": code_list([code])})
    return result

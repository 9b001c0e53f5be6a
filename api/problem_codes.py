"""What each problem code means to a client: one sentence or two, what happened and what to do.

The one definition of these texts: the problem type pages (``/api/v1/problems/<code>/``) show
them, and the schema lists them under each operation's error responses (``api.schema``).
Every code the API can answer (``api.problems.TITLES``) has an explanation; a test holds that.
"""

from __future__ import annotations

EXPLANATIONS: dict[str, str] = {
    # 400
    "validation_error": (
        "A field of the body or a query parameter is missing, invalid or unknown; `errors` names each one "
        "with its messages. Fix those and send the request again."
    ),
    "parse_error": "The body is not a JSON object (or not JSON at all). Send `Content-Type: application/json`.",
    "invalid_page_size": "`page_size` must be a whole number from 1 to 200. Omit it for pages of 50.",
    "invalid_cursor": (
        "The `cursor` was altered or belongs to another list. Use the `next` and `previous` links unchanged."
    ),
    "idempotency_key_required": (
        "This write needs an `Idempotency-Key` header of 1 to 255 printable ASCII characters, "
        "e.g. a new UUID per operation; reuse it only to retry that same operation."
    ),
    # 401, 403, 404
    "not_authenticated": "No credentials were sent. Send `Authorization: Token <key>`.",
    "authentication_failed": (
        "The token is wrong, revoked or its client is disabled. Check the key, or ask an operator for a new one."
    ),
    "permission_denied": "Your client may not do this: reversals are for staff clients only.",
    "not_found": ("No such object, or it is not yours (another client's objects answer the same). Check the id."),
    # 405, 406, 413, 415
    "method_not_allowed": "This path does not take that HTTP method; the `Allow` header lists the ones it takes.",
    "not_acceptable": "The API answers JSON only; accept `application/json` (and `application/problem+json`).",
    "payload_too_large": "The body is larger than the server accepts. Send less, e.g. split a batch.",
    "unsupported_media_type": "The body must be JSON: send `Content-Type: application/json`.",
    # 422: the ledger's rules
    "insufficient_funds": (
        "The account's available balance (its balance less what its pending holds reserve) is below the amount. "
        "Nothing was posted; add funds or ask for less."
    ),
    "currency_mismatch": "The accounts (or the account and the hold) are in different currencies. Nothing was posted.",
    "account_inactive": (
        "An account involved is frozen or closed, so no money moves in or out of it. Nothing was posted."
    ),
    "same_account": "The source and the destination are the same account. Nothing was posted.",
    "already_reversed": "The transaction was reversed before; its `reversed_by` names the reversal.",
    "reversal_not_allowed": "A reversal cannot itself be reversed. Post a new movement instead.",
    "account_not_empty": "An account with a balance or pending holds cannot be closed. Move its money out first.",
    "invalid_status_change": (
        "The account cannot change to that status from the status it has (a closed one stays closed)."
    ),
    "limit_exceeded": (
        "The posting would take an account past the largest balance the ledger stores. Nothing was posted."
    ),
    "hold_not_pending": (
        "The hold is captured, voided or expired: it can be neither captured nor voided any more. "
        "Read it to see its status."
    ),
    "capture_exceeds_hold": (
        "The capture is larger than what the hold still reserves (`remaining_amount`). Capture at most that."
    ),
    "idempotency_key_reused": (
        "This `Idempotency-Key` was used before with another body or on another endpoint. "
        "Use a new key for a new operation."
    ),
    # 429, 5xx
    "throttled": "Too many requests from your client. Wait the seconds `Retry-After` says, then retry.",
    "server_error": "An unexpected error; it was logged. Retry later, and quote the `request_id` if it persists.",
    "unavailable": (
        "The database is down or a lock wait ran out; retry after `Retry-After` seconds. Nothing was posted, unless "
        'the answer says `"outcome": "unknown"`: then retry with the same `Idempotency-Key` to learn the result.'
    ),
    # Refused by the server before the API runs.
    "uri_too_long": "The request line (path and query) is longer than the server reads. Send a shorter one.",
    "request_header_fields_too_large": (
        "A header line is too long, or there are too many headers. Send fewer or shorter."
    ),
    "expectation_failed": "The server does not take that `Expect` header; send the request without it.",
    "not_implemented": "The server does not implement that method or transfer encoding.",
}


def problem_page_path(code: str) -> str:
    """Return the path of ``code``'s problem type page (the ``type`` of its problem documents)."""
    return f"/api/v1/problems/{code}/"

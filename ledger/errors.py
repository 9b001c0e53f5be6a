"""Every refusal the ledger can give, with its stable machine code and HTTP status.

Services raise these; the API's one exception handler
(:func:`api.problems.exception_handler`) renders them as RFC 9457 problem
documents. A refusal is raised before anything is written, or inside the database
transaction that it rolls back, so a refused request never changes the books.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of all refusals. ``code`` and ``status`` are part of the public contract."""

    code = "ledger_error"
    status = 400
    title = "The request was refused"
    default_detail = "The request was refused."

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        retry_after: int | None = None,
        **extra: object,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = errors
        self.retry_after = retry_after
        self.extra = extra
        super().__init__(self.detail)


class ValidationFailed(LedgerError):
    code, status, title = "validation_error", 400, "Invalid request"
    default_detail = "One or more fields are invalid."


class IdempotencyKeyRequired(LedgerError):
    code, status, title = "idempotency_key_required", 400, "Idempotency-Key header required"
    default_detail = "Send an Idempotency-Key header of 1 to 255 printable ASCII characters."


class InvalidPageSize(LedgerError):
    code, status, title = "invalid_page_size", 400, "Invalid page size"
    default_detail = "page_size must be a whole number from 1 to 200."


class InvalidCursor(LedgerError):
    code, status, title = "invalid_cursor", 400, "Invalid cursor"
    default_detail = "The cursor is not one this service issued for this list."


class NotFound(LedgerError):
    code, status, title = "not_found", 404, "Not found"
    default_detail = "No such object."


class InsufficientFunds(LedgerError):
    code, status, title = "insufficient_funds", 422, "Insufficient funds"
    default_detail = "The debited account would go below zero."


class CurrencyMismatch(LedgerError):
    code, status, title = "currency_mismatch", 422, "Currency mismatch"
    default_detail = "Both accounts must hold the same currency."


class AccountInactive(LedgerError):
    code, status, title = "account_inactive", 422, "Account inactive"
    default_detail = "The account is frozen or closed."


class SameAccount(LedgerError):
    code, status, title = "same_account", 422, "Same account"
    default_detail = "The source and destination accounts are the same."


class AlreadyReversed(LedgerError):
    code, status, title = "already_reversed", 422, "Already reversed"
    default_detail = "The transaction has already been reversed."


class ReversalNotAllowed(LedgerError):
    code, status, title = "reversal_not_allowed", 422, "Reversal not allowed"
    default_detail = "A reversal cannot itself be reversed."


class AccountNotEmpty(LedgerError):
    code, status, title = "account_not_empty", 422, "Account not empty"
    default_detail = "Only an account with a zero balance can be closed."


class InvalidStatusChange(LedgerError):
    code, status, title = "invalid_status_change", 422, "Invalid status change"
    default_detail = "The account's status does not allow this change."


class LimitExceeded(LedgerError):
    code, status, title = "limit_exceeded", 422, "Limit exceeded"
    default_detail = "The posting would take a balance beyond what the ledger can hold."


class HoldNotPending(LedgerError):
    code, status, title = "hold_not_pending", 422, "Hold not pending"
    default_detail = "The hold is captured, voided or expired."


class CaptureExceedsHold(LedgerError):
    code, status, title = "capture_exceeds_hold", 422, "Capture exceeds hold"
    default_detail = "The capture is above what the hold still reserves."


class IdempotencyKeyReused(LedgerError):
    code, status, title = "idempotency_key_reused", 422, "Idempotency key reused"
    default_detail = "This Idempotency-Key was already used with another request."


class Unavailable(LedgerError):
    """The database is unreachable or a lock wait ran out. Nothing was posted."""

    code, status, title = "unavailable", 503, "Service unavailable"
    default_detail = "The ledger is temporarily unavailable; nothing was posted. Retry later."

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        retry_after: int = 1,
        **extra: object,
    ) -> None:
        super().__init__(detail, errors=errors, retry_after=retry_after, **extra)


ALL_ERRORS: tuple[type[LedgerError], ...] = (
    ValidationFailed,
    IdempotencyKeyRequired,
    InvalidPageSize,
    InvalidCursor,
    NotFound,
    InsufficientFunds,
    CurrencyMismatch,
    AccountInactive,
    SameAccount,
    AlreadyReversed,
    ReversalNotAllowed,
    AccountNotEmpty,
    InvalidStatusChange,
    HoldNotPending,
    CaptureExceedsHold,
    LimitExceeded,
    IdempotencyKeyReused,
    Unavailable,
)

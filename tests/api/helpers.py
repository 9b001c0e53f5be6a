"""Helpers for the API tests: posting money through the API and checking problem documents."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts.models import Account, Hold
from transactions.models import IdempotencyRecord, Posting, Transaction

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}

ACCOUNT_KEYS = {
    "id",
    "name",
    "currency",
    "balance",
    "available_balance",
    "status",
    "metadata",
    "created_at",
    "updated_at",
}
TRANSACTION_KEYS = {
    "id",
    "kind",
    "status",
    "amount",
    "currency",
    "source_account_id",
    "destination_account_id",
    "description",
    "reference",
    "metadata",
    "reverses",
    "reversed_by",
    "hold_id",
    "created_at",
    "postings",
}
HOLD_KEYS = {
    "id",
    "status",
    "account_id",
    "destination_account_id",
    "currency",
    "amount",
    "captured_amount",
    "remaining_amount",
    "description",
    "reference",
    "metadata",
    "expires_at",
    "created_at",
    "resolved_at",
    "captures",
}
LEG_KEYS = {"account_id", "amount", "balance_after", "sequence"}
HISTORY_KEYS = {"transaction_id", "kind", "amount", "balance_after", "description", "reference", "created_at"}
PAGE_KEYS = {"next", "previous", "results"}


def new_key() -> str:
    return uuid.uuid4().hex


def body_of(response) -> Any:
    """The decoded JSON body, whatever the (JSON) content type."""
    return json.loads(response.content)


def assert_problem(response, status: int, code: str, *, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem document with ``status`` and ``code``.

    Checks the content type, the body's keys, that ``type`` names the code, that the body's
    ``request_id`` is the response's ``X-Request-ID``, and that ``errors`` names each of
    ``fields`` (for ``validation_error``, ``errors`` must be present and name at least one field).
    """
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].split(";")[0].strip() == PROBLEM_CONTENT_TYPE, response["Content-Type"]
    problem = body_of(response)
    assert isinstance(problem, dict), problem
    assert set(problem) >= PROBLEM_KEYS, problem
    assert set(problem) <= PROBLEM_KEYS | {"errors", "operation"}, problem  # operation: batches only
    assert problem["status"] == status, problem
    assert problem["code"] == code, problem
    assert isinstance(problem["title"], str), problem
    assert problem["title"], problem
    assert isinstance(problem["detail"], str), problem
    assert problem["detail"], problem
    assert problem["type"].endswith(f"/problems/{code}/"), problem
    assert response.has_header("X-Request-ID"), "no X-Request-ID header"
    assert problem["request_id"] == response["X-Request-ID"], (problem, response["X-Request-ID"])
    if code == "validation_error":
        assert isinstance(problem.get("errors"), dict), problem
        assert problem["errors"], problem
        for messages in problem["errors"].values():
            assert isinstance(messages, list), problem
            assert messages, problem
            assert all(isinstance(message, str) and message for message in messages), problem
    for field in fields:
        assert field in problem.get("errors", {}), (field, problem)
    return problem


def assert_json(response, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].split(";")[0].strip() == "application/json", response["Content-Type"]
    return body_of(response)


def assert_page(response) -> dict[str, Any]:
    page = assert_json(response, 200)
    assert set(page) == PAGE_KEYS, page
    assert isinstance(page["results"], list)
    return page


def lenient(client: APIClient) -> APIClient:
    """Let an unhandled server error come back as a 500 response instead of raising in the test."""
    client.raise_request_exception = False
    return client


# --- Money movements through the API ---------------------------------------------------------


def post_movement(client: APIClient, path: str, body: Any, *, key: str | None = None, **extra: Any):
    """POST ``body`` (JSON) to ``path`` with an Idempotency-Key (a fresh one unless given)."""
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key(), **extra)


def post_raw(client: APIClient, path: str, raw: str | bytes, *, key: str | None = None, **extra: Any):
    """POST raw bytes as ``application/json`` with an Idempotency-Key."""
    return client.post(path, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key or new_key(), **extra)


def _split(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Body fields, and request extras (``HTTP_*`` headers) passed to the test client."""
    extra = {name: value for name, value in fields.items() if name.startswith("HTTP_")}
    return {name: value for name, value in fields.items() if name not in extra}, extra


def deposit(client: APIClient, account_id: Any, amount: Any, *, key: str | None = None, **fields: Any):
    body, extra = _split(fields)
    body = {"account_id": str(account_id), "amount": amount, **body}
    return post_movement(client, "/api/v1/deposits/", body, key=key, **extra)


def withdraw(client: APIClient, account_id: Any, amount: Any, *, key: str | None = None, **fields: Any):
    body, extra = _split(fields)
    body = {"account_id": str(account_id), "amount": amount, **body}
    return post_movement(client, "/api/v1/withdrawals/", body, key=key, **extra)


def transfer(client: APIClient, source: Any, destination: Any, amount: Any, *, key: str | None = None, **fields: Any):
    body, extra = _split(fields)
    body = {"source_account_id": str(source), "destination_account_id": str(destination), "amount": amount, **body}
    return post_movement(client, "/api/v1/transfers/", body, key=key, **extra)


def reverse(
    client: APIClient, transaction_id: Any, reason: str = "customer dispute", *, key: str | None = None, **extra: Any
):
    path = f"/api/v1/transactions/{transaction_id}/reverse/"
    return post_movement(client, path, {"reason": reason}, key=key, **extra)


def place_hold(client: APIClient, account_id: Any, amount: Any, *, key: str | None = None, **fields: Any):
    """POST /api/v1/holds/ for ``amount`` of ``account_id`` (other body fields and ``HTTP_*`` headers as given)."""
    body, extra = _split(fields)
    body = {"account_id": str(account_id), "amount": amount, **body}
    return post_movement(client, "/api/v1/holds/", body, key=key, **extra)


def capture_hold(client: APIClient, hold_id: Any, *, key: str | None = None, **fields: Any):
    """POST /api/v1/holds/{id}/capture/ with the body ``fields`` (``amount``, ``final``, ``description``)."""
    body, extra = _split(fields)
    return post_movement(client, f"/api/v1/holds/{hold_id}/capture/", body, key=key, **extra)


def void_hold(client: APIClient, hold_id: Any, *, key: str | None = None, **fields: Any):
    """POST /api/v1/holds/{id}/void/ with the body ``fields`` (``reason``)."""
    body, extra = _split(fields)
    return post_movement(client, f"/api/v1/holds/{hold_id}/void/", body, key=key, **extra)


def deposited(client: APIClient, account_id: Any, amount: Any, **fields: Any) -> dict[str, Any]:
    """Deposit and return the 201 Transaction."""
    return assert_json(deposit(client, account_id, amount, **fields), 201)


def open_account(client: APIClient, currency: str = "USD", **fields: Any) -> dict[str, Any]:
    """Open an account through the API and return it."""
    return assert_json(client.post("/api/v1/accounts/", {"currency": currency, **fields}, format="json"), 201)


def balance_of(client: APIClient, account_id: Any, **params: Any) -> str:
    return assert_json(client.get(f"/api/v1/accounts/{account_id}/balance/", params), 200)["balance"]


def parse_instant(value: str) -> datetime:
    instant = parse_datetime(value)
    assert instant is not None, value
    assert instant.tzinfo is not None, value
    return instant


# --- The books, read from the database ---------------------------------------------------------


def ledger_snapshot() -> tuple:
    """Everything a refused request must leave unchanged."""
    return (
        Transaction.objects.count(),
        Posting.objects.count(),
        IdempotencyRecord.objects.count(),
        sorted(Transaction.objects.values_list("public_id", "status")),
        sorted(Account.objects.values_list("public_id", "balance_minor", "reserved_minor", "last_sequence")),
        sorted(Hold.objects.values_list("public_id", "status", "captured_minor", "resolved_at")),
    )

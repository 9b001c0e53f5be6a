"""Example request and answer bodies for the schema (``OpenApiExample``), one of each shape.

Realistic values: USD amounts as strings with two digits, UUIDs for ids, instants in UTC.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

ALICE_CHECKING = "3f1c9a2e-5b7d-4c8e-9f10-2a3b4c5d6e7f"
ALICE_SAVINGS = "8b2d4f60-1a3c-4e5f-8a9b-0c1d2e3f4a5b"
BOB_CHECKING = "c7e9a1b3-d5f7-4a9c-8e0f-1a2b3c4d5e6f"
_TXN = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
_HOLD = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
_BATCH = "0f9e8d7c-6b5a-4938-8271-6a5b4c3d2e1f"
_AT = "2026-11-30T09:15:02.481000Z"

ACCOUNT: dict[str, Any] = {
    "id": ALICE_CHECKING,
    "name": "Alice checking",
    "currency": "USD",
    "balance": "1250.00",
    "available_balance": "1210.00",
    "status": "active",
    "metadata": {"customer": "C-1042"},
    "created_at": "2026-11-02T08:00:00.000000Z",
    "updated_at": _AT,
}
BALANCE = {
    "account_id": ALICE_CHECKING,
    "currency": "USD",
    "balance": "1250.00",
    "available_balance": "1210.00",
    "as_of": _AT,
}
HISTORY_ENTRY = {
    "transaction_id": _TXN,
    "kind": "deposit",
    "amount": "250.00",
    "balance_after": "1250.00",
    "description": "Payroll November",
    "reference": "INV-1042",
    "created_at": _AT,
}


def transaction(kind: str, **fields: Any) -> dict[str, Any]:
    """Return an example transaction document of ``kind`` (a posted USD 250.00 from Alice's checking)."""
    source = None if kind == "deposit" else ALICE_CHECKING
    destination = {"deposit": ALICE_CHECKING, "withdrawal": None}.get(kind, BOB_CHECKING)
    sign = "" if kind == "deposit" else "-"
    document: dict[str, Any] = {
        "id": _TXN,
        "kind": kind,
        "status": "posted",
        "amount": "250.00",
        "currency": "USD",
        "source_account_id": source,
        "destination_account_id": destination,
        "description": "Payroll November" if kind == "deposit" else "Rent December",
        "reference": "INV-1042",
        "metadata": {},
        "reverses": None,
        "reversed_by": None,
        "hold_id": None,
        "created_at": _AT,
        "postings": [
            {"account_id": ALICE_CHECKING, "amount": f"{sign}250.00", "balance_after": "1250.00", "sequence": 7}
        ],
    }
    return {**document, **fields}


HOLD: dict[str, Any] = {
    "id": _HOLD,
    "status": "pending",
    "account_id": ALICE_CHECKING,
    "destination_account_id": None,
    "currency": "USD",
    "amount": "40.00",
    "captured_amount": "0.00",
    "remaining_amount": "40.00",
    "description": "Card authorization, Corner Cafe",
    "reference": "AUTH-88121",
    "metadata": {},
    "expires_at": "2026-12-07T09:15:02.481000Z",
    "created_at": _AT,
    "resolved_at": None,
    "captures": [],
}


def request(name: str, value: dict[str, Any]) -> OpenApiExample:
    """Return an example request body."""
    return OpenApiExample(name, value=value, request_only=True)


def answer(name: str, value: Any, status: int = 200) -> OpenApiExample:
    """Return an example answer body of ``status``."""
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


def listed(name: str, item: Any) -> OpenApiExample:
    """Return an example row of a list: the schema shows it inside a page (``results``), as the paginator shapes it."""
    return answer(name, item)


DEPOSIT_REQUEST = {
    "account_id": ALICE_CHECKING,
    "amount": "250.00",
    "description": "Payroll November",
    "reference": "INV-1042",
}
WITHDRAWAL_REQUEST = {"account_id": ALICE_CHECKING, "amount": "250.00", "description": "Rent December"}
TRANSFER_REQUEST = {
    "source_account_id": ALICE_CHECKING,
    "destination_account_id": BOB_CHECKING,
    "amount": "250.00",
    "description": "Rent December",
    "reference": "INV-1042",
}
HOLD_REQUEST = {"account_id": ALICE_CHECKING, "amount": "40.00", "description": "Card authorization, Corner Cafe"}
BATCH_REQUEST = {
    "operations": [
        {"kind": "deposit", "account_id": ALICE_CHECKING, "amount": "250.00"},
        {
            "kind": "transfer",
            "source_account_id": ALICE_CHECKING,
            "destination_account_id": BOB_CHECKING,
            "amount": "75.50",
        },
    ]
}
BATCH = {
    "id": _BATCH,
    "transactions": [
        transaction("deposit"),
        transaction("transfer", amount="75.50", id="6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"),
    ],
    "holds": [],
}

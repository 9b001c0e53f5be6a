"""Serializer fields for money and client metadata."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_attribute

from ledger.errors import ValidationFailed
from ledger.instants import parse_instant
from ledger.money import amount_from, format_minor

AMOUNT_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": r"^[0-9]{1,18}(\.[0-9]{1,18})?$", "example": "10.00"},
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10**15, "exclusiveMaximum": True},
    ],
    "description": (
        "A positive amount below 10^15 with no more decimal places, as written, than the account's "
        'currency has (USD 2, JPY 0: USD `"1.005"` and `"1.000"` are refused, never rounded). '
        "Sent as a decimal string or a JSON number."
    ),
}


@extend_schema_field(AMOUNT_SCHEMA)
class AmountField(serializers.Field):
    """An amount, parsed exactly and bounded by :func:`ledger.money.amount_from`.

    Whether its decimal places fit the account's currency is checked by the service, which
    knows the account; that check is constant work on the bounded amount.
    """

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return amount_from(data)
        except ValidationFailed as refusal:
            if not refusal.errors or "amount" not in refusal.errors:  # amount_from names the field it refuses.
                raise
            raise serializers.ValidationError(refusal.errors["amount"]) from None

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"order": "A-1001"}})
class MetadataField(serializers.Field):
    """A small JSON object of the client's own data, stored as given.

    Numbers with a fraction are kept as JSON numbers (stored as binary floats, as most JSON
    parsers do); strings must be valid Unicode without NUL characters.
    """

    MAX_BYTES = 8192
    MAX_DEPTH = 8

    default_error_messages = {
        "not_object": "Metadata must be a JSON object.",
        "too_large": f"Metadata must be at most {MAX_BYTES} bytes of JSON.",
        "too_deep": f"Metadata may nest at most {MAX_DEPTH} levels.",
        "bad_string": "Metadata strings must be valid Unicode without NUL characters.",
        "bad_number": "Metadata numbers must be finite.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")
        cleaned = self._clean(data, depth=1)
        if len(json.dumps(cleaned, ensure_ascii=False).encode()) > self.MAX_BYTES:
            self.fail("too_large")
        return cleaned

    def _clean(self, value: Any, depth: int) -> Any:
        """Return ``value``, at nesting ``depth``, checked: whole decimals as integers, others as floats."""
        if depth > self.MAX_DEPTH:
            self.fail("too_deep")
        if isinstance(value, dict):
            return {self._string(key): self._clean(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list):
            return [self._clean(item, depth + 1) for item in value]
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, Decimal):
            if not value.is_finite():
                self.fail("bad_number")
            if value == value.to_integral_value() and abs(value) < 2**63:
                return int(value)
            number = float(value)
            if number in (float("inf"), float("-inf")):
                self.fail("bad_number")
            return number
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            self.fail("bad_number")
        return value

    def _string(self, value: str) -> str:
        """Return ``value`` if it is valid Unicode without NUL characters; ``bad_string`` otherwise."""
        if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
            self.fail("bad_string")
        return value

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "example": "10.00"})
class MinorUnitsField(serializers.Field):
    """Renders an integer of minor units as a decimal string with the currency's digits.

    ``currency_from`` names the attribute (dotted) holding the currency code.
    """

    def __init__(self, *, currency_from: str = "currency", **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.currency_from = currency_from.split(".")

    def get_attribute(self, instance: Any) -> tuple[int | None, str]:
        return super().get_attribute(instance), get_attribute(instance, self.currency_from)

    def to_representation(self, value: tuple[int | None, str]) -> str | None:
        minor, currency = value
        return None if minor is None else format_minor(minor, currency)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 instant, parsed by :func:`ledger.instants.parse_instant` (matched whole)."""

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        try:
            return parse_instant(value)
        except (ValueError, OverflowError):
            self.fail("invalid", format="ISO 8601, e.g. 2026-11-30T06:00:00Z")

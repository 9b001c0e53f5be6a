"""Serializer fields for money and client metadata."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_attribute

from transactions.money import MAX_AMOUNT, format_minor

_PLAIN_DECIMAL = re.compile(r"^[0-9]{1,18}(\.[0-9]{1,18})?$")

AMOUNT_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": r"^[0-9]{1,18}(\.[0-9]{1,18})?$", "example": "10.00"},
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10**15, "exclusiveMaximum": True},
    ],
    "description": (
        "A positive amount below 10^15 with no more decimals than the currency allows "
        "(USD 2, JPY 0). Sent as a decimal string or a JSON number; never rounded."
    ),
}


@extend_schema_field(AMOUNT_SCHEMA)
class AmountField(serializers.Field):
    """A positive, finite amount below 10^15, parsed exactly as a :class:`~decimal.Decimal`.

    Whether its decimals fit the currency is checked by the service, which knows the account.
    """

    default_error_messages = {
        "invalid": 'Send a positive decimal amount, as a string such as "10.00" or a JSON number.',
        "not_positive": "The amount must be greater than zero.",
        "too_large": "The amount must be below 10^15.",
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            if abs(data) >= MAX_AMOUNT:
                self.fail("too_large")
            amount = Decimal(data)
        elif isinstance(data, Decimal):
            amount = data
        elif isinstance(data, str) and _PLAIN_DECIMAL.match(data):
            amount = Decimal(data)
        else:
            self.fail("invalid")
        if not amount.is_finite():
            self.fail("invalid")
        if amount <= 0:
            self.fail("not_positive")
        if amount >= MAX_AMOUNT:
            self.fail("too_large")
        return amount

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

    def get_attribute(self, instance: Any) -> tuple[int, str]:
        return super().get_attribute(instance), get_attribute(instance, self.currency_from)

    def to_representation(self, value: tuple[int, str]) -> str:
        minor, currency = value
        return format_minor(minor, currency)

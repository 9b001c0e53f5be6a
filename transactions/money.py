"""Exact money: amounts are stored as integers of the currency's minor unit.

``10.00 USD`` is stored as ``1000``; ``10 JPY`` as ``10``. Conversion happens only at the
edges (request parsing and response rendering) with :class:`decimal.Decimal`; floating
point never touches an amount. Minor-unit exponents come from ISO 4217 (``iso4217``).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from iso4217 import Currency

from transactions.errors import ValidationFailed

# Contract: an amount must stay below 10^15 units of its currency.
MAX_AMOUNT = Decimal(10) ** 15
# Exponents above 3 would let a 10^15 amount overflow a 64-bit integer of minor units.
MAX_EXPONENT = 3
# Largest magnitude a stored balance may reach (a signed 64-bit integer has ~9.22e18).
BALANCE_LIMIT = 9 * 10**18


@cache
def _exponents(currencies: tuple[str, ...]) -> dict[str, int]:
    exponents = {}
    for code in currencies:
        try:
            exponent = Currency(code).exponent
        except ValueError:
            raise ImproperlyConfigured(f"LEDGER_CURRENCIES: {code!r} is not an ISO 4217 code.") from None
        if exponent is None or exponent > MAX_EXPONENT:
            raise ImproperlyConfigured(
                f"LEDGER_CURRENCIES: {code} has no minor unit the ledger supports (0 to {MAX_EXPONENT} digits)."
            )
        exponents[code] = exponent
    return exponents


def currencies() -> dict[str, int]:
    """The configured currencies and their minor-unit exponents, e.g. ``{"USD": 2, "JPY": 0}``."""
    return _exponents(tuple(settings.LEDGER_CURRENCIES))


def exponent(currency: str) -> int:
    return currencies()[currency]


def validate_currency(code: object) -> str:
    if not isinstance(code, str) or code not in currencies():
        raise ValidationFailed(
            errors={"currency": [f"Unknown currency. Use one of: {', '.join(currencies())}."]},
        )
    return code


def to_minor(amount: Decimal, currency: str, *, field: str = "amount") -> int:
    """Convert a positive, finite decimal amount to minor units, refusing (never rounding) extra digits.

    Exact whatever the decimal context: it works on the decimal's digits with integer
    arithmetic and only compares decimals, which never rounds.
    """
    digits = exponent(currency)
    sign, coefficient, power = amount.as_tuple()
    if not isinstance(power, int):  # NaN or infinity
        raise ValidationFailed(errors={field: ["A finite amount is required."]})
    if sign or not any(coefficient):
        raise ValidationFailed(errors={field: ["The amount must be greater than zero."]})
    if amount >= MAX_AMOUNT:
        raise ValidationFailed(errors={field: ["The amount must be below 10^15."]})
    while power < -digits and coefficient[-1] == 0:  # 1.000 USD is 1.00 USD
        coefficient = coefficient[:-1]
        power += 1
    if power < -digits:
        plural = "s" if digits != 1 else ""
        raise ValidationFailed(errors={field: [f"{currency} amounts have at most {digits} decimal place{plural}."]})
    # Below 10^15 with at most `digits` decimals: at most 18 digits, so int() is cheap and exact.
    return int("".join(map(str, coefficient))) * 10 ** (power + digits)


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(f"{minor}E-{exponent(currency)}")  # Built from a string: exact in any context.


def format_minor(minor: int, currency: str) -> str:
    """Render minor units with exactly the currency's digits: ``1000, "USD" -> "10.00"``."""
    digits = exponent(currency)
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**digits)
    return f"{sign}{units}.{cents:0{digits}d}" if digits else f"{sign}{units}"

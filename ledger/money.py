"""Exact money: amounts are stored as integers of the currency's minor unit.

``10.00 USD`` is stored as ``1000``; ``10 JPY`` as ``10``. Conversion happens only at the
edges (request parsing and response rendering) with :class:`decimal.Decimal`; floating
point never touches an amount. Minor-unit exponents come from ISO 4217 (``iso4217``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from iso4217 import Currency

from ledger.errors import ValidationFailed

# Contract: an amount must stay below 10^15 units of its currency.
MAX_AMOUNT_DIGITS = 15
MAX_AMOUNT = Decimal(10) ** MAX_AMOUNT_DIGITS
# Exponents above 3 would let a 10^15 amount overflow a 64-bit integer of minor units.
MAX_EXPONENT = 3
# Largest magnitude a stored balance may reach (a signed 64-bit integer has ~9.22e18).
BALANCE_LIMIT = 9 * 10**18


@cache
def _exponents(currencies: tuple[str, ...]) -> dict[str, int]:
    """Return the minor-unit exponent of each code; ``ImproperlyConfigured`` for one the ledger cannot hold."""
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
    """Return the configured currencies and their minor-unit exponents, e.g. ``{"USD": 2, "JPY": 0}``."""
    return _exponents(tuple(settings.LEDGER_CURRENCIES))


def exponent(currency: str) -> int:
    """Return how many minor-unit digits ``currency`` has; ``KeyError`` if it is not configured."""
    return currencies()[currency]


def validate_currency(code: object) -> str:
    """Return ``code`` if it is a configured currency; ``validation_error`` (on ``currency``) otherwise."""
    if not isinstance(code, str) or code not in currencies():
        raise ValidationFailed(
            errors={"currency": [f"Unknown currency. Use one of: {', '.join(currencies())}."]},
        )
    return code


# The most decimal places an amount may be written with before the currency is known (a
# string has at most 18; so must a JSON number). The currency's own limit is checked later.
MAX_WRITTEN_PLACES = 18
# A plain decimal string: digits, optionally a point and more digits; nothing else (no sign,
# exponent, spaces or trailing newline: matched whole with ``fullmatch``).
_PLAIN_DECIMAL = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?")


def _decimal_places(amount: Decimal) -> int:
    """Return how many decimal places ``amount`` is written with (0 for a whole number)."""
    exponent = amount.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def amount_from(value: object, *, field: str = "amount") -> Decimal:
    """Parse an amount sent by a client: a decimal string or a JSON number, exactly.

    Accepted: a positive, finite amount below 10^15 written with at most 18 decimal places.
    Every check is on the decimal's exponent, so the work does not grow with what a number's
    text claims (``1`` followed by a million zeros and ``e-1000000`` is refused at once, not
    normalised), and the result has at most 33 significant digits. Whether the places, as
    written, fit the account's currency (``"1.000"`` is three, refused for USD; never rounded)
    is checked by :func:`to_minor`, in constant time.
    """
    if isinstance(value, bool):
        raise _invalid(field)
    if isinstance(value, int):
        if not 0 < value < MAX_AMOUNT:
            raise ValidationFailed(errors={field: [_NOT_POSITIVE if value <= 0 else _TOO_LARGE]})
        return Decimal(value)
    if isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise _invalid(field)
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise _invalid(field)
    if not amount.is_finite():
        raise ValidationFailed(errors={field: ["A finite amount is required."]})
    if amount.is_signed() or amount.is_zero():
        raise ValidationFailed(errors={field: [_NOT_POSITIVE]})
    if amount.adjusted() >= MAX_AMOUNT_DIGITS:  # The exponent of its leading digit: 10^15 or more.
        raise ValidationFailed(errors={field: [_TOO_LARGE]})
    if _decimal_places(amount) > MAX_WRITTEN_PLACES:
        raise ValidationFailed(errors={field: ["The amount has too many decimal places."]})
    return amount


def to_minor(amount: Decimal, currency: str, *, field: str = "amount") -> int:
    """Convert an amount accepted by :func:`amount_from` to minor units of ``currency``.

    Refuses (never rounds) more decimal places, as written, than the currency has: USD
    ``"1.000"`` is refused like ``"1.005"``. Constant work on an amount that
    :func:`amount_from` accepted.
    """
    digits = exponent(currency)
    sign, coefficient, power = amount.as_tuple()
    if not isinstance(power, int):  # NaN or infinity
        raise ValidationFailed(errors={field: ["A finite amount is required."]})
    if sign or not any(coefficient):
        raise ValidationFailed(errors={field: [_NOT_POSITIVE]})
    if amount.adjusted() >= MAX_AMOUNT_DIGITS:
        raise ValidationFailed(errors={field: [_TOO_LARGE]})
    if power < -digits:
        plural = "s" if digits != 1 else ""
        raise ValidationFailed(errors={field: [f"{currency} amounts have at most {digits} decimal place{plural}."]})
    # Below 10^15 with at most `digits` decimals: at most 18 digits, so int() is cheap and exact.
    scale: int = 10 ** (power + digits)  # power >= -digits (checked above): a whole power of ten
    return int("".join(map(str, coefficient))) * scale


_NOT_POSITIVE = "The amount must be greater than zero."
_TOO_LARGE = "The amount must be below 10^15."


def _invalid(field: str) -> ValidationFailed:
    """Return the refusal of a value that is no positive decimal amount, on ``field``."""
    return ValidationFailed(
        errors={field: ['Send a positive decimal amount, as a string such as "10.00" or a JSON number.']}
    )


def from_minor(minor: int, currency: str) -> Decimal:
    """Return minor units as an exact decimal with the currency's digits: ``1000, "USD" -> Decimal("10.00")``."""
    return Decimal(f"{minor}E-{exponent(currency)}")  # Built from a string: exact in any context.


def format_minor(minor: int, currency: str) -> str:
    """Return minor units as a string with exactly the currency's digits: ``1000, "USD" -> "10.00"``."""
    digits = exponent(currency)
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**digits)
    return f"{sign}{units}.{cents:0{digits}d}" if digits else f"{sign}{units}"

"""Instants and days sent by clients and operators, parsed strictly.

One grammar for every input that names a moment (the API's ``at``, ``created_after`` and
``created_before``; the commands' ``--since``, ``--from`` and ``--to``): ISO 8601 with ASCII
digits only, matched whole (no trailing newline, no other script's digits), within
``datetime``'s range. A moment without a zone is in the project's time zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.utils import timezone

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


def parse_day(text: str) -> date:
    """Parse a calendar day, ``2026-11-30``; ``ValueError`` for anything else."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"not an ISO date: {text!r}")
    return date.fromisoformat(text)


def parse_instant(text: str) -> datetime:
    """Parse an aware datetime from ``2026-11-30T06:00:00Z`` or an ISO 8601 variant; ``ValueError`` otherwise.

    A moment written without a zone is in the project's time zone.
    """
    if not _INSTANT.fullmatch(text):
        raise ValueError(f"not an ISO 8601 datetime: {text!r}")
    moment = datetime.fromisoformat(text.replace(",", ".").replace("Z", "+00:00"))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment

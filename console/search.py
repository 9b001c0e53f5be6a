"""What the console's search boxes find: any case, any part of a text, an id whole or by its start.

A term is read as, in this order:

- a whole public id (a UUID in any of its spellings): the row with that id, or an account's rows;
- the start of a public id, 8 to 32 hex digits (the short ids lists show, hyphens allowed): an
  index range on the unique ``public_id`` index (``id_prefix_range``), never a scan;
- text: ``icontains`` on the free-text columns (references, descriptions, names), which
  PostgreSQL answers from the trigram indexes of ``ledger.search_indexes`` and SQLite by a scan.

Text is matched case-insensitively and literally (``%`` and ``_`` are no wildcards). A term
longer than any column it could be part of finds nothing; a NUL never gets here
(``console.tools.refuse_nul``). Accounts found by name stand for their transactions, holds or
postings through their ids, at most :data:`MATCHING_ACCOUNTS` of them, newest first.
"""

from __future__ import annotations

import string
import uuid

from django.db.models import Q

from accounts.models import Account

MATCHING_ACCOUNTS = 100  # Accounts whose name matches a term, newest first, that stand for their rows.
MAX_TERM = 500  # The longest free-text column searched (a description): a longer term is part of none.
MIN_PREFIX = 8  # A short id: fewer hex digits would also be words ("cafe", "added").
_HEX = frozenset(string.hexdigits)


def whole_id(term: str) -> uuid.UUID | None:
    """Return ``term`` as a public id if it is a whole one, else ``None``."""
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def id_prefix_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Return the first and last ids starting with ``term`` (8 to 32 hex digits, hyphens ignored), else ``None``.

    ``public_id__range`` with them is one range of the unique index, on PostgreSQL (``uuid``)
    as on SQLite (32 lowercase hex characters, which sort the same).
    """
    digits = term.replace("-", "").lower()
    if not MIN_PREFIX <= len(digits) <= 32 or not _HEX.issuperset(digits):
        return None
    missing = 32 - len(digits)
    return uuid.UUID(digits + "0" * missing), uuid.UUID(digits + "f" * missing)


def ids_q(term: str, field: str = "public_id") -> Q | None:
    """Return the filter for ``field`` (a public id) matching ``term`` whole or by its start, or ``None``."""
    uid = whole_id(term)
    if uid is not None:
        return Q(**{field: uid})
    bounds = id_prefix_range(term)
    return None if bounds is None else Q(**{f"{field}__range": bounds})


def accounts_matching(term: str) -> list[Account]:
    """Return the accounts ``term`` names: by id or id start if it is one, else by part of their name.

    At most :data:`MATCHING_ACCOUNTS`, newest first, with only what a search needs (one query).
    """
    by_id = ids_q(term)
    condition = by_id if by_id is not None else Q(name__icontains=term)
    accounts = Account.objects.filter(condition).order_by("-id").only("pk", "is_system", "currency")
    return list(accounts[:MATCHING_ACCOUNTS])


def too_long(term: str) -> bool:
    """Whether ``term`` is longer than any text it could be part of (then it finds nothing)."""
    return len(term) > MAX_TERM

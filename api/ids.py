"""Object ids in URL paths: a UUID written as the API writes it, or no such object.

``uuid.UUID`` also accepts braces, ``urn:uuid:``, no hyphens, and any script's decimal digits
(fullwidth digits, U+FF10 to U+FF19): spellings no answer ever gives, which would name an object through a path
that differs from its own. A path id is the hyphenated form in ASCII hex, matched whole;
anything else cannot be an object's id, so it is ``not_found`` like an id that does not exist.
"""

from __future__ import annotations

import re
from uuid import UUID

from ledger.errors import NotFound

_CANONICAL = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def id_or_404(value: str, *, what: str) -> UUID:
    """Return the path id ``value`` as a UUID; ``NotFound("No such <what>.")`` unless it is one as written."""
    if not _CANONICAL.fullmatch(value):
        raise NotFound(f"No such {what}.")
    return UUID(value)

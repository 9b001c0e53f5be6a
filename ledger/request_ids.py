"""Request ids: which caller-given id is echoed (REST's ``X-Request-ID``, gRPC's ``x-request-id``)."""

from __future__ import annotations

import re

_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def acceptable(request_id: str) -> bool:
    """Return whether a caller's id is short and plain enough to echo and log; anything else is replaced."""
    return _ACCEPTABLE.fullmatch(request_id) is not None

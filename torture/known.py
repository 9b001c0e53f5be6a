"""Application bugs the torture suite found and that are not fixed yet.

A scenario that meets one of these does not count it as a new violation; it lists it under
"known bugs reproduced" (and the note says which are open). Each one has a strict ``xfail``
test in ``tests/torture/test_known_bugs.py`` that starts to pass, and so fails, as soon as
the bug is fixed: then delete its entry here and the ``xfail`` marker there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class KnownBug:
    name: str
    summary: str
    matches: Callable[[str, str, int, str, str], bool]  # (method, path, status, content type, request body)


def _format_suffix(method: str, path: str, status: int, content_type: str, body: str) -> bool:
    last = urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1]
    return status == 500 and "." in last


def _csrf_page(method: str, path: str, status: int, content_type: str, body: str) -> bool:
    return (
        status == 403
        and content_type.startswith("text/html")
        and method.upper() not in {"GET", "HEAD", "OPTIONS", "TRACE"}
        and urlsplit(path).path.startswith("/api/")
    )


def _batch_kind(method: str, path: str, status: int, content_type: str, body: str) -> bool:
    if status != 500 or method.upper() != "POST" or not urlsplit(path).path.rstrip("/").endswith("/batches"):
        return False
    try:
        operations = json.loads(body).get("operations")
    except (ValueError, AttributeError):
        return False
    return isinstance(operations, list) and any(
        isinstance(op, dict) and isinstance(op.get("kind"), list | dict) for op in operations
    )


KNOWN_BUGS: list[
    KnownBug
] = []  # The earlier five are fixed; tests/torture/test_known_bugs.py keeps each from coming back.


def known_bug(method: str, path: str, status: int, content_type: str, body: str = "") -> KnownBug | None:
    return next((bug for bug in KNOWN_BUGS if bug.matches(method, path, status, content_type or "", body)), None)

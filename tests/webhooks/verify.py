"""Standard Webhooks verification, written from the specification (not the project's code)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    assert len(key) == 32
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signatures(headers: dict[str, str]) -> list[str]:
    """The ``v1`` signatures of a request, in the order sent."""
    found = []
    for part in headers["webhook-signature"].split(" "):
        version, _, value = part.partition(",")
        assert version == "v1", part
        found.append(value)
    return found


def verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether one of the request's signatures is ``secret``'s (as a receiver checks)."""
    wanted = expected_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body)
    return any(hmac.compare_digest(wanted, sig) for sig in signatures(headers))

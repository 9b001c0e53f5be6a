"""Signing deliveries as Standard Webhooks does, and making the secrets that sign them.

A secret is ``whsec_`` followed by 32 random bytes in base64; the key is those bytes. A delivery
carries ``webhook-id`` (the event id), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``, one
per secret that signs, space-separated (after a rotation, the previous secret signs too for 24
hours). Receivers check any one of them, and the timestamp's age, and deduplicate by id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """Return a fresh secret: ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def key_of(secret: str) -> bytes:
    """Return the HMAC key of ``secret``: the bytes its base64 part decodes to."""
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """Return one signature, ``v1,<base64>``, of ``body`` sent as ``message_id`` at ``timestamp``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key_of(secret), signed, hashlib.sha256).digest()).decode("ascii")


def headers(signing_secrets: Iterable[str], *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the three Standard Webhooks headers, signed by each of ``signing_secrets``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id=message_id, timestamp=timestamp, body=body) for secret in signing_secrets
        ),
    }

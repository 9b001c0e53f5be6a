"""Messages to and from the REST interface's shapes: what a request carries, what an answer holds.

A request message becomes the JSON object REST's body (or query) would be, field for field, so
the same input serializers parse and bound it (``api.inputs``) and an idempotency key's
fingerprint is the same over both interfaces. An answer is the REST document, parsed into its
message: both carry the same names, money as the same decimal strings, instants as timestamps.

Only the fields a client set are carried: unset ``optional`` fields and unset messages are
absent, as an omitted JSON member is.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)


def _integral(value: Any) -> Any:
    """Return ``value`` with the integral doubles of a ``Struct`` as integers (1.0 -> 1), as JSON wrote them."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def as_json(message: Message, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the fields the client set in ``message`` as the JSON object REST would receive.

    ``without`` names fields that REST carries elsewhere (the idempotency key is a header, a
    resource's id is in the path).
    """
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return {name: _integral(value) for name, value in data.items() if name not in without}


def from_document(document: dict[str, Any], message_class: type[M]) -> M:
    """Return the REST document as its message (unknown to the message: an error, never dropped)."""
    return json_format.ParseDict(document, message_class())


def from_bytes(body: bytes, message_class: type[M]) -> M:
    """Return the stored bytes of a REST answer (an idempotency record's) as its message."""
    return from_document(json.loads(body), message_class)

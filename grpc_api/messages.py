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

from ledger.errors import ValidationFailed

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


def _unwritable(message: Message, prefix: str = "") -> str:
    """Return the path of the field of ``message`` that JSON cannot carry (a NaN, a timestamp past 9999)."""
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        if field.message_type is None:
            continue
        items = list(enumerate(value)) if field.is_repeated else [(None, value)]
        for index, item in items:
            path = name if index is None else f"{name}.{index}"
            try:
                json_format.MessageToDict(item)
            except (json_format.Error, ValueError):  # A well-known type raises ValueError of its own.
                if field.message_type.full_name.startswith("google.protobuf."):
                    return path
                return _unwritable(item, f"{path}.")
    return prefix.rstrip(".") or "non_field_errors"


def as_json(message: Message, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the fields the client set in ``message`` as the JSON object REST would receive.

    ``without`` names fields that REST carries elsewhere (the idempotency key is a header, a
    resource's id is in the path). A value JSON has no form for (a NaN or an infinity in a
    ``Struct``, a ``Timestamp`` outside years 1 to 9999) is ``validation_error`` naming its field,
    as REST refuses a body it cannot read.
    """
    try:
        data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    except (json_format.Error, ValueError):
        field = _unwritable(message)
        raise ValidationFailed(
            errors={field: ["JSON has no form for this value (a NaN, an infinity, a year past 9999)."]}
        ) from None
    return {name: _integral(value) for name, value in data.items() if name not in without}


def from_document(document: dict[str, Any], message_class: type[M]) -> M:
    """Return the REST document as its message (unknown to the message: an error, never dropped)."""
    return json_format.ParseDict(document, message_class())


def from_bytes(body: bytes, message_class: type[M]) -> M:
    """Return the stored bytes of a REST answer (an idempotency record's) as its message."""
    return from_document(json.loads(body), message_class)

"""Writes exactly once per idempotency key, in the same key space as REST's ``Idempotency-Key``.

A call's key, operation and payload make the same claim as the REST request with that header,
path and body would (:mod:`api.idempotency`): the fingerprint is the REST method and path with
the body REST would receive, so the same key sent over REST and then over gRPC for the same
request replays, and for another request is ``idempotency_key_reused``. The stored answer is the
REST document's bytes, rendered in the write's own transaction by the REST documents; a call
answers it as its message, and with ``idempotent-replayed: true`` in the trailing metadata when
it repeats an earlier answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.urls import reverse
from google.protobuf.message import Message

from grpc_api.calls import Call
from grpc_api.messages import from_bytes
from transactions.engine.idempotency import (
    AnswerRenderer,
    AnswerT,
    IdempotencyClaim,
    fingerprint,
    valid_key,
    write_once,
)

M = TypeVar("M", bound=Message)
REPLAYED = "idempotent-replayed"


def operation(route: str, **kwargs: str) -> str:
    """Return the REST operation a call stands for, as REST fingerprints it: ``"POST /api/v1/deposits/"``."""
    return f"POST {reverse(route, kwargs=kwargs or None)}"


def write(
    call: Call,
    *,
    key: str,
    operation: str,
    payload: dict[str, Any],
    render: AnswerRenderer[AnswerT],
    perform: Callable[[IdempotencyClaim[AnswerT]], AnswerT],
    answer: type[M],
    status: int = 201,
) -> M:
    """Make the write at most once for ``(client, key)``; return its answer (the first one, on a replay)."""
    claim = IdempotencyClaim(
        client=call.client,
        key=valid_key(key or None),
        fingerprint=fingerprint(operation, payload),
        render=render,
        status=status,
    )
    stored = write_once(claim, perform)
    if stored.replayed:
        call.context.set_trailing_metadata(((REPLAYED, "true"),))
    return from_bytes(stored.body, answer)

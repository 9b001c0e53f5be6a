"""The ``Idempotency-Key`` header over HTTP, on :mod:`transactions.engine.idempotency`.

A money movement needs the header; the request's method, path and parsed body are its
fingerprint; the stored answer is sent again byte for byte, with ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse
from rest_framework.request import Request

from api.clients import client_of
from transactions.engine.idempotency import (
    AnswerRenderer,
    AnswerT,
    IdempotencyClaim,
    StoredAnswer,
    fingerprint,
    valid_key,
    write_once,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def claim_for(request: Request, render: AnswerRenderer[AnswerT], *, status: int = 201) -> IdempotencyClaim[AnswerT]:
    """Return the request's claim: its key (``idempotency_key_required`` unless valid), fingerprint and status."""
    return IdempotencyClaim(
        client=client_of(request),
        key=valid_key(request.headers.get(HEADER)),
        fingerprint=fingerprint(f"{request.method} {request.path}", request.data),
        render=render,
        status=status,
    )


def response_of(answer: StoredAnswer) -> HttpResponse:
    """Return the stored answer as the HTTP response, marked ``Idempotent-Replayed`` if it repeats one."""
    response = HttpResponse(answer.body, status=answer.status, content_type="application/json")
    if answer.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def idempotent_post(
    request: Request,
    *,
    render: AnswerRenderer[AnswerT],
    perform: Callable[[IdempotencyClaim[AnswerT]], AnswerT],
    status: int = 201,
) -> HttpResponse:
    """Answer a money movement exactly once per ``(client, Idempotency-Key)``.

    ``perform`` validates the request and calls the service with the claim; ``render`` produces
    the body, inside the write's transaction, answered with ``status`` (201; a hold's void: 200)
    the first time and on every replay.
    """
    return response_of(write_once(claim_for(request, render, status=status), perform))

"""Idempotency keys: a money movement retried with the same key posts exactly once.

- The key is bound, with the exact bytes of the 201 answer, in the same database
  transaction as the posting (:meth:`IdempotencyClaim.bind`, or on PostgreSQL in the very
  statement that writes the posting, see :mod:`transactions.journal`), so it is bound if and
  only if the posting commits. A refused request binds nothing.
- A later request with the key and the same method, path and body gets that answer again
  with ``Idempotent-Replayed: true``; with anything else, ``idempotency_key_reused``.
- Of concurrent requests with one key, the first to commit wins; the others fail on the
  unique ``(client, key)`` constraint, roll back everything they wrote, and replay.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection
from django.http import HttpResponse
from rest_framework.request import Request

from ledger_project import metrics
from transactions.errors import IdempotencyKeyRequired, IdempotencyKeyReused, LedgerError
from transactions.models import Batch, IdempotencyRecord, Transaction

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def key_from(request: Request) -> str:
    key = request.headers.get(HEADER)
    if key is None or not _VALID_KEY.fullmatch(key):
        raise IdempotencyKeyRequired()
    return key


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the body in canonical JSON."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


@dataclass
class IdempotencyClaim:
    """A key not yet bound, carried into the posting service's database transaction."""

    client: AbstractBaseUser
    key: str
    fingerprint: str
    render: Callable[[Any], bytes]
    body: bytes | None = field(default=None, init=False)

    def record(self, answer: Transaction | Batch) -> dict[str, Any]:
        """Render the answer; the fields of the record that binds the key to it (not yet stored).

        The journal stores it in the same statement as the posting it answers (on PostgreSQL).
        """
        self.body = self.render(answer)
        return {
            "client_id": self.client.pk,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "response_status": 201,
            "response_body": self.body,
        }

    def bind(self, answer: Transaction | Batch) -> None:
        """Render the answer and bind the key to it. Call inside the posting's transaction."""
        IdempotencyRecord.objects.create(
            **self.record(answer),
            transaction=answer if isinstance(answer, Transaction) else None,
            batch=answer if isinstance(answer, Batch) else None,
        )


def _answer(status: int, body: bytes, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


_LOOKUP_SQL = "SELECT fingerprint, response_status, response_body FROM {table} WHERE client_id = %s AND {key} = %s"


def _replay(client: AbstractBaseUser, key: str, expected_fingerprint: str) -> HttpResponse | None:
    # On every money movement, so plain SQL: building the ORM query cost more than running it.
    # The unique (client, key) constraint's index answers it.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            _LOOKUP_SQL.format(table=quote(IdempotencyRecord._meta.db_table), key=quote("key")), [client.pk, key]
        )
        record = cursor.fetchone()
    if record is None:
        return None
    fingerprint, status, body = record
    if fingerprint != expected_fingerprint:
        raise IdempotencyKeyReused()
    metrics.IDEMPOTENT_REPLAYS.inc()
    return _answer(status, bytes(body), replayed=True)


def idempotent_post(
    request: Request,
    *,
    render: Callable[[Any], bytes],
    perform: Callable[[IdempotencyClaim], Transaction | Batch],
) -> HttpResponse:
    """Answer a money movement exactly once per ``(client, Idempotency-Key)``.

    ``perform`` validates the request and calls the posting service with the claim, which
    binds it inside the posting's database transaction; ``render`` produces the 201 body.
    """
    key = key_from(request)
    claim = IdempotencyClaim(client=request.user, key=key, fingerprint=fingerprint(request), render=render)
    replay = _replay(claim.client, key, claim.fingerprint)
    if replay is not None:
        return replay
    try:
        perform(claim)
    except (IntegrityError, LedgerError) as exc:
        if isinstance(exc, LedgerError) and exc.extra.get("outcome") == "unknown":
            raise  # The connection failed during COMMIT: only a later retry can tell.
        # Lost the race for the key, or refused after a concurrent attempt with the same key
        # posted (e.g. its withdrawal took the funds): that attempt's answer is the answer.
        replay = _replay(claim.client, key, claim.fingerprint)
        if replay is None:
            raise
        return replay
    assert claim.body is not None, "the posting service must bind the claim"
    return _answer(201, claim.body, replayed=False)

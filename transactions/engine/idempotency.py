"""Idempotency keys: a write retried with the same key is made exactly once, whatever the interface.

- A key is 1 to 255 printable ASCII characters, scoped to the client (:func:`valid_key`).
- The key is bound, with the exact bytes of the first answer, in the same database transaction
  as the write it answers (:meth:`IdempotencyClaim.bind`, or on PostgreSQL in the very statement
  that writes the posting, see :mod:`transactions.engine.journal`), so it is bound if and only if
  the write commits. A refused write binds nothing.
- The answer's bytes come from the interface that asked, through a narrow port
  (:class:`AnswerRenderer`): the core never knows what the bytes are.
- A later request with the key and the same fingerprint (:func:`fingerprint`: the operation and
  its canonical payload) gets the stored answer again; with another, ``idempotency_key_reused``.
- Of concurrent requests with one key, the first to commit wins; the others fail on the unique
  ``(client, key)`` constraint, roll back everything they wrote, and get the winner's answer
  (:func:`write_once`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, Protocol, TypedDict, TypeVar

from django.db import IntegrityError, connection

from accounts.models import Account, Hold
from ledger import metrics
from ledger.errors import IdempotencyKeyRequired, IdempotencyKeyReused, LedgerError
from transactions.models import Batch, IdempotencyRecord, Transaction

if TYPE_CHECKING:
    from ledger.users import User

_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")

Answer = Transaction | Batch | Hold | Account
AnswerT = TypeVar(
    "AnswerT", bound=Answer
)  # What one kind of write answers: a transaction, a batch, a hold, an account.
_AnswerT_contra = TypeVar("_AnswerT_contra", bound=Answer, contravariant=True)


class AnswerRenderer(Protocol[_AnswerT_contra]):
    """The interface's rendering of a write's answer: the exact bytes a replay will repeat."""

    def __call__(self, answer: _AnswerT_contra, /) -> bytes: ...


class RecordFields(TypedDict):
    """The fields of the record that binds a key to its answer, but the answer's own id."""

    client_id: int
    key: str
    fingerprint: str
    response_status: int
    response_body: bytes


def valid_key(key: str | None) -> str:
    """Return ``key`` if it is 1 to 255 printable ASCII characters, matched whole; else refuse it."""
    if key is None or not _VALID_KEY.fullmatch(key):
        raise IdempotencyKeyRequired()
    return key


def _json_default(value: object) -> str:
    """Write a decimal as its exact string; refuse anything else JSON has no form for."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def fingerprint(operation: str, payload: object) -> str:
    """Return the SHA-256 of the operation (``"POST /api/v1/deposits/"``) and the payload in canonical JSON."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(f"{operation}\n{body}".encode()).hexdigest()


@dataclass
class IdempotencyClaim(Generic[AnswerT]):
    """A key not yet bound, carried into the write's database transaction.

    ``body`` is ``None`` until the answer is rendered, which happens exactly when the key is bound.
    ``status`` is the answer's status: 201 for what a write creates, 200 for a hold's void.
    """

    client: User
    key: str
    fingerprint: str
    render: AnswerRenderer[AnswerT]
    status: int = 201
    body: bytes | None = field(default=None, init=False)

    def record(self, answer: AnswerT) -> RecordFields:
        """Render the answer; return the fields of the record that binds the key to it (not yet stored).

        The journal stores them in the same statement as the posting they answer (on PostgreSQL).
        """
        self.body = self.render(answer)
        return {
            "client_id": self.client.pk,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "response_status": self.status,
            "response_body": self.body,
        }

    def bind(self, answer: AnswerT) -> None:
        """Render the answer and bind the key to it. Call inside the write's database transaction."""
        IdempotencyRecord.objects.create(
            **self.record(answer),
            transaction=answer if isinstance(answer, Transaction) else None,
            batch=answer if isinstance(answer, Batch) else None,
            hold=answer if isinstance(answer, Hold) else None,
            account=answer if isinstance(answer, Account) else None,
        )


@dataclass(frozen=True)
class StoredAnswer:
    """An answer to a keyed write: its status and exact bytes, and whether it repeats an earlier one."""

    status: int
    body: bytes
    replayed: bool


_LOOKUP_SQL = "SELECT fingerprint, response_status, response_body FROM {table} WHERE client_id = %s AND {key} = %s"


def stored_answer(client: User, key: str, expected_fingerprint: str) -> StoredAnswer | None:
    """Return the answer ``key`` is bound to for ``client``, or ``None``.

    ``idempotency_key_reused`` if the key answered a request with another fingerprint.
    """
    # On every money movement, so fixed SQL text rather than an ORM query built anew each time
    # (docs/benchmarks.md, "Why the code is written as it is"). The unique (client, key)
    # constraint's index answers it.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            _LOOKUP_SQL.format(table=quote(IdempotencyRecord._meta.db_table), key=quote("key")), [client.pk, key]
        )
        record = cursor.fetchone()
    if record is None:
        return None
    found_fingerprint, status, body = record
    if found_fingerprint != expected_fingerprint:
        raise IdempotencyKeyReused()
    metrics.IDEMPOTENT_REPLAYS.inc()
    return StoredAnswer(status=status, body=bytes(body), replayed=True)


def write_once(claim: IdempotencyClaim[AnswerT], write: Callable[[IdempotencyClaim[AnswerT]], AnswerT]) -> StoredAnswer:
    """Make ``write`` at most once per ``(client, key)``: replay the bound answer, or write and bind.

    ``write`` calls a service with the claim, which binds it inside the write's own database
    transaction. A refusal, or a lost race for the key, replays the answer of the attempt that
    won, if one did (e.g. a concurrent withdrawal with the same key took the funds); else it is
    raised. When the connection failed during COMMIT (``outcome`` unknown) only a later retry can
    tell, so nothing is looked up.
    """
    replay = stored_answer(claim.client, claim.key, claim.fingerprint)
    if replay is not None:
        return replay
    try:
        write(claim)
    except (IntegrityError, LedgerError) as exc:
        if isinstance(exc, LedgerError) and exc.extra.get("outcome") == "unknown":
            raise
        replay = stored_answer(claim.client, claim.key, claim.fingerprint)
        if replay is None:
            raise
        return replay
    if claim.body is None:
        raise RuntimeError("the service did not bind the idempotency claim it was given")
    return StoredAnswer(status=claim.status, body=claim.body, replayed=False)

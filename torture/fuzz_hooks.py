"""Schemathesis hooks for the fuzzing scenario (loaded through ``SCHEMATHESIS_HOOKS``).

Generated ids almost never exist, so most requests would stop at a 404. Before each call, this
puts, at random, real ids where the schema asks for one (path ``id``, ``account_id``,
``source_account_id``, ``destination_account_id``, also inside batch operations), and gives
most money movements a fresh ``Idempotency-Key`` so that they can post. Holds get the same
treatment: a hold's path (read, capture, void) gets one of the seeded holds, and a hold's
``expires_at`` (``POST /holds/`` or a batch's ``{"kind": "hold"}`` operation) is often made a
valid instant, a few hours to a few weeks on, so that the hold can be placed and then captured
or voided. The ids come from ``TORTURE_FUZZ_IDS`` (JSON: ``accounts``, ``transactions``,
``batches``, ``holds``).

Two checks of the ledger's own are added to Schemathesis's:

- ``problem_document``: every 4xx and 5xx answer is an RFC 9457 problem document
  (``application/problem+json`` with its ``status`` and a ``code``);
- ``posted_only_when_answered``: a post sent with a key these hooks made (unique to it) bound
  that key (and so posted, captured or voided: every write binds its key in the statement that
  writes it) exactly once when answered 2xx, and not at all when answered 4xx: nothing is
  posted on a refusal. It reads ``TORTURE_FUZZ_DB``, the scenario's database.
"""

# ruff: noqa: S311 -- pseudo-random substitutions; nothing here is a secret.
from __future__ import annotations

import json
import os
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import schemathesis

IDS: dict[str, list[str]] = json.loads(os.environ.get("TORTURE_FUZZ_IDS", "{}"))
RNG = random.Random(os.environ.get("TORTURE_FUZZ_SEED", "0"))
DATABASE = os.environ.get("TORTURE_FUZZ_DB", "")
ACCOUNT_FIELDS = ("account_id", "source_account_id", "destination_account_id")
KEY_PREFIX = "fuzzhook-"  # a key these hooks made: never sent twice
_local = threading.local()


def _pool(path: str) -> list[str]:
    if path.startswith("/api/v1/accounts/"):
        return IDS.get("accounts", [])
    if path.startswith("/api/v1/batches/"):
        return IDS.get("batches", [])
    if path.startswith("/api/v1/holds/"):
        return IDS.get("holds", [])
    return IDS.get("transactions", [])


def _expiry() -> str:
    """A valid hold expiry: from an hour to 29 days on, written in one of the accepted ways."""
    moment = datetime.now(UTC) + timedelta(seconds=RNG.randint(3600, 29 * 86400))
    return RNG.choice([moment.isoformat(), moment.strftime("%Y-%m-%dT%H:%M:%SZ")])


def _real_accounts(body: Any, *, hold: bool = False) -> None:
    if not isinstance(body, dict):
        return
    for name in ACCOUNT_FIELDS:
        if name in body and IDS.get("accounts") and RNG.random() < 0.6:
            body[name] = RNG.choice(IDS["accounts"])
    if (hold or body.get("kind") == "hold") and "expires_at" in body and RNG.random() < 0.5:
        body["expires_at"] = _expiry()
    operations = body.get("operations")
    if isinstance(operations, list):
        for operation in operations:
            _real_accounts(operation)


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    path_parameters = case.path_parameters
    if path_parameters and "id" in path_parameters and RNG.random() < 0.5:
        pool = _pool(case.operation.path)
        if pool:
            path_parameters["id"] = RNG.choice(pool)
    _real_accounts(case.body, hold=case.operation.path == "/api/v1/holds/")
    headers = case.headers
    if headers is not None and "Idempotency-Key" in headers:
        current = headers["Idempotency-Key"]
        if (isinstance(current, str) and current.startswith(KEY_PREFIX)) or RNG.random() < 0.7:
            headers["Idempotency-Key"] = f"{KEY_PREFIX}{uuid.uuid4()}"


@schemathesis.check
def problem_document(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Every error is an RFC 9457 problem document with its status and a code."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if content_type != "application/problem+json":
        raise AssertionError(f"a {response.status_code} answered as {content_type!r}, not application/problem+json")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"a {response.status_code} problem document that is not JSON") from None
    if (
        not isinstance(body, dict)
        or body.get("status") != response.status_code
        or not isinstance(body.get("code"), str)
    ):
        raise AssertionError(f"a {response.status_code} problem document without its status and code: {body!r:.300}")
    return None


def _bindings(key: str) -> int:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(DATABASE, autocommit=True, connect_timeout=5)
    return conn.execute("SELECT COUNT(*) FROM transactions_idempotencyrecord WHERE key = %s", [key]).fetchone()[0]


@schemathesis.check
def posted_only_when_answered(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """A post with a key of these hooks' bound it once when answered 2xx, never when answered 4xx."""
    key = response.request.headers.get("Idempotency-Key") if response.request is not None else None
    if not DATABASE or response.request.method != "POST" or not isinstance(key, str) or not key.startswith(KEY_PREFIX):
        return None
    status = response.status_code
    if not (200 <= status < 300 or 400 <= status < 500) or status in (408, 429):
        return None  # no final answer: the outcome is unknown
    bound = _bindings(key)
    if 200 <= status < 300 and bound != 1:
        raise AssertionError(f"answered {status}, yet its Idempotency-Key is bound {bound} times")
    if 400 <= status < 500 and bound:
        raise AssertionError(f"refused with {status}, yet its Idempotency-Key is bound: something was posted")
    return None

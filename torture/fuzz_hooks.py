"""Schemathesis hooks for the fuzzing scenario (loaded through ``SCHEMATHESIS_HOOKS``).

Generated ids almost never exist, so most requests would stop at a 404. Before each call, this
puts, at random, real ids where the schema asks for one (path ``id``, ``account_id``,
``source_account_id``, ``destination_account_id``, also inside batch operations), and gives
most money movements a fresh ``Idempotency-Key`` so that they can post. The ids come from
``TORTURE_FUZZ_IDS`` (JSON: ``accounts``, ``transactions``, ``batches``).
"""

# ruff: noqa: S311 -- pseudo-random substitutions; nothing here is a secret.
from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any

import schemathesis

IDS: dict[str, list[str]] = json.loads(os.environ.get("TORTURE_FUZZ_IDS", "{}"))
RNG = random.Random(os.environ.get("TORTURE_FUZZ_SEED", "0"))
ACCOUNT_FIELDS = ("account_id", "source_account_id", "destination_account_id")


def _pool(path: str) -> list[str]:
    if path.startswith("/api/v1/accounts/"):
        return IDS.get("accounts", [])
    if path.startswith("/api/v1/batches/"):
        return IDS.get("batches", [])
    return IDS.get("transactions", [])


def _real_accounts(body: Any) -> None:
    if not isinstance(body, dict):
        return
    for name in ACCOUNT_FIELDS:
        if name in body and IDS.get("accounts") and RNG.random() < 0.6:
            body[name] = RNG.choice(IDS["accounts"])
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
    _real_accounts(case.body)
    headers = case.headers
    if headers is not None and "Idempotency-Key" in headers and RNG.random() < 0.7:
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"

"""Scenario 4, fuzzing: Schemathesis against the live API, from its own OpenAPI schema.

``st run`` loads ``/api/schema/?format=json`` from a gunicorn instance and generates requests
for every operation (examples, boundary values of the coverage phase, random positive and
negative data, and, in the full version, stateful sequences that feed one answer's ids into
the next request), with a valid token: a client's, then a staff client's. Hooks
(:mod:`torture.fuzz_hooks`) put real account, transaction, batch and hold ids into many
requests, valid expiry instants into many holds, and fresh idempotency keys on most money
movements, so that the fuzzing reaches the posting and hold services instead of stopping at
404. The hold endpoints are fuzzed like the others: placing a hold (also as a batch's
``{"kind": "hold"}`` operation), reading and listing holds (``?status=&account_id=``),
capturing and voiding them (seeded pending holds, and one captured and one voided, for the
refusals).

Checks on every answer: ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``, and two of the ledger's own
(:mod:`torture.fuzz_hooks`): every error is a problem document, and a post answered 4xx posted
nothing (its key bound nothing) while one answered 2xx bound its key exactly once. Every hold
operation must have been exercised. Afterwards the books balance (reservations and holds
included) and ``reconcile`` is clean.

Then the same clients fuzz the gRPC interface (:mod:`torture.fuzzing_grpc`), on the same
database, against a ``manage.py grpcserver``: Hypothesis builds every method's requests from the
proto's descriptors and mutates valid ones byte by byte; every answer must be OK or a contract
status with its ``google.rpc.ErrorInfo`` (never UNKNOWN or INTERNAL), and a write's fresh key is
bound exactly when it was answered OK. Its figures and violations are prefixed "gRPC"; the books
and ``reconcile`` are checked once both are done.
"""

# ruff: noqa: S603 -- the schemathesis command line is built here from fixed parts.
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.books import check_at
from harness.commands import REPO
from torture.client import Connection, call, open_accounts
from torture.infra import Context, Instance, create_clients, instances
from torture.invariants import reconcile
from torture.known import known_bug
from torture.report import Result

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "problem_document,posted_only_when_answered"
)
HOLD_OPERATIONS = {
    "POST /api/v1/holds/",
    "GET /api/v1/holds/",
    "GET /api/v1/holds/{id}/",
    "POST /api/v1/holds/{id}/capture/",
    "POST /api/v1/holds/{id}/void/",
}


@dataclass(frozen=True)
class FuzzPlan:
    max_examples: int
    phases: str
    principals: tuple[str, ...]  # "client", "staff"
    timeout: float  # seconds for one whole `st run`


FULL = FuzzPlan(100, "examples,coverage,fuzzing,stateful", ("client", "staff"), 1200)
SHORT = FuzzPlan(4, "examples,coverage,fuzzing", ("client",), 120)


def seed(base: str, tokens: dict[str, str]) -> dict[str, list[str]]:
    """A few accounts, movements, a batch and holds for the hooks to aim at; returns their ids."""
    a, b = tokens["fuzz-a"], tokens["fuzz-b"]
    accounts = open_accounts(base, {"fuzz-a": a}, 2) + open_accounts(base, {"fuzz-b": b}, 1)
    a1, a2, b1 = (account.id for account in accounts)
    conn = Connection(base, timeout=20)
    eur = call(conn, "POST", "/api/v1/accounts/", {"currency": "EUR", "name": "fuzz EUR"}, token=a).json["id"]
    jpy = call(conn, "POST", "/api/v1/accounts/", {"currency": "JPY", "name": "fuzz JPY"}, token=a).json["id"]
    posts = [
        ("/api/v1/deposits/", {"account_id": a1, "amount": "100000.00"}, a),
        ("/api/v1/deposits/", {"account_id": a2, "amount": "5000.00"}, a),
        ("/api/v1/deposits/", {"account_id": eur, "amount": "700.00"}, a),
        ("/api/v1/deposits/", {"account_id": jpy, "amount": "90000"}, a),
        ("/api/v1/deposits/", {"account_id": b1, "amount": "250.00"}, b),
        ("/api/v1/transfers/", {"source_account_id": a1, "destination_account_id": a2, "amount": "10.00"}, a),
        ("/api/v1/transfers/", {"source_account_id": b1, "destination_account_id": a1, "amount": "5.00"}, b),
        ("/api/v1/withdrawals/", {"account_id": a2, "amount": "1.00"}, a),
    ]
    transactions = []
    for number, (path, payload, token) in enumerate(posts):
        reply = call(conn, "POST", path, payload, token=token, key=f"seed-{number}")
        if reply.status != 201:
            raise RuntimeError(f"seeding {path}: {reply.describe()}")
        transactions.append(reply.json["id"])
    batch = call(
        conn,
        "POST",
        "/api/v1/batches/",
        {
            "operations": [
                {"kind": "deposit", "account_id": a2, "amount": "3.00"},
                {"kind": "transfer", "source_account_id": a2, "destination_account_id": a1, "amount": "2.00"},
            ]
        },
        token=a,
        key="seed-batch",
    )
    if batch.status != 201:
        raise RuntimeError(f"seeding a batch: {batch.describe()}")
    transactions += [t["id"] for t in batch.json["transactions"]]
    # Holds: pending ones to capture and void (withdrawals and transfers, other currencies, B's),
    # one placed by a batch, and one captured and one voided for the refusals.
    placements = [
        ({"account_id": a1, "amount": "100.00"}, a),
        ({"account_id": a1, "amount": "250.00", "destination_account_id": a2}, a),
        ({"account_id": a1, "amount": "40.00", "destination_account_id": b1, "description": "escrow"}, a),
        ({"account_id": a2, "amount": "30.00", "metadata": {"card": "4242"}}, a),
        ({"account_id": eur, "amount": "50.00"}, a),
        ({"account_id": jpy, "amount": "5000"}, a),
        ({"account_id": b1, "amount": "20.00"}, b),
        ({"account_id": a1, "amount": "5.00"}, a),
        ({"account_id": a1, "amount": "6.00"}, a),
    ]
    holds = []
    for number, (payload, token) in enumerate(placements):
        reply = call(conn, "POST", "/api/v1/holds/", payload, token=token, key=f"seed-hold-{number}")
        if reply.status != 201:
            raise RuntimeError(f"seeding a hold: {reply.describe()}")
        holds.append(reply.json["id"])
    held = call(
        conn,
        "POST",
        "/api/v1/batches/",
        {"operations": [{"kind": "hold", "account_id": a2, "amount": "4.00", "destination_account_id": a1}]},
        token=a,
        key="seed-batch-hold",
    )
    if held.status != 201 or len(held.json.get("holds") or []) != 1:
        raise RuntimeError(f"seeding a batch's hold: {held.describe()}")
    holds += [h["id"] for h in held.json["holds"]]
    captured = call(conn, "POST", f"/api/v1/holds/{holds[-3]}/capture/", {}, token=a, key="seed-capture")
    voided = call(conn, "POST", f"/api/v1/holds/{holds[-2]}/void/", {"reason": "seed"}, token=a, key="seed-void")
    if captured.status != 201 or voided.status != 200:
        raise RuntimeError(f"seeding a capture and a void: {captured.describe()} / {voided.describe()}")
    transactions.append(captured.json["id"])
    conn.close()
    return {
        "accounts": [a1, a2, eur, jpy, b1],
        "transactions": transactions,
        "batches": [batch.json["id"], held.json["id"]],
        "holds": holds,
    }


@dataclass
class Outcome:
    requests: int
    statuses: Counter
    operations: set[str]
    failures: list[dict]  # one per failed case: operation, checks, request and response
    exit_code: int
    output: str


def _decode(payload: dict | None) -> str:
    if not payload:
        return ""
    if "$base64" in payload:
        return base64.b64decode(payload["$base64"]).decode(errors="replace")
    return json.dumps(payload)


def schemathesis_run(
    base: str, token: str, plan: FuzzPlan, ids: dict, workdir: Path, seed_value: int, database_url: str = ""
) -> Outcome:
    report = workdir / f"schemathesis-{time.monotonic_ns()}.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "run",
        f"{base}/api/schema/?format=json",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(plan.max_examples),
        "--phases",
        plan.phases,
        "--workers",
        "2",
        "--seed",
        str(seed_value),
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--generation-database",
        "none",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SCHEMATHESIS_HOOKS": "torture.fuzz_hooks",
        "TORTURE_FUZZ_IDS": json.dumps(ids),
        "TORTURE_FUZZ_SEED": str(seed_value),
        "TORTURE_FUZZ_DB": database_url,
    }
    finished = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=plan.timeout, check=False
    )
    outcome = Outcome(0, Counter(), set(), [], finished.returncode, finished.stdout[-4000:] + finished.stderr[-2000:])
    if not report.exists():
        return outcome
    for line in report.read_text().splitlines():
        event = json.loads(line)
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        interactions = recorder.get("interactions") or {}
        for interaction in interactions.values():
            outcome.requests += 1
            response = interaction.get("response") or {}
            outcome.statuses[response.get("status_code", 0)] += 1
        if interactions and recorder["label"].split(" ", 1)[0] in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
            outcome.operations.add(recorder["label"])
        for case_id, checks in (recorder.get("checks") or {}).items():
            failed = [c for c in checks if c["status"] == "failure"]
            if not failed:
                continue
            interaction = interactions.get(case_id) or {}
            request, response = interaction.get("request") or {}, interaction.get("response") or {}
            headers = response.get("headers") or {}
            outcome.failures.append(
                {
                    "operation": recorder["label"],
                    "checks": sorted({c["failure_info"]["failure"]["title"] for c in failed}),
                    "messages": sorted({c["failure_info"]["failure"].get("message", "") for c in failed} - {""}),
                    "method": request.get("method", ""),
                    "uri": request.get("uri", ""),
                    "body": _decode(request.get("body")),
                    "status": response.get("status_code", 0),
                    "content_type": (headers.get("content-type") or [""])[0],
                    "response": _decode(response.get("content"))[:300],
                }
            )
    return outcome


def run(ctx: Context, plan: FuzzPlan | None = None) -> Result:
    result = Result("fuzzing", "4. Fuzzing")
    plan = plan or (SHORT if ctx.short else FULL)
    started = time.monotonic()
    url = ctx.databases.clone("fuzzing")
    from torture import fuzzing_grpc  # imported here, as the other scenarios' gRPC parts

    tokens = create_clients(url, fuzzing_grpc.CLIENTS)
    token_of = {"client": tokens["fuzz-a"], "staff": tokens["fuzz-staff"]}
    known: Counter = Counter()
    new: dict[tuple, dict] = {}
    statuses: Counter = Counter()
    operations: set[str] = set()
    with instances(Instance("fuzzing", url, ctx.workdir)) as (instance,):
        ids = seed(instance.base, tokens)
        result.requests += 34
        for number, principal in enumerate(plan.principals):
            outcome = schemathesis_run(
                instance.base, token_of[principal], plan, ids, ctx.workdir, ctx.seed + number, url
            )
            result.requests += outcome.requests
            result.checked += outcome.requests * len(CHECKS.split(","))
            statuses.update(outcome.statuses)
            operations |= outcome.operations
            result.expect(outcome.requests > 0, f"schemathesis ({principal}) sent nothing:\n{outcome.output}")
            result.expect(outcome.exit_code in (0, 1), f"schemathesis ({principal}) errored:\n{outcome.output}")
            for failure in outcome.failures:
                bug = known_bug(
                    failure["method"], failure["uri"], failure["status"], failure["content_type"], failure["body"]
                )
                if bug is not None:
                    known[bug.name] += 1
                    continue
                signature = (failure["operation"], tuple(failure["checks"]), failure["status"])
                new.setdefault(signature, {**failure, "principal": principal})
        alive = Connection(instance.base).request("GET", "/healthz", None, {"Host": "127.0.0.1"})
        result.expect(alive.status == 200, f"/healthz after fuzzing: {alive.describe()}")
    rest = (result.requests, len(result.violations) + len(new))
    try:  # The same clients fuzz the gRPC interface, on the same books, aimed at the same objects.
        fuzzing_grpc.run_part(ctx, result, url, tokens, ids)
    except Exception:  # A gRPC part that cannot finish is a failure to show, not a reason to drop REST's figures.
        result.violations.append(f"gRPC: the fuzzing could not finish:\n{traceback.format_exc()}")
    over_grpc = {name: result.figures.pop(name) for name in list(result.figures) if name.startswith("gRPC")}

    for failure in new.values():
        result.violations.append(
            f"{failure['operation']} ({failure['principal']}): {', '.join(failure['checks'])}; "
            f"{' / '.join(failure['messages'])}; "
            f"request {failure['method']} {failure['uri']} {failure['body'][:300]!r}; "
            f"answer {failure['status']} {failure['content_type']} {failure['response']!r}"
        )
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    result.expect(len(operations) >= 24, f"only {len(operations)} operations were exercised: {sorted(operations)}")
    result.expect(
        operations >= HOLD_OPERATIONS, f"hold operations never exercised: {sorted(HOLD_OPERATIONS - operations)}"
    )
    result.figures.update(
        {
            "schemathesis": f"{plan.phases} phases, {plan.max_examples} examples per operation and phase, "
            f"as {' and '.join(plan.principals)}",
            "operations exercised": len(operations),
            "hold operations exercised": len(HOLD_OPERATIONS & operations),
            "answers": dict(sorted(statuses.items())),
            "checks per answer": CHECKS.replace(",", ", "),
            "new failures": len(new),
            "REST requests, violations": f"{rest[0]} requests, {rest[1]} violations",
            **over_grpc,
            "reconcile": f"{line} (after Schemathesis and the gRPC fuzzing)",
        }
    )
    result.known.update(known)
    result.duration = time.monotonic() - started
    return result

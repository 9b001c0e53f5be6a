"""One benchmark run, step by step (see :mod:`bench.cli`): database, seed, server, scenarios, results."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg

from bench import database, report
from bench.database import Database, fetch, maintenance_database, manage
from bench.errors import BenchFailure
from bench.invariants import Books, check_conservation, reconcile
from bench.machine import machine, machine_cpu
from bench.pgbench import find_pgbench, run_pgbench
from bench.report import say
from bench.scenarios import BATCH_SIZE, SCENARIOS, Config, Result
from bench.seed import Seeded, seed
from bench.server import Server
from bench.wrk import lua_data, run_wrk
from harness.environment import production_env


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if find_pgbench() is None:
        missing.append("pgbench")
    return missing


def after_scenario(result: Result, db: Database, env: dict[str, str], before: Books) -> dict[str, Any]:
    time.sleep(0.5)  # Let requests still in flight when the generator stopped finish.
    after, applied = Books.read(db, since=before.last_txn)
    result.applied = applied["total"]
    result.by_kind = applied["by_kind"]
    result.applied_per_s = round(result.applied / result.duration_s, 1) if result.duration_s else 0.0
    result.conservation = check_conservation(before, after, applied)
    result.reconcile = reconcile(env)
    return applied


def run(config: Config, *, results_path: Path | None, docs_path: Path | None) -> dict[str, Any]:
    missing = missing_tools()
    if missing:
        raise BenchFailure(f"missing tools: {', '.join(missing)} (run scripts/install-bench-tools)")
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise BenchFailure("set DATABASE_URL to a PostgreSQL server (make bench uses scripts/with-postgres)")
    admin = Database(base_url)
    db = admin.sibling(f"ledger_bench_{secrets.token_hex(4)}")
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    run_id = secrets.token_hex(4)
    started = time.time()
    info = machine()
    (workdir / "metrics").mkdir()
    admin = maintenance_database(admin)
    info.update(database.create(admin, db))
    say(f"database {db.name} created; working files in {workdir} (removed at the end)")
    server = None
    results: list[Result] = []
    try:
        env = production_env(
            DATABASE_URL=db.url,
            LEDGER_THROTTLE_RATE="",
            LOG_LEVEL="WARNING",
            PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"),
            **config.server_env,
        )
        t0 = time.monotonic()
        manage(env, "migrate", "--noinput", "-v0")
        token = manage(env, "create_api_client", "bench-client")[1].strip()
        [(client_pk,)] = fetch(db, "SELECT id FROM auth_user WHERE username = 'bench-client'")
        say(f"migrated in {time.monotonic() - t0:.1f} s; seeding {config.customers:,} accounts, "
            f"{config.history:,} history postings")  # fmt: skip
        t0 = time.monotonic()
        seeded = seed(db.url, client_pk=client_pk, customers=config.customers, history=config.history)
        seed_seconds = round(time.monotonic() - t0, 1)
        initial = reconcile(env)
        say(f"seeded in {seed_seconds} s; reconcile: {'clean' if initial['clean'] else 'NOT CLEAN'} "
            f"({initial['seconds']} s)")  # fmt: skip
        if not initial["clean"]:
            raise BenchFailure(f"the seeded ledger does not reconcile: {initial['listed']}")
        data_file = workdir / "data.lua"
        data_file.write_text(lua_data(token, seeded))
        server = Server(env, workdir / "gunicorn.log")
        server.start()
        say(f"gunicorn ready at {server.base} with {len(server.workers())} workers")
        if config.warmup > 0:
            run_wrk(server.base, "transfer", data_file, run_id + "w", duration=config.warmup,
                    connections=config.connections)  # fmt: skip
        for name in config.scenarios:
            spec = SCENARIOS[name]
            results.append(_service_scenario(name, spec, config, server, db, env, data_file, run_id))
            say(report.one_line(results[-1]))
            if spec.get("pgbench"):
                results.append(_pgbench_scenario(name, spec, config, seeded, db, env, workdir))
                say(report.one_line(results[-1]))
    finally:
        if server is not None:
            server.stop()
        try:
            database.drop(admin, db)
        except psycopg.Error as exc:
            say(f"could not drop {db.name}: {exc}")
        info["load_average_at_end"] = list(os.getloadavg())
        shutil.rmtree(workdir, ignore_errors=True)
    document = report.document(
        info=info,
        config=asdict(config) | {"batch_size": BATCH_SIZE, "seed_seconds": seed_seconds},
        results=[asdict(r) for r in results],
        started=started,
    )
    print(report.table(document))
    if results_path is not None:
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(document, indent=2) + "\n")
        say(f"wrote {results_path}")
    if docs_path is not None:
        report.update_docs(docs_path, document)
        say(f"wrote {docs_path}")
    return document


def _service_scenario(name, spec, config, server, db, env, data_file, run_id) -> Result:
    before, _ = Books.read(db)
    server.reset_peak_memory()
    connections = spec.get("connections", config.connections)
    cpu_before, machine_before = server.cpu_seconds(), machine_cpu()
    outcome = run_wrk(server.base, spec["wrk"], data_file, f"{run_id}{name[:2]}", duration=config.duration,
                      connections=connections)  # fmt: skip
    duration = outcome["duration_us"] / 1e6
    result = Result(
        name=name,
        title=spec["title"],
        kind="service",
        connections=connections,
        duration_s=round(duration, 2),
        requests=outcome["requests"],
        requests_per_s=round(outcome["requests"] / duration, 1) if duration else 0.0,
        latency_ms={key: round(value / 1000, 2) for key, value in outcome["latency_us"].items()},
        statuses=dict(sorted(outcome["statuses"].items())),
        socket_errors={k: v for k, v in outcome["errors"].items() if k != "status" and v},
        peak_rss_mib=server.peak_memory_mib(),
    )
    cpu_used = server.cpu_seconds() - cpu_before
    busy, total = (now - then for now, then in zip(machine_cpu(), machine_before, strict=True))
    result.worker_cpu_ms_per_request = round(cpu_used * 1000 / outcome["requests"], 2) if outcome["requests"] else None
    result.machine_cpu_busy_pct = round(100 * busy / total, 1) if total else None
    after_scenario(result, db, env, before)
    return result


def _pgbench_scenario(name, spec, config, seeded: Seeded, db, env, workdir) -> Result:
    before, _ = Books.read(db)
    variables = {"lo": seeded.customer_lo, "hi": seeded.customer_hi, "hot": seeded.hot_pk, "client": seeded.client_pk}
    machine_before = machine_cpu()
    outcome = run_pgbench(db, spec["pgbench"], variables, duration=config.duration, connections=config.connections,
                          workdir=workdir)  # fmt: skip
    busy, total = (now - then for now, then in zip(machine_cpu(), machine_before, strict=True))
    result = Result(
        name=name,
        title=f"pgbench: {spec['pgbench']}",
        kind="pgbench",
        connections=config.connections,
        duration_s=outcome["duration_s"],
        latency_ms={key: round(value / 1000, 2) for key, value in outcome["latency_us"].items()},
        statuses={"failed": outcome["failed"]} if outcome["failed"] else {},
        machine_cpu_busy_pct=round(100 * busy / total, 1) if total else None,
    )
    after_scenario(result, db, env, before)
    result.requests = result.applied
    result.requests_per_s = result.applied_per_s
    return result

"""One benchmark run, step by step (see :mod:`bench.cli`): database, seed, server, scenarios, results."""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench import database, peer, report
from bench.cluster import cluster_scenarios
from bench.database import Database, fetch, maintenance_database, manage
from bench.errors import BenchFailure
from bench.grpc_bench import grpc_data, grpc_scenario
from bench.invariants import Books, check_conservation, reconcile
from bench.machine import machine, machine_cpu
from bench.pgbench import find_pgbench, run_pgbench
from bench.report import say
from bench.scenarios import BATCH_SIZE, SCENARIOS, Config, Result
from bench.seed import Seeded, seed
from bench.server import Server, gunicorn_threads, gunicorn_workers
from bench.wrk import lua_data, run_wrk
from harness.commands import REPO
from harness.environment import production_env, project_env
from harness.ports import free_port
from harness.servers import gunicorn_command
from harness.topology import missing_tools as topology_missing_tools

# Throttling is on as in production, at a rate no benchmark client reaches (it counts, never refuses).
THROTTLE_RATE = "100000000/min"


def bench_redis_url() -> str | None:
    """Return the Redis the benchmark's instances share (``BENCH_REDIS_URL``; empty: none), if it answers."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not url:
        return None
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


def missing_tools() -> list[str]:
    """The programs the benchmark needs that are not installed: wrk, pgbench, and the cluster's."""
    missing = topology_missing_tools(prometheus=False)
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if find_pgbench() is None:
        missing.append("pgbench")
    return missing


def after_scenario(
    result: Result, db: Database, env: dict[str, str], before: Books, *, own_process: bool = False
) -> dict[str, Any]:
    """Read what the scenario applied and check the books: conservation, and ``reconcile`` (see its ``own_process``)."""
    time.sleep(0.5)  # Let requests still in flight when the generator stopped finish.
    after, applied = Books.read(db, since=before.last_txn)
    result.record_applied(applied["total"])
    result.by_kind = applied["by_kind"]
    result.conservation = check_conservation(before, after, applied)
    result.reconcile = reconcile(env, own_process=own_process)
    return applied


def run(config: Config, *, results_path: Path | None, docs_path: Path | None) -> dict[str, Any]:
    missing = missing_tools()
    if missing:
        raise BenchFailure(
            f"missing tools: {', '.join(missing)} (run scripts/install-bench-tools and scripts/install-cluster-tools)"
        )
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
    cache_probe: dict[str, Any] = {}
    try:
        redis_url = bench_redis_url()
        info["redis"] = redis_url or "none reachable: throttle counters in each worker's memory"
        # The production configuration: logging at INFO, metrics served, throttling on (at a rate
        # above what the load offers, so that it counts every request and refuses none), through
        # Redis when one is reachable, as several instances would run.
        settings = {
            "DATABASE_URL": db.url,
            "LEDGER_THROTTLE_RATE": THROTTLE_RATE,
            "LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
            "LEDGER_METRICS_BIND": f"127.0.0.1:{free_port()}",
            **({"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": f"bench-{run_id}"} if redis_url else {}),
        }
        env = production_env(**{**settings, **config.server_env})  # --server-env overrides any of them
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
        grpc_data_file = workdir / "grpc.json"
        grpc_data_file.write_text(grpc_data(token, seeded))
        floor_scenarios = [name for name in config.scenarios if SCENARIOS[name].get("server") == "floor"]
        if floor_scenarios:
            results += _floor_scenarios(floor_scenarios, config, workdir, data_file, run_id)
        server = Server(env, workdir / "gunicorn.log")
        server.start()
        say(f"gunicorn ready at {server.base} with {len(server.workers())} workers")
        if config.warmup > 0:
            run_wrk(server.base, "transfer", data_file, run_id + "w", duration=config.warmup,
                    connections=config.connections)  # fmt: skip
        for name in config.scenarios:
            spec = SCENARIOS[name]
            if spec.get("server") in ("floor", "peer"):
                continue
            if spec.get("server") == "grpc":  # A server of its own, warmed up before the books are read.
                result, before = grpc_scenario(name, spec, config, env, db, grpc_data_file, run_id, workdir)
                results.append(result)
            else:
                before, _ = Books.read(db)
                results.append(_load(name, spec, config, server, data_file, run_id, kind="service"))
            after_scenario(results[-1], db, env, before)
            say(report.one_line(results[-1]))
            for kind, script in (("pgbench", spec.get("pgbench")), ("pgbench-bare", spec.get("pgbench_bare"))):
                if script:
                    results.append(_pgbench_scenario(name, script, kind, config, seeded, db, env, workdir))
                    say(report.one_line(results[-1]))
        if "6-peer-deposits" in config.scenarios and config.peer is not None:
            results.append(_peer_scenario(config, admin, workdir, run_id))
        server.stop()  # the cluster's instances take the machine: the direct server must not compete
        server = None
        results = beside(results, cluster_scenarios(config, workdir, run_id, _load, after_scenario))
        cache_probe = _cache_probe(env, seeded)
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
        config=asdict(config)
        | {"batch_size": BATCH_SIZE, "seed_seconds": seed_seconds, "peer": str(config.peer) if config.peer else None},
        results=[asdict(r) for r in results],
        started=started,
        cache_probe=cache_probe,
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


def beside(results: list[Result], cluster: list[Result]) -> list[Result]:
    """``results`` with each cluster result right after the direct results of its scenario."""
    ordered = list(results)
    for result in cluster:
        last = max((i for i, r in enumerate(ordered) if r.name == result.name), default=len(ordered) - 1)
        ordered.insert(last + 1, result)
    return ordered


def _peer_scenario(config: Config, admin: Database, workdir: Path, run_id: str) -> Result:
    """Measure the peer wallet's deposits on a database of its own, under the same gunicorn configuration."""
    assert config.peer is not None
    db = admin.sibling(f"peer_bench_{secrets.token_hex(4)}")
    database.create(admin, db)
    try:
        env = peer.peer_env(project_env(**config.server_env), db, debug=not config.peer_debug_off)
        wallets = peer.prepare(config.peer, env, db)
        data_file = workdir / "peer.lua"
        data_file.write_text(peer.lua_data(wallets))
        server = Server(env, workdir / "peer.log", command=peer.command(config.peer), ready_path="/admin/login/",
                        cwd=config.peer)  # fmt: skip
        server.start()
        say(f"peer wallet ready at {server.base} with {len(server.workers())} workers")
        try:
            before = peer.deposits(db)
            result = _load("6-peer-deposits", SCENARIOS["6-peer-deposits"], config, server, data_file, run_id,
                           kind="peer")  # fmt: skip
            time.sleep(0.5)
            result.record_applied(peer.deposits(db) - before)
        finally:
            server.stop()
    finally:
        database.drop(admin, db)
    say(report.one_line(result))
    return result


def _cache_probe(env: dict[str, str], seeded: Seeded) -> dict[str, Any]:
    """Time the balance read's database work against a Redis copy of it (:mod:`bench.cache_probe`)."""
    command = [sys.executable, "-m", "bench.cache_probe", seeded.history_id, "bench-client"]
    probe = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    line = next((ln for ln in probe.stdout.splitlines() if ln.startswith("CACHE_PROBE ")), None)
    if probe.returncode != 0 or line is None:
        raise BenchFailure(f"the cache probe failed:\n{probe.stdout}\n{probe.stderr}")
    found = json.loads(line.removeprefix("CACHE_PROBE "))
    say(f"cache probe: {found}")
    return found


def _floor_scenarios(names: list[str], config: Config, workdir: Path, data_file: Path, run_id: str) -> list[Result]:
    """Run the framework floor's scenarios against ``bench.floor`` under the same gunicorn configuration."""
    env = project_env(**{"LOG_LEVEL": "INFO", "LEDGER_METRICS_BIND": "", **config.server_env})
    floor = Server(env, workdir / "floor.log", command=lambda port: gunicorn_command(port, "bench.floor.wsgi"),
                   ready_path="/balance")  # fmt: skip
    floor.start()
    say(f"framework floor ready at {floor.base} with {len(floor.workers())} workers")
    results = []
    try:
        if config.warmup > 0:
            run_wrk(floor.base, "floor_transfer", data_file, run_id + "f", duration=min(config.warmup, 2),
                    connections=config.connections)  # fmt: skip
        for name in names:
            results.append(_load(name, SCENARIOS[name], config, floor, data_file, run_id, kind="floor"))
            say(report.one_line(results[-1]))
    finally:
        floor.stop()
    return results


def _load(name, spec, config, server, data_file, run_id, *, kind: str) -> Result:
    """Drive ``server`` with the scenario's ``wrk`` load and measure it."""
    server.reset_peak_memory()
    connections = spec.get("connections", config.connections)
    cpu_before, machine_before = server.cpu_seconds(), machine_cpu()
    wrk_before = _children_cpu()
    outcome = run_wrk(server.base, spec["wrk"], data_file, f"{run_id}{name[:3]}", duration=config.duration,
                      connections=connections)  # fmt: skip
    duration = outcome["duration_us"] / 1e6
    result = Result(
        name=name,
        title=spec["title"],
        kind=kind,
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
    result.server_cpu_s = round(cpu_used, 3)
    result.generator_cpu_s = round(_children_cpu() - wrk_before, 3)
    result.server_threads = gunicorn_threads(server.env)  # Every server here runs under gunicorn.conf.py.
    result.server_processes = gunicorn_workers(server.env)
    result.worker_cpu_ms_per_request = round(cpu_used * 1000 / outcome["requests"], 2) if outcome["requests"] else None
    result.machine_cpu_busy_pct = round(100 * busy / total, 1) if total else None
    return result


def _children_cpu() -> float:
    """CPU seconds of this process's children that have exited: around ``run_wrk``, wrk's (the only one reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pgbench_scenario(name, script, kind, config, seeded: Seeded, db, env, workdir) -> Result:
    before, _ = Books.read(db)
    variables = {"lo": seeded.customer_lo, "hi": seeded.customer_hi, "hot": seeded.hot_pk, "client": seeded.client_pk}
    machine_before = machine_cpu()
    outcome = run_pgbench(db, script, variables, duration=config.duration, connections=config.connections,
                          workdir=workdir)  # fmt: skip
    busy, total = (now - then for now, then in zip(machine_cpu(), machine_before, strict=True))
    result = Result(
        name=name,
        title=f"pgbench: {script}",
        kind=kind,
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

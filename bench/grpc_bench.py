"""The gRPC scenario: ``manage.py grpcserver`` driven by :mod:`bench.grpc_load`, beside REST's transfers.

The server runs as users run it (docs/grpc.md, docker-compose.yml): the same database and
production settings as gunicorn, its metrics served on a port of their own, with as many
processes as gunicorn has workers, each with as many threads (``grpcserver --processes``:
``WEB_CONCURRENCY`` x ``GUNICORN_THREADS``; ``--server-env LEDGER_GRPC_PROCESSES=N`` and
``LEDGER_GRPC_WORKERS=N`` choose otherwise). It is warmed up
as gunicorn is, then loaded at the run's concurrency for the run's duration with the transfers
of scenario 1 (the same accounts, amounts and fresh idempotency keys), and the books are checked
after it as after every scenario. Beside throughput and latency it records the server's CPU
time (``/proc/<pid>/stat``) and the generator's own, so that the report shows what share of
the server's CPU the Python generator cost.
"""

# ruff: noqa: S603 -- the command is this interpreter, with arguments built here.
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.database import Database
from bench.errors import BenchFailure
from bench.invariants import Books
from bench.machine import machine_cpu
from bench.report import say
from bench.scenarios import Config, Result
from bench.seed import Seeded
from bench.server import cpu_seconds, gunicorn_threads, gunicorn_workers, peak_memory_mib, reset_peak_memory
from harness.commands import REPO
from harness.grpc_servers import serve_grpc
from harness.ports import free_port
from harness.processes import children_of
from harness.servers import ServerFailed


def grpc_data(token: str, seeded: Seeded) -> str:
    """The data file :mod:`bench.grpc_load` reads: the client's token and the seeded accounts (as ``lua_data``)."""
    return json.dumps({"token": token, "accounts": seeded.customer_ids})


def grpc_shape(env: dict[str, str]) -> tuple[int, int]:
    """The server's processes and threads per process: gunicorn's workers and threads, unless the run sets them."""
    processes = int(env.get("LEDGER_GRPC_PROCESSES") or gunicorn_workers(env))
    threads = int(env.get("LEDGER_GRPC_WORKERS") or gunicorn_threads(env) // processes)
    return processes, max(2, threads)


def run_grpc_load(target: str, data_file: Path, run_id: str, *, duration: float, concurrency: int) -> dict:
    command = [sys.executable, "-m", "bench.grpc_load", target, str(data_file), run_id,
               "--duration", f"{duration:g}", "--concurrency", str(concurrency)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, cwd=REPO, check=False)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("GRPC_LOAD_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchFailure(f"the gRPC load generator failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return json.loads(line.removeprefix("GRPC_LOAD_JSON "))


def grpc_scenario(
    name: str,
    spec: dict[str, Any],
    config: Config,
    env: dict[str, str],
    db: Database,
    data_file: Path,
    run_id: str,
    workdir: Path,
) -> tuple[Result, Books]:
    """Serve the ledger over gRPC, warm it up, load it and measure it; stop it.

    Returns the result and the books as they were before the measured load (after the warm-up),
    for the checks that follow every scenario (``bench.run.after_scenario``).
    """
    processes, per_process = grpc_shape(env)
    threads = processes * per_process
    (workdir / "grpc-metrics").mkdir(exist_ok=True)
    grpc_env = {
        **env,
        "LEDGER_GRPC_PROCESSES": str(processes),
        "LEDGER_GRPC_WORKERS": str(per_process),
        # Its own metric files (gunicorn's master serves the aggregate of its folder).
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "grpc-metrics"),
    }
    port = free_port()
    target = f"127.0.0.1:{port}"
    concurrency = spec.get("connections", config.connections)
    try:
        with serve_grpc(grpc_env, port, workdir / "grpc.log", "--metrics-bind", f"127.0.0.1:{free_port()}") as process:
            say(f"gRPC server ready at {target}: {processes} processes of {per_process} threads")
            if config.warmup > 0:
                run_grpc_load(target, data_file, run_id + "gw", duration=config.warmup, concurrency=concurrency)
            before, _ = Books.read(db)
            pids = [process.pid, *children_of(process.pid)]  # The supervisor and its servers (or the one server).
            reset_peak_memory(pids)
            cpu_before, machine_before = cpu_seconds(pids), machine_cpu()
            outcome = run_grpc_load(target, data_file, f"{run_id}{name[:3]}", duration=config.duration,
                                    concurrency=concurrency)  # fmt: skip
            server_cpu = cpu_seconds(pids) - cpu_before
            busy, total = (now - then for now, then in zip(machine_cpu(), machine_before, strict=True))
            peak = peak_memory_mib(pids)
        # Stopped with SIGTERM: the calls in flight (none: the generator waits for its own) finished first.
    except ServerFailed as exc:
        raise BenchFailure(str(exc)) from exc
    duration = outcome["duration_us"] / 1e6
    calls = outcome["calls"]
    result = Result(
        name=name,
        title=spec["title"],
        kind="grpc",
        connections=concurrency,
        duration_s=round(duration, 2),
        requests=calls,
        requests_per_s=round(calls / duration, 1) if duration else 0.0,
        latency_ms={key: round(value / 1000, 2) for key, value in outcome["latency_us"].items()},
        statuses=outcome["codes"],
        peak_rss_mib=peak,
        worker_cpu_ms_per_request=round(server_cpu * 1000 / calls, 2) if calls else None,
        machine_cpu_busy_pct=round(100 * busy / total, 1) if total else None,
        server_cpu_s=round(server_cpu, 3),
        generator_cpu_s=outcome["cpu_s"]["total"],
        server_threads=threads,
        server_processes=processes,
    )
    refused = {code: detail for code, detail in outcome["details"].items() if code != "OK"}
    if refused:
        say(f"{name}: refusals: {refused}")
    return result, before

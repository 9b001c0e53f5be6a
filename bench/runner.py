"""``python -m bench``: the ledger under load, against the ceiling PostgreSQL sets on this machine.

One run:

1. creates a fresh database ``ledger_bench_<random>`` on the server of ``$DATABASE_URL``
   (``scripts/with-postgres`` provides one), migrates it, creates the API client, and seeds it
   (:mod:`bench.seed`): 10,000 funded accounts, a hot account, and an account with 1,000,000
   postings; ``reconcile`` must find it clean;
2. starts gunicorn with ``gunicorn.conf.py`` and production settings (debug off, no
   throttling, ``LOG_LEVEL=WARNING``) and waits for ``/readyz``;
3. runs each scenario for a fixed time at a fixed concurrency, driven by ``wrk`` with
   ``bench/load.lua`` (every POST with its own ``Idempotency-Key``):

   1. transfers between random accounts; 2. transfers that all touch one hot account;
   3. deposits; 4. the newest history page of the 1M-posting account, and its balance (and
   the history page again from a single connection: its latency without queueing);
   5. atomic batches of 100 transfers;

   and records applied transactions per second (counted in the database, not answers),
   p50/p95/p99 latency, answers by status, and each worker's peak memory (``VmHWM``);
4. after each scenario, runs ``reconcile`` and checks that money is conserved (customer
   totals unchanged by transfers, raised by exactly the deposits; every currency sums to
   zero): a violation fails the run;
5. runs the same SQL work per transfer with ``pgbench`` (``bench/pgbench_transfer.sql`` and
   ``bench/pgbench_hot.sql``) at the same concurrency, for the same time, on the same
   database, and prints the service / pgbench ratios of scenarios 1 and 2;
6. prints the table, writes ``bench/results/latest.json`` and the results section of
   ``docs/benchmarks.md``, and drops the database.

``--smoke`` runs the same steps with a tiny seed (200 accounts, a 10,000-posting history)
for two seconds each, writing nothing unless ``--results``/``--docs`` say where: the test
suite runs it so that the benchmark cannot rot.
"""

# ruff: noqa: S603 -- the commands run are this project's own tools, with arguments it builds.
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg

from bench import report
from bench.seed import Seeded, seed

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results" / "latest.json"
DOCS = REPO / "docs" / "benchmarks.md"
LOAD_SCRIPT = BENCH / "load.lua"
BATCH_SIZE = 100

# name -> its scenario in bench/load.lua, a title, the pgbench script of its limit, whether it only
# reads, and a concurrency of its own (else --connections).
SCENARIOS: dict[str, dict[str, Any]] = {
    "1-transfers": {"wrk": "transfer", "title": "transfers, random accounts", "pgbench": "pgbench_transfer.sql"},
    "2-hot-account": {"wrk": "hot", "title": "transfers, one hot account", "pgbench": "pgbench_hot.sql"},
    "3-deposits": {"wrk": "deposit", "title": "deposits"},
    "4a-history-page": {"wrk": "history", "title": "history page, 1M postings", "read": True},
    "4b-balance": {"wrk": "balance", "title": "balance read", "read": True},
    # The page's own latency, without queueing behind 15 other clients on 2 cores.
    "4c-history-1-connection": {
        "wrk": "history",
        "title": "history page, 1 connection",
        "read": True,
        "connections": 1,
    },
    "5-batches": {"wrk": "batch", "title": f"batches of {BATCH_SIZE} transfers"},
}


class BenchFailure(RuntimeError):
    """An invariant was violated, or a step of the run failed."""


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- the database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    url: str  # postgres://user:pass@host:port/name

    @property
    def parts(self):
        return urlsplit(self.url)

    @property
    def name(self) -> str:
        return unquote(self.parts.path.lstrip("/"))

    def sibling(self, name: str) -> Database:
        parts = self.parts
        return Database(urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, "")))

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.url, **kwargs)

    def pg_args(self) -> tuple[list[str], dict[str, str]]:
        """Connection arguments and environment for libpq command-line tools (pgbench)."""
        parts = self.parts
        args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
        if parts.username:
            args += ["-U", unquote(parts.username)]
        env = {"PGPASSWORD": unquote(parts.password)} if parts.password else {}
        return args, env


def fetch(db: Database, sql: str, params: Any = None) -> list[tuple]:
    with db.connect(autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


# --- tools ---------------------------------------------------------------------------------


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), key=lambda p: int(p.parts[-3]))
    return str(candidates[-1]) if candidates else None


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk")
    if find_pgbench() is None:
        missing.append("pgbench")
    return missing


# --- the server ----------------------------------------------------------------------------


def project_env(**overrides: str) -> dict[str, str]:
    own = ("DJANGO_", "LEDGER_", "DB_", "GUNICORN_", "CACHE_", "WEB_CONCURRENCY", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own) and k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> tuple[int, str]:
    """``manage.py ARGS`` in this process (no interpreter start per call): (exit status, stdout).

    The first call sets the process's environment to ``env`` and sets Django up on it, so all
    calls of one run address the same (benchmark) database.
    """
    global _django_env
    if _django_env is None:
        os.environ.clear()
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_project.settings")
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        import django

        django.setup()
        _django_env = env
    assert env == _django_env, "one benchmark database per process"
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connections

    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exc:
        status = int(exc.code or 0)
    except CommandError as exc:
        status = exc.returncode or 1
        err.write(str(exc))
    finally:
        connections.close_all()
    if check and status != 0:
        raise BenchFailure(f"manage.py {' '.join(args)} failed ({status}):\n{out.getvalue()}\n{err.getvalue()}")
    return status, out.getvalue()


_django_env: dict[str, str] | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 5) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class Server:
    """gunicorn with ``gunicorn.conf.py``, as ``make serve`` runs it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
                   "ledger_project.wsgi"]  # fmt: skip
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise BenchFailure(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()[-4000:]}")
            try:
                if http_status(self.base + "/readyz") == 200 and len(self.workers()) >= self.expected_workers():
                    return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise BenchFailure(f"gunicorn was not ready in {timeout:.0f} s:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.2)

    def expected_workers(self) -> int:
        return int(self.env.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))

    def workers(self) -> list[int]:
        """gunicorn's worker processes: the master's children."""
        assert self.process is not None
        master = self.process.pid
        try:
            return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        except OSError:  # A kernel without CONFIG_PROC_CHILDREN: look for them.
            pass
        workers = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                    workers.append(int(stat.parent.name))
        return workers

    def reset_peak_memory(self) -> None:
        """Start each worker's ``VmHWM`` (peak resident memory) afresh (Linux >= 4.0)."""
        for pid in self.workers():
            # Where not permitted, the peak counts from the worker's start.
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def peak_memory_mib(self) -> list[float]:
        peaks = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                peaks.append(round(int(match[1]) / 1024, 1))
        return peaks

    def cpu_seconds(self) -> float:
        """User and system CPU time the workers have used so far."""
        ticks = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# --- invariants ----------------------------------------------------------------------------


@dataclass
class Books:
    """What the conservation check compares before and after a scenario."""

    last_txn: int
    customer_totals: dict[str, int]
    currency_totals: dict[str, int]

    @classmethod
    def read(cls, db: Database, *, since: int | None = None) -> tuple[Books, dict[str, Any]]:
        """The books now, and the transactions committed after ``since`` (see :func:`applied_since`),
        read in one snapshot so that they agree even while late requests still commit."""
        with db.connect() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            [(last_txn,)] = conn.execute("SELECT coalesce(max(id), 0) FROM transactions_transaction").fetchall()
            # A system account stores no balance: its postings are what the outside world holds.
            rows = conn.execute(
                "SELECT a.currency, sum(a.balance_minor) FILTER (WHERE NOT a.is_system), "
                "coalesce(sum(a.balance_minor) FILTER (WHERE NOT a.is_system), 0) + coalesce(sum(w.total), 0) "
                "FROM accounts_account a LEFT JOIN (SELECT account_id, sum(amount_minor) AS total "
                "FROM transactions_posting WHERE account_id IN (SELECT id FROM accounts_account WHERE is_system) "
                "GROUP BY account_id) w ON w.account_id = a.id GROUP BY a.currency"
            ).fetchall()
            applied = applied_since(conn, since if since is not None else last_txn)
        books = cls(
            last_txn=last_txn,
            customer_totals={currency: int(customers or 0) for currency, customers, _ in rows},
            currency_totals={currency: int(total) for currency, _, total in rows},
        )
        return books, applied


def applied_since(conn: psycopg.Connection, last_txn: int) -> dict[str, Any]:
    """Transactions committed after ``last_txn``, by kind, with the money that entered and left."""
    rows = conn.execute(
        "SELECT kind, currency, count(*), sum(amount_minor) FROM transactions_transaction WHERE id > %s "
        "GROUP BY kind, currency",
        [last_txn],
    ).fetchall()
    by_kind: dict[str, int] = {}
    inflow: dict[str, int] = {}
    for kind, currency, count, amount in rows:
        by_kind[kind] = by_kind.get(kind, 0) + count
        sign = {"deposit": 1, "withdrawal": -1}.get(kind, 0)
        inflow[currency] = inflow.get(currency, 0) + sign * int(amount)
    return {"total": sum(by_kind.values()), "by_kind": by_kind, "inflow": inflow}


def check_conservation(before: Books, after: Books, applied: dict[str, Any]) -> list[str]:
    problems = []
    for currency, total in after.currency_totals.items():
        if total != 0:
            problems.append(f"{currency}: customer balances and the system account's postings sum to {total}, not 0")
    for currency in set(before.customer_totals) | set(after.customer_totals):
        moved = after.customer_totals.get(currency, 0) - before.customer_totals.get(currency, 0)
        expected = applied["inflow"].get(currency, 0)
        if moved != expected:
            problems.append(f"{currency}: customer balances moved by {moved}, deposits less withdrawals {expected}")
    return problems


def reconcile(env: dict[str, str]) -> dict[str, Any]:
    """The ``reconcile`` command's verdict (every invariant, set-based) on the whole ledger."""
    started = time.monotonic()
    status, stdout = manage(env, "reconcile", "--format", "json", check=False)
    seconds = round(time.monotonic() - started, 1)
    if status not in (0, 1):
        raise BenchFailure(f"reconcile could not run ({status}):\n{stdout}")
    outcome = json.loads(stdout)
    return {
        "clean": status == 0,
        "discrepancies": outcome["discrepancy_count"],
        "listed": outcome["discrepancies"][:10],
        "seconds": seconds,
    }


# --- load ----------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_wrk(base: str, scenario: str, data_file: Path, run_id: str, *, duration: float, connections: int) -> dict:
    threads = max(1, min(2, connections))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
               "-s", str(LOAD_SCRIPT), base, "--", scenario, str(data_file), run_id]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, cwd=REPO)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchFailure(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return json.loads(line.removeprefix("BENCH_JSON "))


def run_pgbench(db: Database, script: str, variables: dict[str, int], *, duration: float, connections: int,
                workdir: Path) -> dict:  # fmt: skip
    args, extra_env = db.pg_args()
    prefix = workdir / f"pgbench-{Path(script).stem}"
    threads = max(1, min(2, connections))
    command = [find_pgbench(), "-n", "-M", "prepared", "-c", str(connections), "-j", str(threads),
               "-T", str(max(1, round(duration))), "-f", str(BENCH / script), "-l", "--log-prefix", str(prefix),
               *[f"-D{name}={value}" for name, value in variables.items()], *args, db.name]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, cwd=workdir,
                            env={**os.environ, **extra_env})  # fmt: skip
    if result.returncode != 0:
        raise BenchFailure(f"pgbench failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    latencies = []
    for log in workdir.glob(f"{prefix.name}.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]))
        log.unlink()
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    return {
        "duration_s": max(1, round(duration)),
        "reported_tps": float(tps[1]) if tps else None,
        "failed": int(failed[1]) if failed else 0,
        "latency_us": {f"p{p}": percentile(latencies, p) for p in (50, 95, 99)}
        | {"mean": round(statistics.fmean(latencies), 1) if latencies else 0},
    }


# --- the run -------------------------------------------------------------------------------


@dataclass
class Config:
    duration: float
    connections: int
    customers: int
    history: int
    warmup: float
    scenarios: list[str]
    smoke: bool
    server_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    title: str
    kind: str  # "service" or "pgbench"
    connections: int
    duration_s: float
    requests: int = 0
    applied: int = 0
    applied_per_s: float = 0.0
    requests_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    peak_rss_mib: list[float] = field(default_factory=list)
    reconcile: dict[str, Any] = field(default_factory=dict)
    conservation: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    worker_cpu_ms_per_request: float | None = None
    machine_cpu_busy_pct: float | None = None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every process included."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    with contextlib.suppress(OSError, TypeError):
        memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1]) // 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()),
    }


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
    with admin.connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db.name}"')
        info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        info["postgresql_settings"] = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("max_connections", "shared_buffers", "fsync", "synchronous_commit")
        }
    say(f"database {db.name} created; working files in {workdir} (removed at the end)")
    server = None
    results: list[Result] = []
    try:
        env = project_env(
            DATABASE_URL=db.url,
            DJANGO_DEBUG="False",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SECURE_SSL_REDIRECT="False",
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
        data_file.write_text(_lua_data(token, seeded))
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
            with admin.connect(autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
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


def maintenance_database(db: Database) -> Database:
    """A database to connect to for CREATE/DROP DATABASE: ``db`` itself, else ``postgres``."""
    for candidate in (db, db.sibling("postgres"), db.sibling("template1")):
        try:
            with candidate.connect(autocommit=True, connect_timeout=10):
                return candidate
        except psycopg.OperationalError as exc:
            error = exc
    raise BenchFailure(f"cannot connect to PostgreSQL at {db.parts.hostname}:{db.parts.port}: {error}")


def _lua_data(token: str, seeded: Seeded) -> str:
    accounts = ",\n".join(f'"{public_id}"' for public_id in seeded.customer_ids)
    return (
        f'return {{token = "{token}", hot = "{seeded.hot_id}", history = "{seeded.history_id}", '
        f"batch_size = {BATCH_SIZE}, accounts = {{\n{accounts}\n}}}}\n"
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--duration", type=float, help="seconds per scenario (default 30; smoke 2)")
    parser.add_argument("--connections", type=int, help="concurrent connections (default 16; smoke 4)")
    parser.add_argument("--customers", type=int, help="accounts for random transfers (default 10000; smoke 200)")
    parser.add_argument("--history", type=int, help="postings of the history account (default 1000000; smoke 10000)")
    parser.add_argument("--warmup", type=float, help="seconds of unrecorded transfers first (default 5; smoke 1)")
    parser.add_argument("--only", help=f"comma-separated scenarios (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server (repeatable), e.g. WEB_CONCURRENCY=8")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="tiny seed and durations: proves the benchmark runs")
    parser.add_argument("--results", type=Path, help=f"JSON results file (default {RESULTS.relative_to(REPO)}; "
                                                     "smoke: none)")  # fmt: skip
    parser.add_argument("--docs", type=Path, help=f"Markdown file whose results section is rewritten (default "
                                                  f"{DOCS.relative_to(REPO)}; smoke: none)")  # fmt: skip
    args = parser.parse_args(argv)
    smoke = args.smoke
    scenarios = list(SCENARIOS)
    if args.only:
        scenarios = [name for name in SCENARIOS if any(name.startswith(part.strip()) for part in args.only.split(","))]
        if not scenarios:
            parser.error(f"--only matches no scenario of {', '.join(SCENARIOS)}")
    config = Config(
        duration=args.duration or (2 if smoke else 30),
        connections=args.connections or (4 if smoke else 16),
        customers=args.customers or (200 if smoke else 10_000),
        history=args.history or (10_000 if smoke else 1_000_000),
        warmup=args.warmup if args.warmup is not None else (1 if smoke else 5),
        scenarios=scenarios,
        smoke=smoke,
        server_env=dict(item.split("=", 1) for item in args.server_env),
    )
    results_path = args.results or (None if smoke else RESULTS)
    docs_path = args.docs or (None if smoke or args.only else DOCS)
    try:
        document = run(config, results_path=results_path, docs_path=docs_path)
    except BenchFailure as exc:
        say(f"FAILED: {exc}")
        return 1
    if document["violations"]:
        say("FAILED: " + "; ".join(document["violations"]))
        return 1
    return 0

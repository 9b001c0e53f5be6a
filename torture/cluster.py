"""Scenario 8, the cluster: the racing and crashing loads through HAProxy and PgBouncer, with the cluster's own faults.

The production topology of :mod:`harness.topology` (a primary and its streaming replica,
PgBouncer in transaction mode, two gunicorn instances with ``DB_PGBOUNCER=True`` and the
replica for history, Redis, the event relay, HAProxy with ``/readyz`` checks). The load of
scenario 1 goes through the balancer only, while history readers read the load's accounts
through it too. A chaos thread SIGKILLs a random worker every second or so, and at set
moments:

- stops the replica (``pg_ctl stop -m immediate``), later starts it again: history reads fall
  back to the primary and none fails;
- kills PgBouncer and starts it again a second later: every connection of both instances
  drops; requests meanwhile answer 503 with Retry-After (from the ledger, or from the balancer
  while both instances are out of rotation), nothing is lost, and the instances recover on
  their own (their masters are never restarted);
- SIGKILLs a whole instance, later starts it again: the balancer takes it out of rotation
  within its health checks; requests it held get no answer or the balancer's 503 with
  ``"outcome": "unknown"``, and are retried with the same key.

Afterwards the checks of scenario 1 (answers, snapshots during the load, the books,
``reconcile``, each key posted once, money conserved), plus: every history page showed
every posting its client had been answered 201 for before asking (read your writes, replica
or not), and never less than the page before it.
"""

# ruff: noqa: S311 -- pseudo-random choices of victims and accounts; nothing here is a secret.
from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from harness.servers import http
from harness.topology import METRICS_TOKEN, Instance, MissingTools, Topology, missing_tools
from torture.client import Account, Connection, Load, LoadPlan, Movement, Reply, api_headers, open_accounts
from torture.infra import Context, create_clients
from torture.invariants import Observer
from torture.racing import answer_figures, check_after_load
from torture.report import Result

FULL = LoadPlan(duration=60, threads=12, timeout=5.0, impatient=0.03, max_requests=200_000)
SHORT = LoadPlan(duration=16, threads=8, timeout=5.0, impatient=0.03, max_requests=6_000, settle=25)

# (share of the duration, fault)
SCHEDULE = [
    (0.12, "stop-replica"),
    (0.30, "start-replica"),
    (0.45, "restart-pgbouncer"),
    (0.65, "kill-instance"),
    (0.82, "restart-instance"),
]
READERS = 2
PAGE = 200  # history entries a reader asks for: far more than a client posts on one account while a page is read

# What the instances run with: the scenarios measure the ledger, not the throttle.
INSTANCE_ENV = {
    "LEDGER_THROTTLE_RATE": "",
    "LEDGER_AUTH_FAILURE_RATE": "",
    "LEDGER_LOCK_TIMEOUT_MS": "2000",
    "LEDGER_STATEMENT_TIMEOUT_MS": "10000",
    "GUNICORN_TIMEOUT": "30",
    "GUNICORN_GRACEFUL_TIMEOUT": "5",
}


@dataclass
class Answered:
    """What the clients were answered 201 for, by account: (when the answer arrived, transaction id)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_account: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, movement: Movement, reply: Reply, base: str) -> None:
        if reply.status != 201 or not isinstance(reply.json, dict):
            return
        arrived = time.monotonic()
        with self.lock:
            for account in {movement.source, movement.destination} - {None}:
                self.by_account[str(account)].append((arrived, str(reply.json["id"])))

    def before(self, account: str, instant: float, last: int = 5) -> list[str]:
        """The ids of the last ``last`` transactions on ``account`` answered 201 before ``instant``."""
        with self.lock:
            return [txid for at, txid in self.by_account[account] if at < instant][-last:]


class HistoryReader:
    """Threads reading the accounts' history through the balancer, checking every page against what came before."""

    def __init__(self, base: str, accounts: list[Account], answered: Answered, seed: int) -> None:
        self.base = base
        self.accounts = accounts
        self.answered = answered
        self.rng = random.Random(f"{seed}-history")
        self.statuses: Counter = Counter()
        self.pages = 0
        self.violations: list[str] = []
        self.newest: dict[str, str] = {}  # account -> the newest transaction id the last page showed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(READERS)]

    def start(self) -> HistoryReader:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        conn = Connection(self.base, 5.0)
        while not self._stop.is_set():
            account = self.rng.choice(self.accounts)
            asked = time.monotonic()
            with self._lock:
                previous = self.newest.get(account.id)
            required = self.answered.before(account.id, asked)
            reply = conn.request(
                "GET", f"/api/v1/accounts/{account.id}/history/?page_size={PAGE}", None, api_headers(account.token)
            )
            self._check(account, reply, previous, required)
            time.sleep(0.02)
        conn.close()

    def _check(self, account: Account, reply: Reply, previous: str | None, required: list[str]) -> None:
        with self._lock:
            self.statuses[reply.status] += 1
            if reply.status == 0:
                return  # no answer (a worker killed with the request): the reader asks again, as a client would
            if reply.status == 503 and (reply.header("Retry-After") or "").isdigit() and reply.is_problem:
                return  # the database unreachable for a moment: an honest answer, retried later
            if reply.status != 200:
                self.violations.append(f"history of {account.id}: {reply.describe()}")
                return
            self.pages += 1
            shown = [entry["transaction_id"] for entry in reply.json["results"]]
            missing = [txid for txid in required if txid not in shown]
            if missing:
                self.violations.append(
                    f"history of {account.id} lacks {len(missing)} transaction(s) answered 201 before it was asked "
                    f"(first {missing[0]})"
                )
            if previous is not None and previous not in shown:
                self.violations.append(f"history of {account.id} no longer shows {previous}, which it showed before")
            if shown:
                self.newest[account.id] = shown[0]


class Faults:
    """Worker kills every second or so, and the cluster's faults of :data:`SCHEDULE` at their moments."""

    def __init__(self, topology: Topology, load: Load, seed: int) -> None:
        self.topology = topology
        self.load = load
        self.rng = random.Random(f"{seed}-cluster-chaos")
        self.events: list[tuple[float, str]] = []
        self.worker_kills = 0
        self.errors: list[str] = []
        self.masters_at_pgbouncer_restart: list[int | None] = []
        self.pgbouncer_down: float | None = None
        self.routed_again_after: float | None = None
        self.killed: Instance | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cluster-chaos", daemon=True)

    def start(self) -> Faults:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=180)

    def _note(self, what: str) -> None:
        self.events.append((time.monotonic() - self.load.stats.started, what))

    def _run(self) -> None:
        pending = list(SCHEDULE)
        try:
            while not self._stop.wait(self.rng.uniform(0.6, 1.4)):
                elapsed = time.monotonic() - self.load.stats.started
                if elapsed > self.load.plan.duration:
                    return
                if pending and elapsed >= pending[0][0] * self.load.plan.duration:
                    self._fault(pending.pop(0)[1])
                    continue
                alive = [i for i in self.topology.instances if i.daemon.alive and i.workers()]
                if alive:
                    instance = self.rng.choice(alive)
                    victim = self.rng.choice(instance.workers())
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(victim, signal.SIGKILL)
                    self.worker_kills += 1
                    self._note(f"worker {victim} of {instance.name}")
        except Exception as exc:  # Shown as a violation: the chaos did not go as planned.
            self.errors.append(f"chaos: {type(exc).__name__}: {exc}")

    def _fault(self, action: str) -> None:
        topology = self.topology
        if action == "stop-replica":
            topology.stop_replica()
            self._note("replica stopped (pg_ctl stop -m immediate)")
        elif action == "start-replica":
            topology.start_replica()
            self._note("replica started again")
        elif action == "restart-pgbouncer":
            self.masters_at_pgbouncer_restart = [i.daemon.pid for i in topology.instances]
            self.pgbouncer_down = topology.restart_pgbouncer(down_for=1.0)
            self._note(f"PgBouncer SIGKILLed, started again 1 s later (accepting after {self.pgbouncer_down:.1f} s)")
        elif action == "kill-instance":
            self.killed = self.rng.choice([i for i in topology.instances if i.daemon.alive])
            self.killed.daemon.crash()
            self._note(f"SIGKILL instance {self.killed.name} (master and workers)")
        elif action == "restart-instance" and self.killed is not None:
            started = time.monotonic()
            self.killed.start()
            topology.wait_routed(len(topology.instances))
            self.routed_again_after = time.monotonic() - started
            self._note(f"restarted {self.killed.name}; back in rotation after {self.routed_again_after:.1f} s")


def replica_reads(topology: Topology) -> Counter:
    """``ledger_replica_reads_total`` summed over the instances, by (database, reason)."""
    found: Counter = Counter()
    pattern = r'^ledger_replica_reads_total\{database="(\w+)",reason="(\w+)"\} (\S+)$'
    for instance in topology.instances:
        answer = http(instance.base, "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        for database, reason, value in re.findall(pattern, str(answer.body), re.MULTILINE):
            found[f"{database} ({reason})"] += int(float(value))
    return found


def run(ctx: Context, plan: LoadPlan | None = None) -> Result:
    result = Result("cluster", "8. The cluster")
    plan = replace(plan or (SHORT if ctx.short else FULL), seed=ctx.seed)
    missing = missing_tools(prometheus=False)
    if missing:
        result.violations.append(f"missing {', '.join(missing)}: run scripts/install-cluster-tools")
        return result
    started = time.monotonic()
    try:
        topology = Topology(prometheus_enabled=False, env=INSTANCE_ENV)
    except MissingTools as exc:
        result.violations.append(str(exc))
        return result
    with topology:
        url = topology.primary_url
        tokens = create_clients(url, {"cluster-a": False, "cluster-b": False})
        accounts = open_accounts(topology.base, tokens, per_client=3)
        answered = Answered()
        load = Load(accounts, lambda: [topology.base], plan, label="cluster", on_reply=answered.record)
        reader = HistoryReader(topology.base, accounts, answered, ctx.seed)
        with Observer(url) as observer:
            load.start()
            reader.start()
            faults = Faults(topology, load, ctx.seed).start()
            try:
                load.join()
            finally:
                faults.stop()
                reader.stop()
        result.requests += load.stats.requests + len(accounts) + sum(reader.statuses.values())
        reads = replica_reads(topology)
        masters_after = [i.daemon.pid for i in topology.instances]
        line, figures = check_after_load(result, url, load, observer)

    result.violations.extend(faults.errors)
    result.violations.extend(reader.violations[:20])
    result.expect(figures.posted > 0, "nothing was posted: the load did not reach the ledger")
    result.expect(reader.pages > 0, "no history page was read")
    done = [what for _, what in faults.events if not what.startswith("worker")]
    result.expect(len(done) == len(SCHEDULE), f"{len(done)} of the {len(SCHEDULE)} faults happened: {done}")
    untouched = [
        instance.name
        for instance, before, after in zip(
            topology.instances, faults.masters_at_pgbouncer_restart, masters_after, strict=False
        )
        if before is not None and before != after and instance is not faults.killed
    ]
    result.expect(not untouched, f"instances restarted to recover from PgBouncer's restart: {untouched}")
    result.faults += faults.worker_kills + len(done) + load.stats.hangups

    summary = load.summary()
    result.figures = {
        "topology": f"HAProxy -> 2 instances x {topology.workers} workers x {topology.threads} threads -> PgBouncer "
        f"(transaction mode) -> primary; history on a streaming replica; {plan.threads} client threads and "
        f"{READERS} history readers for {plan.duration:.0f} s",
        "faults (seconds into the load)": [f"{at:.1f} s: {what}" for at, what in faults.events if what in done],
        "workers SIGKILLed": faults.worker_kills,
        **answer_figures(summary, figures),
        "history pages": f"{reader.pages:,} read ({dict(reader.statuses)}); each showed every posting answered "
        "before it was asked, and never less than the page before",
        "history reads served by": dict(reads),
        "snapshots checked during the load": observer.snapshots,
        "reconcile": line,
        "slowest answer": f"{summary['slowest answer (s)']} s",
    }
    result.duration = time.monotonic() - started
    return result

"""Scenario 3, database outage: PostgreSQL crashes mid-load and comes back; the service carries on.

This scenario runs its own throwaway cluster (:mod:`harness.postgres`; never the shared server).
One gunicorn instance serves a steady load of movements. Mid-load, ``pg_ctl stop -m
immediate`` kills PostgreSQL (no checkpoint: a crash); some seconds later ``pg_ctl start``
brings it back through crash recovery. The instance is never restarted.

Every answer is classified by when its request ran: before the crash, during the outage
(sent after the server was gone, answered before it was started again), after the restart,
or across a transition. Checks: during the outage every answer is a 503 problem document with
Retry-After, answered within a few seconds (no 500, no request left hanging until the
client's timeout); ``/healthz`` stays 200 while ``/readyz`` says 503; after the restart the
same processes post again within seconds; every transaction answered 201 before the crash is
still there, readable through the API; keys, books and ``reconcile`` as in scenario 1.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from harness.commands import manage
from harness.postgres import PostgresServer, find_bindir
from torture.client import Connection, Load, LoadPlan, Movement, Reply, api_headers, open_accounts
from torture.infra import MANAGE_TIMEOUT, Context, Instance, create_clients, instances, ledger_env
from torture.invariants import Observer, connect
from torture.racing import check_after_load
from torture.report import Result

CONNECT_TIMEOUT = 2  # DB_CONNECT_TIMEOUT of the instance, seconds
QUICK = CONNECT_TIMEOUT + 2.0  # an answer during the outage comes within this many seconds
CLIENT_TIMEOUT = 10.0  # what a client waits before it calls a request hung
RECOVERY_LIMIT = 20.0  # seconds after PostgreSQL accepts connections again by which posting works


@dataclass
class Phases:
    before: float  # seconds of load before each crash
    outage: float  # seconds PostgreSQL stays down
    after: float  # seconds of load after the last restart
    cycles: int = 1  # crash/restart cycles


FULL = Phases(before=8, outage=8, after=10, cycles=2)
SHORT = Phases(before=3, outage=3, after=5, cycles=1)


@dataclass
class Timeline:
    """Monotonic instants of each crash: (stop sent, stop done) and (start sent, accepting connections)."""

    stops: list[tuple[float, float]] = field(default_factory=list)
    starts: list[tuple[float, float]] = field(default_factory=list)

    def phase(self, sent: float, answered: float) -> str:
        """``before`` the first crash, ``during`` an outage, ``transition`` (in flight across a stop or a
        start), or ``after`` (between outages, or after the last)."""
        for index, (stop_sent, stop_done) in enumerate(self.stops):
            start_sent, up = self.starts[index] if index < len(self.starts) else (float("inf"), float("inf"))
            if sent >= stop_done and answered <= start_sent:
                return "during"
            if (sent < stop_done and answered > stop_sent) or (sent < up and answered > start_sent):
                return "transition"
        if not self.stops or answered <= self.stops[0][0]:
            return "before"
        return "after"


@dataclass(frozen=True)
class Seen:
    sent: float
    answered: float
    status: int
    problem: bool
    transaction: str | None
    text: str


class Recorder:
    """Keeps every answer of the load, to be sorted into phases once the timeline is complete."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[Seen] = []

    def __call__(self, movement: Movement, reply: Reply, base: str) -> None:
        body = reply.json
        transaction = body.get("id") if reply.status == 201 and isinstance(body, dict) else None
        seen = Seen(
            reply.started,
            reply.started + reply.elapsed,
            reply.status,
            reply.is_problem,
            transaction,
            f"{movement.kind} {movement.key}: {reply.describe()}",
        )
        with self.lock:
            self.seen.append(seen)


def _named(statuses: Counter) -> dict:
    return {("no answer" if status == 0 else status): n for status, n in sorted(statuses.items())}


def _probe(base: str, path: str) -> Reply:
    conn = Connection(base, timeout=CLIENT_TIMEOUT)
    try:
        return conn.request("GET", path, None, api_headers())
    finally:
        conn.close()


def run(ctx: Context, phases: Phases | None = None) -> Result:
    result = Result("outage", "3. Database outage")
    phases = phases or (SHORT if ctx.short else FULL)
    started = time.monotonic()
    bindir = find_bindir()
    if bindir is None:
        result.violations.append("initdb/pg_ctl not found: install PostgreSQL's server programs to run this scenario")
        return result
    with PostgresServer(bindir) as cluster:
        cluster.init()
        cluster.start()
        url = cluster.create_database("ledger")
        if not cluster.copy_from(ctx.databases.template_url(), url):
            manage(ledger_env(url), "migrate", "--noinput", "-v0", timeout=MANAGE_TIMEOUT)
        tokens = create_clients(url, {"outage-a": False, "outage-b": False})
        instance = Instance(
            "outage", url, ctx.workdir, DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT), LEDGER_LOCK_TIMEOUT_MS="5000"
        )
        timeline, recorder, probes = Timeline(), Recorder(), 0
        with instances(instance):
            accounts = open_accounts(instance.base, tokens, per_client=3)
            master, workers = instance.master, set(instance.workers())
            plan = LoadPlan(
                duration=3600,
                threads=8,
                timeout=CLIENT_TIMEOUT,
                impatient=0.0,
                max_attempts=400,
                max_requests=100_000,
                settle=30,
                seed=ctx.seed,
            )
            load = Load(accounts, lambda: [instance.base], plan, label="outage", on_reply=recorder)
            with Observer(url, interval=1.0) as observer:
                load.start()
                for _ in range(phases.cycles):
                    time.sleep(phases.before)
                    stop_sent = time.monotonic()
                    cluster.stop("immediate")
                    timeline.stops.append((stop_sent, time.monotonic()))
                    back_at = time.monotonic() + phases.outage
                    while time.monotonic() < back_at:  # /healthz stays up; /readyz says what is not ready
                        health, ready = _probe(instance.base, "/healthz"), _probe(instance.base, "/readyz")
                        probes += 1
                        result.expect(health.status == 200, f"/healthz during the outage: {health.describe()}")
                        checks = ready.json.get("checks", {}) if isinstance(ready.json, dict) else {}
                        result.expect(
                            ready.status == 503 and ready.is_problem and checks.get("database", "ok") != "ok",
                            f"/readyz during the outage: {ready.describe()}",
                        )
                        time.sleep(0.5)
                    start_sent = time.monotonic()
                    cluster.start()
                    timeline.starts.append((start_sent, time.monotonic()))
                time.sleep(phases.after)
                load.stop()
                load.join()
            result.requests += load.stats.requests + len(accounts) + 2 * probes
            ready = _probe(instance.base, "/readyz")
            result.expect(ready.status == 200, f"/readyz after the outage: {ready.describe()}")
            result.expect(instance.master == master, "the gunicorn master changed: the instance was restarted")
            workers_kept = workers == set(instance.workers())

            # Sort every answer into its phase, now that the timeline is complete.
            by_phase: dict[str, Counter] = {p: Counter() for p in ("before", "during", "transition", "after")}
            slowest_during = 0.0
            last_stop = timeline.stops[-1][0]
            posted_before: dict[str, None] = {}  # transaction ids, once each (a replay repeats the id)
            for seen in recorder.seen:
                phase = timeline.phase(seen.sent, seen.answered)
                by_phase[phase][seen.status] += 1
                result.expect(seen.status != 0, f"{phase}: no answer within {CLIENT_TIMEOUT:.0f}s: {seen.text}")
                if phase == "during":
                    slowest_during = max(slowest_during, seen.answered - seen.sent)
                    result.expect(seen.status == 503 and seen.problem, f"during an outage: {seen.text}")
                    result.expect(seen.answered - seen.sent <= QUICK, f"during an outage, slow: {seen.text}")
                if seen.transaction and seen.answered < last_stop:
                    posted_before[seen.transaction] = None

            # Every transaction answered 201 before a crash is still there, and readable through the API.
            conn, readable = Connection(instance.base, timeout=CLIENT_TIMEOUT), 0
            owner_of = {t: m.token for m in load.movements for t in m.transaction_ids}
            for transaction_id in posted_before:
                reply = conn.request(
                    "GET", f"/api/v1/transactions/{transaction_id}/", None, api_headers(owner_of[transaction_id])
                )
                readable += result.expect(
                    reply.status == 200, f"{transaction_id}, answered 201 before a crash: {reply.describe()}"
                )
            result.requests += len(posted_before)
            conn.close()

        with connect(url) as db:
            present = {
                row[0]
                for row in db.execute(
                    "SELECT public_id::text FROM transactions_transaction WHERE public_id::text = ANY(%s)",
                    [list(posted_before)],
                ).fetchall()
            }
        missing = sorted(set(posted_before) - present)
        result.checked += len(posted_before)
        result.expect(not missing, f"{len(missing)} transactions answered 201 before a crash are gone: {missing[:5]}")

        line, figures = check_after_load(result, url, load, observer)

        # Recovery: the first 201 to a request sent after the last restart, and no 503 after it.
        up = timeline.starts[-1][1]
        after = sorted((s.sent, s.status) for s in recorder.seen if s.sent >= up)
        first_ok = next((sent for sent, status in after if status == 201), None)
        result.expect(
            first_ok is not None and first_ok - up <= RECOVERY_LIMIT,
            f"no 201 within {RECOVERY_LIMIT:.0f}s of PostgreSQL accepting connections again",
        )
        late = [sent for sent, status in after if status == 503 and first_ok is not None and sent > first_ok + 2]
        result.expect(not late, f"{len(late)} answers 503 more than 2s after the service had recovered")
        result.expect(by_phase["during"].total() > 0, "no request was answered during an outage")
        result.faults += phases.cycles

    result.figures.update(
        {
            "outages": f"{phases.cycles} x (pg_ctl stop -m immediate, {phases.outage:.0f} s down, pg_ctl start); "
            f"{phases.before:.0f} s of load before each, {phases.after:.0f} s after the last; 8 client threads",
            "answers before the first crash": _named(by_phase["before"]),
            "answers during an outage": _named(by_phase["during"]),
            "answers in flight across a stop or a start": _named(by_phase["transition"]),
            "answers after": _named(by_phase["after"]),
            "slowest answer during an outage": f"{slowest_during:.2f} s (limit {QUICK:.0f} s; client timeout "
            f"{CLIENT_TIMEOUT:.0f} s; DB_CONNECT_TIMEOUT {CONNECT_TIMEOUT} s)",
            "recovery": f"first 201 {first_ok - up:.2f} s after PostgreSQL accepted connections again"
            if first_ok is not None
            else "never",
            "same processes": f"master kept; workers {'kept' if workers_kept else 'replaced by gunicorn'}",
            "answered 201 before a crash and still there": f"{len(present):,} of {len(posted_before):,} "
            f"({readable:,} read back through the API)",
            "probes during the outages": f"{probes} x (/healthz 200, /readyz 503 naming the database)",
            "movements": f"{figures.keys:,}: {figures.posted:,} posted, {figures.refused:,} refused, "
            f"{figures.unresolved_posted + figures.unresolved_not_posted:,} without a final answer",
            "retried keys": f"{figures.retried:,} ({figures.retried_posted_once:,} posted, each exactly once)",
            "snapshots checked during the load": f"{observer.snapshots} ({observer.findings.checked:,} checks; "
            f"{observer.failed} not taken: the database was down)",
            "reconcile": line,
        }
    )
    result.duration = time.monotonic() - started
    return result

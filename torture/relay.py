"""Scenario 7, the relay and the broker: events published to RabbitMQ while relays are SIGKILLed.

Clients post random deposits, withdrawals and transfers through a gunicorn instance (the load
of scenario 1), each writing its events in its own transaction, while two relay processes
(``manage.py relay_events``, ``LEDGER_EVENTS_BROKER_URL`` set, a 3-second lease) publish them to
RabbitMQ. A chaos thread SIGKILLs a random relay every second or two, mid-stream (after the
broker confirmed some events, before or after the cursor moved), and starts a new one a moment
later. A queue bound to ``ledger.events`` with ``#``, declared before any relay starts, collects
what arrives.

Afterwards, once the relays have caught up (the cursor is at the last event in commit order):
every committed event arrived at least once; each message has the event's id as its
``message_id``, its type as routing key, is persistent and ``application/json``, and its body is
the event's document (id, type, created_at, data); a message that arrived more than once arrived
each time with the same routing key and body (duplicates only by ``message_id``); the first
arrivals are in commit order, ``(txid, id)``; the books balance.
"""

# ruff: noqa: S311, S603 -- pseudo-random choices of victims; the commands are this interpreter and manage.py.
from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import psycopg

from harness.books import check_at
from harness.commands import REPO
from harness.rabbitmq import BROKER_URL, Consumer, Message, broker_reachable
from torture.client import Load, LoadPlan, open_accounts
from torture.infra import Context, Instance, create_clients, instances, ledger_env
from torture.report import Result

FULL = LoadPlan(duration=30, threads=8, timeout=5.0, impatient=0.02, duplicate=0.0, max_requests=100_000)
SHORT = LoadPlan(duration=8, threads=6, timeout=5.0, impatient=0.02, duplicate=0.0, max_requests=4_000, settle=20)
RELAYS = 2
LEASE_SECONDS = 3
KILL_EVERY = (1.0, 2.2)  # seconds between two SIGKILLs, drawn uniformly
RESTART_AFTER = (0.1, 0.8)  # seconds a killed relay stays dead
CATCH_UP_TIMEOUT = 90.0  # seconds for the relays to publish everything after the load

# Without the relay command (webhooks not there yet): the broker publisher alone, in a loop.
_PUBLISH_LOOP = """
import time
from events.broker import publish_pending
while True:
    if not publish_pending():
        time.sleep(0.1)
"""


class Relay:
    """One relay process in its own process group: started, SIGKILLed, started again."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.exited = 0  # processes that ended without being killed or stopped: a relay must not
        self._ended_by_us = False

    @staticmethod
    def command() -> list[str]:
        if (REPO / "webhooks" / "management" / "commands" / "relay_events.py").exists():
            return [sys.executable, "manage.py", "relay_events", "--interval", "0.1"]
        return [sys.executable, "manage.py", "shell", "-c", _PUBLISH_LOOP]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _note_exit(self) -> None:
        if self.process is not None and not self._ended_by_us and self.process.poll() is not None:
            self.exited += 1
            self._ended_by_us = True  # counted once

    def start(self) -> Relay:
        self._note_exit()
        self._ended_by_us = False
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        return self

    def kill(self) -> None:
        if self.process is None:
            return
        self._note_exit()
        self._ended_by_us = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self._note_exit()
        self._ended_by_us = True
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        self.kill()


class Chaos:
    """SIGKILLs a random live relay every little while and starts it again a moment later."""

    def __init__(self, relays: list[Relay], seed: int) -> None:
        self.relays = relays
        self.rng = random.Random(f"{seed}-relay-chaos")
        self.kills = 0
        self.restarts = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay-chaos", daemon=True)

    def start(self) -> Chaos:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.rng.uniform(*KILL_EVERY)):
                victim = self.rng.choice([r for r in self.relays if r.alive] or self.relays)
                victim.kill()
                self.kills += 1
                if self._stop.wait(self.rng.uniform(*RESTART_AFTER)):
                    break
                victim.start()
                self.restarts += 1
        except Exception as exc:  # Shown as a violation: the chaos did not go as planned.
            self.errors.append(f"chaos: {type(exc).__name__}: {exc}")


def _position(conn: psycopg.Connection) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(the broker cursor's position, the last event's position in commit order)."""
    cursor = conn.execute("SELECT last_txid, last_event_id FROM events_brokercursor WHERE name = 'broker'").fetchone()
    last = conn.execute(
        "SELECT txid::text::bigint, id FROM events_event ORDER BY txid DESC, id DESC LIMIT 1"
    ).fetchone()
    return (None if cursor is None else tuple(cursor)), (None if last is None else tuple(last))


def _catch_up(url: str, relays: list[Relay], timeout: float) -> float | None:
    """Wait until the cursor is at the last event (relays restarted if dead); return the seconds it took."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            for relay in relays:
                if not relay.alive:
                    relay.start()
            cursor, last = _position(conn)
            if last is None or cursor == last:
                return time.monotonic() - started
            time.sleep(0.2)
    return None


def _events(url: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT public_id::text, type, data, created_at FROM events_event ORDER BY txid, id"
        ).fetchall()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_messages(result: Result, events: list[tuple], messages: list[Message]) -> dict[str, object]:
    """Every event arrived, as itself, duplicates identical, first arrivals in commit order; return the figures."""
    order = [public_id for public_id, *_ in events]
    by_id = {public_id: (type_, data, created_at) for public_id, type_, data, created_at in events}
    ours = [m for m in messages if m.message_id in by_id]  # the broker may be shared with other runs
    first: dict[str, Message] = {}
    arrivals: list[str] = []
    for message in ours:
        if message.message_id not in first:
            first[message.message_id] = message
            arrivals.append(message.message_id)
            continue
        original = first[message.message_id]
        result.expect(
            (message.routing_key, message.body) == (original.routing_key, original.body),
            f"event {message.message_id} arrived again with another routing key or body",
        )
    missing = [public_id for public_id in order if public_id not in first]
    result.expect(not missing, f"{len(missing)} committed events never arrived, e.g. {missing[:3]}")
    for public_id, message in first.items():
        type_, data, created_at = by_id[public_id]
        body = json.loads(message.body)
        result.expect(message.routing_key == type_, f"event {public_id}: routing key {message.routing_key!r}")
        result.expect(
            (message.delivery_mode, message.content_type) == (2, "application/json"),
            f"event {public_id}: delivery mode {message.delivery_mode}, content type {message.content_type!r}",
        )
        result.expect(
            body.get("id") == public_id
            and body.get("type") == type_
            and body.get("data") == data
            and _instant(body.get("created_at", "")) == created_at,
            f"event {public_id}: the body is not the event's document",
        )
    rank = {public_id: n for n, public_id in enumerate(order)}
    inversions = sum(1 for a, b in itertools.pairwise(arrivals) if rank[a] > rank[b])
    result.expect(inversions == 0, f"{inversions} first arrivals out of commit order")
    lags = [first[i].received_at - by_id[i][2].timestamp() for i in arrivals]
    repeats = Counter(m.message_id for m in ours)
    types = ", ".join(f"{t}: {n:,}" for t, n in Counter(e[1] for e in events).most_common())
    return {
        "events committed": f"{len(events):,} ({types})",
        "messages received": f"{len(ours):,}: {len(first):,} events, {len(ours) - len(first):,} duplicates "
        f"({sum(1 for n in repeats.values() if n > 1):,} events arrived more than once), {len(missing):,} missing",
        "first arrivals out of commit order": inversions,
        "lag, event written to its first arrival (s)": (
            f"median {statistics.median(lags):.2f}, max {max(lags):.2f}" if lags else "none"
        ),
    }


def run(ctx: Context, plan: LoadPlan | None = None) -> Result:
    result = Result("relay", "7. Relay and broker")
    started = time.monotonic()
    plan = plan or (SHORT if ctx.short else FULL)
    if not broker_reachable(BROKER_URL):
        result.violations.append(f"no RabbitMQ at {BROKER_URL} (rabbitmq-server -detached; .ci/run starts it)")
        return result
    url = ctx.databases.clone("relay")
    tokens = create_clients(url, {"relay-a": False, "relay-b": False})
    relay_env = ledger_env(
        url,
        LEDGER_EVENTS_BROKER_URL=BROKER_URL,
        LEDGER_EVENTS_BROKER_LEASE_SECONDS=str(LEASE_SECONDS),
        PROMETHEUS_MULTIPROC_DIR=str(ctx.workdir / "relay-metrics"),
    )
    (ctx.workdir / "relay-metrics").mkdir(parents=True, exist_ok=True)
    relays = [Relay(f"relay-{n}", relay_env, ctx.workdir / f"relay-{n}.log") for n in range(1, RELAYS + 1)]
    consumer = Consumer(BROKER_URL).start()  # bound before anything is published
    instance = Instance("relay-app", url, ctx.workdir)
    caught_up: float | None = None
    try:
        with instances(instance):
            accounts = open_accounts(instance.base, tokens, per_client=3)
            for relay in relays:
                relay.start()
            load = Load(accounts, lambda: [instance.base], replace(plan, seed=ctx.seed), label="relay")
            load.start()
            chaos = Chaos(relays, ctx.seed).start()
            try:
                load.join()
            finally:
                chaos.stop()
            result.requests += load.stats.requests + len(accounts)
            caught_up = _catch_up(url, relays, CATCH_UP_TIMEOUT)
    finally:
        for relay in relays:
            relay.stop()
        time.sleep(1.0)  # the last confirmed messages reach the queue
        consumer.close()
    result.violations.extend(chaos.errors + consumer.errors)
    result.expect(caught_up is not None, f"the relays did not publish every event within {CATCH_UP_TIMEOUT:.0f} s")
    result.expect(chaos.kills > 0, "no relay was killed")
    exited = sum(relay.exited for relay in relays)
    result.expect(exited == 0, f"{exited} relay processes ended on their own (see relay-*.log)")
    result.faults += chaos.kills
    result.take(check_at(url), "books: ")
    events = _events(url)
    result.expect(len(events) > len(accounts), "no movement wrote an event: the load did not reach the ledger")
    figures = check_messages(result, events, consumer.received())
    summary = load.summary()
    result.figures = {
        "load": f"{plan.threads} client threads for {plan.duration:.0f} s through one instance; answers "
        f"{summary['statuses']}",
        "relays": f"{RELAYS} at once, lease {LEASE_SECONDS} s; {chaos.kills} SIGKILLed mid-stream, "
        f"{chaos.restarts} restarted during the load; {exited} ended on their own",
        **figures,
        "catch-up after the load (s)": "never" if caught_up is None else f"{caught_up:.1f}",
    }
    result.duration = time.monotonic() - started
    return result

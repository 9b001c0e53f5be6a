"""HTTP to the instances, and the load generator: money movements retried with their idempotency key.

:class:`Connection` is one keep-alive HTTP/1.1 connection with a hard timeout per request; any
failure is an answer too (status 0 and the error's name), never an exception, so a client loop
always goes on. It sends exactly the bytes and headers it is given (hostile input needs that).

:class:`Load` runs threads that post random deposits, withdrawals and transfers among a few
accounts through every instance for a fixed time. A movement whose answer is unknown (a
timeout, a dropped connection, a 503) is retried with the same ``Idempotency-Key`` and the
same body, on any instance, until it gets a final answer (201 or a 4xx) or its bounded attempts
run out. Every key's history is kept for :mod:`torture.invariants`.
"""

# ruff: noqa: S311 -- pseudo-random choices drive the load; nothing here is a secret.
from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Reply:
    """One answer as a client saw it. ``status`` 0: no HTTP answer (``error`` says why)."""

    status: int
    headers: dict[str, str]
    body: bytes
    started: float
    elapsed: float
    error: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def is_problem(self) -> bool:
        """An RFC 9457 problem document with the same status in its body."""
        body = self.json
        return (
            self.header("Content-Type") == "application/problem+json"
            and isinstance(body, dict)
            and body.get("status") == self.status
            and isinstance(body.get("code"), str)
        )

    @property
    def code(self) -> str | None:
        body = self.json
        return body.get("code") if isinstance(body, dict) else None

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer ({self.error}) after {self.elapsed:.2f}s"
        return f"{self.status} {self.code or ''} in {self.elapsed:.2f}s: {self.body[:300]!r}"


class Connection:
    """A keep-alive connection to one instance, reopened after any failure."""

    def __init__(self, base: str, timeout: float = 5.0) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str | bytes] | None = None,
        *,
        timeout: float | None = None,
    ) -> Reply:
        timeout = timeout or self.timeout
        started = time.monotonic()
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            conn = self._conn
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            skip_host = any(name.lower() == "host" for name in headers or {})
            conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None and not any(k.lower() == "content-length" for k in headers or {}):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            raw = response.read()
            reply_headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close:
                self.close()
            return Reply(response.status, reply_headers, raw, started, time.monotonic() - started)
        except TRANSPORT_ERRORS as exc:
            self.close()
            name = "timeout" if isinstance(exc, TimeoutError | socket.timeout) else type(exc).__name__
            return Reply(0, {}, b"", started, time.monotonic() - started, error=name)


def api_headers(token: str | None = None, key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    headers.update(extra)
    return headers


def call(
    conn: Connection, method: str, path: str, payload: Any = None, *, token: str | None = None, key: str | None = None
) -> Reply:
    """A JSON API call: ``payload`` is serialized, the token and key go in their headers."""
    headers = api_headers(token, key)
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    return conn.request(method, path, body, headers)


# --- The load generator ------------------------------------------------------------------------


@dataclass
class Account:
    id: str
    owner: str  # the client's username
    token: str


@dataclass
class Movement:
    """One money movement and everything its key went through."""

    key: str
    owner: str
    token: str
    kind: str  # deposit, withdrawal, transfer
    amount_minor: int
    source: str | None
    destination: str | None
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)  # 0 for "no answer"
    final: int | None = None  # 201 or a 4xx; None: no final answer within its attempts
    transaction_ids: set[str] = field(default_factory=set)  # the id in every 201 for this key
    replays: int = 0
    duplicated: bool = False  # the first attempt was sent twice at once, through two instances
    first_sent: float = 0.0
    last_answer: float = 0.0

    @property
    def path(self) -> str:
        return f"/api/v1/{self.kind}s/"

    @property
    def payload(self) -> dict[str, str]:
        amount = f"{self.amount_minor // 100}.{self.amount_minor % 100:02d}"
        if self.kind == "transfer":
            return {"source_account_id": self.source, "destination_account_id": self.destination, "amount": amount}
        return {"account_id": self.destination or self.source, "amount": amount, "reference": self.key[:60]}


@dataclass
class LoadPlan:
    duration: float = 10.0  # seconds new movements are started
    threads: int = 16
    max_requests: int = 100_000  # requests in all (attempts included); the loop stops at either bound
    timeout: float = 5.0  # seconds a client waits for one answer
    impatient: float = 0.05  # share of first attempts sent with a tiny timeout: a client that gives up early
    impatient_timeout: float = 0.03
    duplicate: float = 0.03  # share of first attempts sent twice at once, through two instances
    max_attempts: int = 60
    settle: float = 30.0  # seconds after the end during which unresolved keys are still retried
    seed: int = 0


@dataclass
class LoadStats:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # transport errors by name
    bad_answers: list[str] = field(default_factory=list)  # 5xx other than 503, 503 without Retry-After...
    max_elapsed: float = 0.0
    hangups: int = 0  # impatient first attempts the client abandoned before the answer
    started: float = 0.0
    finished: float = 0.0


class Load:
    """Threads posting random movements through ``targets()`` (the instances' base URLs)."""

    def __init__(
        self,
        accounts: list[Account],
        targets: Callable[[], list[str]],
        plan: LoadPlan,
        *,
        label: str = "load",
        on_reply: Callable[[Movement, Reply, str], None] | None = None,
    ) -> None:
        self.accounts = accounts
        self.targets = targets
        self.plan = plan
        self.label = label
        self.on_reply = on_reply
        self.movements: list[Movement] = []
        self.stats = LoadStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._end = 0.0

    # -- control --

    def start(self) -> Load:
        self.stats.started = time.monotonic()
        self._end = self.stats.started + self.plan.duration
        for index in range(self.plan.threads):
            thread = threading.Thread(target=self._worker, args=(index,), name=f"{self.label}-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self) -> None:
        """Start no new movement; the ones under way still settle (for at most ``plan.settle`` seconds)."""
        self._end = min(self._end, time.monotonic())
        self._stop.set()

    def join(self) -> Load:
        limit = self.plan.duration + self.plan.settle + self.plan.timeout * 2 + 30
        for thread in self._threads:
            thread.join(timeout=max(1.0, self.stats.started + limit - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise RuntimeError(f"{self.label}: a client thread did not stop in time")
        self.stats.finished = time.monotonic()
        return self

    def run(self) -> Load:
        return self.start().join()

    # -- the clients --

    def _budget(self) -> bool:
        with self._lock:
            if self.stats.requests >= self.plan.max_requests:
                return False
            self.stats.requests += 1
            return True

    def _new_movement(self, rng: random.Random, thread: int, number: int) -> Movement:
        own = rng.choice(self.accounts)
        roll = rng.random()
        key = f"{self.label}-{thread}-{number}-{uuid.uuid4().hex[:12]}"
        if roll < 0.4:
            return Movement(key, own.owner, own.token, "deposit", rng.randint(100, 5000), None, own.id)
        if roll < 0.65:
            return Movement(key, own.owner, own.token, "withdrawal", rng.randint(100, 3000), own.id, None)
        payee = rng.choice([a for a in self.accounts if a.id != own.id])
        return Movement(key, own.owner, own.token, "transfer", rng.randint(100, 4000), own.id, payee.id)

    def _worker(self, index: int) -> None:
        rng = random.Random(f"{self.plan.seed}-{self.label}-{index}")
        connections: dict[str, Connection] = {}
        number = 0
        try:
            while not self._stop.is_set() and time.monotonic() < self._end:
                number += 1
                movement = self._new_movement(rng, index, number)
                with self._lock:
                    self.movements.append(movement)
                if not self._drive(movement, rng, connections, index):
                    break
        finally:
            for conn in connections.values():
                conn.close()

    def _drive(self, movement: Movement, rng: random.Random, connections: dict[str, Connection], index: int) -> bool:
        """Send ``movement`` until a final answer; False when the request budget is spent."""
        body = json.dumps(movement.payload).encode()
        headers = api_headers(movement.token, movement.key, **{"Content-Type": "application/json"})
        failed = None
        give_up = self._end + self.plan.settle
        while movement.attempts < self.plan.max_attempts and time.monotonic() < give_up:
            targets = self.targets()
            # The first attempt goes to this thread's instance; a retry to any of them, but not
            # to the one that just gave no answer at all when there is another.
            if movement.attempts == 0:
                base = targets[index % len(targets)]
            else:
                others = [t for t in targets if t != failed] or targets
                base = rng.choice(others)
            conn = connections.setdefault(base, Connection(base, self.plan.timeout))
            timeout = self.plan.timeout
            twin: threading.Thread | None = None
            twin_reply: list[tuple[Reply, str]] = []
            if movement.attempts == 0:
                if rng.random() < self.plan.impatient:
                    timeout = self.plan.impatient_timeout
                elif rng.random() < self.plan.duplicate and self._budget():
                    # The same request at the same moment through another instance (a client that
                    # sends twice): one posts, the other must get the replay.
                    other = next((t for t in targets if t != base), base)

                    def send_twin(other: str = other, out: list = twin_reply) -> None:
                        twin_conn = Connection(other, self.plan.timeout)
                        out.append((twin_conn.request("POST", movement.path, body, headers), other))
                        twin_conn.close()

                    twin = threading.Thread(target=send_twin, daemon=True)
                    movement.attempts += 1
                    movement.duplicated = True
                    twin.start()
            if not self._budget():
                return False
            movement.attempts += 1
            reply = conn.request("POST", movement.path, body, headers, timeout=timeout)
            failed = base if reply.status == 0 else None
            if timeout != self.plan.timeout and reply.status == 0:
                with self._lock:
                    self.stats.hangups += 1  # the impatient client hung up; its request may still be running
            replies = [(reply, base)]
            if twin is not None:
                twin.join(timeout=self.plan.timeout * 2 + 5)
                replies += twin_reply
            final = None
            for answer, via in replies:
                self._record(movement, answer, via)
                if answer.status == 201 or (400 <= answer.status < 500 and answer.status not in (408, 429)):
                    final = 201 if 201 in (final, answer.status) else answer.status
            if final is not None:
                movement.final = final
                return True
            # No final answer: back off a little, then retry with the same key and body.
            if reply.status == 503:
                retry_after = reply.header("Retry-After") or "1"
                pause = min(float(retry_after) if retry_after.isdigit() else 1.0, 0.5)
                time.sleep(pause * rng.uniform(0.2, 1.0))
            else:
                time.sleep(rng.uniform(0.02, 0.15))
        return True

    def _record(self, movement: Movement, reply: Reply, base: str) -> None:
        with self._lock:
            if not movement.first_sent:
                movement.first_sent = reply.started
            movement.last_answer = max(movement.last_answer, reply.started + reply.elapsed)
            movement.statuses.append(reply.status)
            if reply.status == 201:
                body = reply.json
                if isinstance(body, dict) and "id" in body:
                    movement.transaction_ids.add(body["id"])
                if reply.header("Idempotent-Replayed") == "true":
                    movement.replays += 1
        self._account(movement, reply, base)

    def _account(self, movement: Movement, reply: Reply, base: str) -> None:
        with self._lock:
            stats = self.stats
            stats.statuses[reply.status] += 1
            stats.max_elapsed = max(stats.max_elapsed, reply.elapsed)
            if reply.status == 0:
                stats.errors[reply.error] += 1
            elif reply.status >= 500 and reply.status != 503:
                stats.bad_answers.append(f"{movement.kind} {movement.key} via {base}: {reply.describe()}")
            elif reply.status == 503 and not (reply.header("Retry-After") or "").isdigit():
                stats.bad_answers.append(f"503 without Retry-After for {movement.key}: {reply.describe()}")
            elif reply.status == 503 and not reply.is_problem:
                stats.bad_answers.append(f"503 that is not a problem document for {movement.key}: {reply.describe()}")
        if self.on_reply is not None:
            self.on_reply(movement, reply, base)

    # -- figures --

    def summary(self) -> dict[str, Any]:
        movements = self.movements
        return {
            "requests": self.stats.requests,
            "movements": len(movements),
            "posted (201)": sum(1 for m in movements if m.final == 201),
            "refused (4xx)": sum(1 for m in movements if m.final and m.final != 201),
            "unresolved": sum(1 for m in movements if m.final is None),
            "keys retried": sum(1 for m in movements if m.attempts > 1),
            "keys sent twice at once": sum(1 for m in movements if m.duplicated),
            "replays": sum(m.replays for m in movements),
            "statuses": {("no answer" if k == 0 else k): v for k, v in sorted(self.stats.statuses.items())},
            "transport errors": dict(self.stats.errors),
            "slowest answer (s)": round(self.stats.max_elapsed, 2),
        }


def open_accounts(base: str, tokens: dict[str, str], per_client: int, currency: str = "USD") -> list[Account]:
    """Open ``per_client`` accounts for every client through the API."""
    conn = Connection(base, timeout=20)
    accounts = []
    for owner, token in sorted(tokens.items()):
        for number in range(per_client):
            reply = call(
                conn, "POST", "/api/v1/accounts/", {"currency": currency, "name": f"{owner} {number}"}, token=token
            )
            if reply.status != 201:
                raise RuntimeError(f"could not open an account for {owner}: {reply.describe()}")
            accounts.append(Account(reply.json["id"], owner, token))
    conn.close()
    return accounts

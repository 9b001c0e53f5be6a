"""The books and the idempotency keys, checked in the database after (and during) a scenario.

The books are checked by :func:`harness.books.check` in set-based SQL, so it can run in one
snapshot while the load goes on (:func:`harness.books.check_at`; :class:`Observer` takes one
snapshot after another). :func:`reconcile` runs the project's ``manage.py reconcile`` as an
operator would. :func:`keys` holds the clients' records of every idempotency key against the
database: each key that was answered 201 is bound to exactly the one transaction that every 201
for it named, a refused key bound nothing, no transaction of those clients exists without its
key, and each account holds what the clients' answers say.

Each check counts the objects it looked at (``checked``) and lists what it found wrong.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg

from harness.books import MAX_LISTED, Findings, check_at
from harness.commands import REPO, manage
from torture.client import Movement
from torture.infra import MANAGE_TIMEOUT, ledger_env


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(url, connect_timeout=5, **kwargs)


class Observer:
    """Checks :func:`books` in a fresh snapshot every ``interval`` seconds while a load runs.

    A snapshot sees exactly the transactions committed before it began: a posting half
    written, or a balance updated without its postings, would show here.
    """

    def __init__(self, url: str, interval: float = 0.5) -> None:
        self.url = url
        self.interval = interval
        self.findings = Findings()
        self.snapshots = 0
        self.failed = 0  # snapshots that could not be taken (the database was down)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="observer", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                found = check_at(self.url)
            except psycopg.Error:
                self.failed += 1
                continue
            self.snapshots += 1
            self.findings.add(found)

    def __enter__(self) -> Observer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def reconcile(database_url: str) -> tuple[Findings, str]:
    """``manage.py reconcile --format json``: (findings, one line to show)."""
    found = Findings()
    command = REPO / "reconciliation" / "management" / "commands" / "reconcile.py"
    if not command.exists():
        return found, "not available in this tree (SQL checks only)"
    result = manage(ledger_env(database_url), "reconcile", "--format", "json", timeout=MANAGE_TIMEOUT, check=False)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        found.expect(False, f"reconcile could not run (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        return found, "could not run"
    for check in report.get("checks", []):
        found.expect(check["discrepancies"] == 0, f"reconcile {check['name']}: {check['discrepancies']} discrepancies")
    for discrepancy in report.get("discrepancies", [])[:MAX_LISTED]:
        found.violations.append(f"reconcile: {discrepancy}")
    found.expect(result.returncode == 0, f"reconcile exited with {result.returncode}")
    return found, f"{report.get('result')} ({len(report.get('checks', []))} checks)"


@dataclass
class KeyFigures:
    keys: int = 0
    posted: int = 0
    refused: int = 0
    unresolved_posted: int = 0
    unresolved_not_posted: int = 0
    retried: int = 0
    retried_posted_once: int = 0
    money_in: int = 0  # minor units deposited, as the database says
    money_out: int = 0
    refused_but_posted: list[str] = field(default_factory=list)  # the known bug concurrent-retry-refused


def keys(url: str, movements: list[Movement]) -> tuple[Findings, KeyFigures]:
    """Every key the clients used, against the database (see the module's docstring)."""
    found, figures = Findings(), KeyFigures()
    owners = sorted({m.owner for m in movements})
    with connect(url) as conn:
        records = conn.execute(
            """
            SELECT u.username, r.key, t.public_id::text
            FROM transactions_idempotencyrecord r
            JOIN auth_user u ON u.id = r.client_id
            LEFT JOIN transactions_transaction t ON t.id = r.transaction_id
            WHERE u.username = ANY(%s)
            """,
            [owners],
        ).fetchall()
        transactions = conn.execute(
            """
            SELECT t.public_id::text, u.username, t.kind, r.key
            FROM transactions_transaction t
            JOIN auth_user u ON u.id = t.posted_by_id
            LEFT JOIN transactions_idempotencyrecord r ON r.transaction_id = t.id
            WHERE u.username = ANY(%s)
            """,
            [owners],
        ).fetchall()
        balances = dict(
            conn.execute(
                """
                SELECT a.public_id::text, a.balance_minor FROM accounts_account a
                JOIN auth_user u ON u.id = a.owner_id WHERE u.username = ANY(%s)
                """,
                [owners],
            ).fetchall()
        )

    bound: dict[tuple[str, str], list[str | None]] = defaultdict(list)
    for owner, key, transaction in records:
        bound[(owner, key)].append(transaction)
    ours = {(m.owner, m.key) for m in movements}
    expected = defaultdict(int, dict.fromkeys(balances, 0))

    def apply(movement: Movement) -> None:
        if movement.kind == "deposit":
            expected[movement.destination] += movement.amount_minor
            figures.money_in += movement.amount_minor
        elif movement.kind == "withdrawal":
            expected[movement.source] -= movement.amount_minor
            figures.money_out += movement.amount_minor
        else:
            expected[movement.source] -= movement.amount_minor
            expected[movement.destination] += movement.amount_minor

    for movement in movements:
        figures.keys += 1
        binding = bound.get((movement.owner, movement.key), [])
        label = f"key {movement.key} ({movement.kind}, {movement.attempts} attempts, answers {movement.statuses})"
        found.expect(len(binding) <= 1, f"{label}: bound {len(binding)} times")
        refusals = [s for s in movement.statuses if 400 <= s < 500 and s not in (408, 429)]
        if movement.attempts > 1:
            figures.retried += 1
        if movement.transaction_ids:  # answered 201 at least once
            figures.posted += 1
            found.expect(
                len(movement.transaction_ids) == 1,
                f"{label}: its 201 answers name different transactions {sorted(movement.transaction_ids)}",
            )
            found.expect(
                binding == list(movement.transaction_ids)[:1],
                f"{label}: answered 201 with {sorted(movement.transaction_ids)}, the database binds it to {binding}",
            )
            apply(movement)
            if movement.attempts > 1 and len(binding) == 1:
                figures.retried_posted_once += 1
        elif movement.final is not None:  # refused
            figures.refused += 1
            if binding:
                apply(movement)  # the database says it posted; the client was told otherwise (below)
        elif binding:  # no final answer; it did post
            figures.unresolved_posted += 1
            apply(movement)
        else:
            figures.unresolved_not_posted += 1
        # A refusal for a key that posted: the client was told "refused" for a movement that happened.
        found.checked += 1
        if binding and refusals:
            if set(refusals) == {422} and movement.attempts > 1:
                # Known bug (torture.known: concurrent-retry-refused): an attempt that raced another
                # attempt with its key was refused after waiting for the lock, while the other posted.
                figures.refused_but_posted.append(f"{label} -> {binding[0]}")
            else:
                found.violations.append(
                    f"{label}: answered {refusals} (refused), yet the database binds it to {binding}"
                )

    keyed = 0
    for public_id, owner, kind, key in transactions:
        if kind == "reversal":
            continue
        keyed += 1
        found.expect(
            key is not None and (owner, key) in ours,
            f"{kind} {public_id} posted by {owner} answers no key the clients sent ({key!r}): posted twice?",
        )
    found.expect(
        keyed == sum(1 for binding in bound.values() if binding and binding[0]),
        f"{keyed} transactions, {len(bound)} bound keys",
    )
    for account, balance in sorted(balances.items()):
        found.expect(
            balance == expected[account],
            f"account {account} holds {balance}, the clients' answers say {expected[account]}",
        )
    return found, figures


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

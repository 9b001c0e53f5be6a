"""The books and the idempotency keys, checked in the database after (and during) a scenario.

:func:`books` mirrors ``tests/books.py`` in set-based SQL, so it can run in one snapshot while
the load goes on: every stored balance is the sum of its postings, each account's postings
are numbered 1..n with a chained ``balance_after``, no customer balance is below zero, every
transaction has at least two postings on accounts of its currency that sum to zero (and move
its amount), and every currency's balances sum to zero. :func:`reconcile` runs the project's
``manage.py reconcile`` as an operator would. :func:`keys` holds the clients' records of every
idempotency key against the database: each key that was answered 201 is bound to exactly the
one transaction that every 201 for it named, a refused key bound nothing, no transaction of
those clients exists without its key, and each account holds what the clients' answers say.

Each check counts the objects it looked at (``checked``) and lists what it found wrong.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg

from torture.client import Movement

MAX_LISTED = 20  # violations listed per check; the count is always complete


@dataclass
class Findings:
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def expect(self, ok: bool, message: str) -> bool:
        self.checked += 1
        if not ok:
            self.violations.append(message)
        return ok

    def add(self, other: Findings) -> Findings:
        self.checked += other.checked
        self.violations.extend(other.violations)
        return self


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(url, connect_timeout=5, **kwargs)


def books(conn: psycopg.Connection) -> Findings:
    """The accounting equation, on whatever ``conn`` sees (call it inside one snapshot)."""
    found = Findings()

    accounts = conn.execute(
        """
        SELECT a.public_id::text, a.is_system, a.balance_minor, a.last_sequence,
               COALESCE(SUM(p.amount_minor), 0), COUNT(p.id)
        FROM accounts_account a LEFT JOIN transactions_posting p ON p.account_id = a.id
        GROUP BY a.id
        """
    ).fetchall()
    for public_id, is_system, balance, last_sequence, total, count in accounts:
        if is_system:  # The outside world keeps no stored balance (accounts.models).
            found.expect((balance, last_sequence) == (0, 0), f"system account {public_id} stores a balance")
            continue
        found.expect(balance == total, f"account {public_id}: stored balance {balance}, postings sum to {total}")
        found.expect(last_sequence == count, f"account {public_id}: last_sequence {last_sequence}, {count} postings")
        found.expect(balance >= 0, f"customer account {public_id} is below zero: {balance}")

    postings = conn.execute("SELECT COUNT(*) FROM transactions_posting").fetchone()[0]
    broken = conn.execute(
        """
        SELECT a.public_id::text, c.sequence, c.position, c.balance_after_minor, c.running
        FROM (
            SELECT account_id, sequence, balance_after_minor,
                   ROW_NUMBER() OVER w AS position, SUM(amount_minor) OVER w AS running
            FROM transactions_posting
            WHERE account_id NOT IN (SELECT id FROM accounts_account WHERE is_system)
            WINDOW w AS (PARTITION BY account_id ORDER BY sequence ROWS UNBOUNDED PRECEDING)
        ) c JOIN accounts_account a ON a.id = c.account_id
        WHERE c.sequence <> c.position OR c.balance_after_minor <> c.running
        ORDER BY a.public_id, c.sequence
        """
    ).fetchall()
    found.checked += 2 * postings
    for public_id, sequence, position, after, running in broken[:MAX_LISTED]:
        found.violations.append(
            f"account {public_id}: posting #{sequence} at position {position} has balance_after {after}, "
            f"the running sum is {running}"
        )
    if len(broken) > MAX_LISTED:
        found.violations.append(f"... and {len(broken) - MAX_LISTED} more broken posting chains")

    transactions = conn.execute("SELECT COUNT(*) FROM transactions_transaction").fetchone()[0]
    partial = conn.execute(
        """
        SELECT t.public_id::text, t.kind, COUNT(p.id), COALESCE(SUM(p.amount_minor), 0),
               COALESCE(SUM(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0), t.amount_minor,
               COUNT(p.id) FILTER (WHERE a.currency <> t.currency)
        FROM transactions_transaction t
        LEFT JOIN transactions_posting p ON p.transaction_id = t.id
        LEFT JOIN accounts_account a ON a.id = p.account_id
        GROUP BY t.id
        HAVING COUNT(p.id) < 2 OR COALESCE(SUM(p.amount_minor), 0) <> 0
            OR COALESCE(SUM(p.amount_minor) FILTER (WHERE p.amount_minor > 0), 0) <> t.amount_minor
            OR COUNT(p.id) FILTER (WHERE a.currency <> t.currency) > 0
        """
    ).fetchall()
    found.checked += 4 * transactions
    for public_id, kind, legs, total, credited, amount, foreign in partial[:MAX_LISTED]:
        found.violations.append(
            f"partial or unbalanced {kind} {public_id}: {legs} postings summing to {total}, "
            f"crediting {credited} of its amount {amount}, {foreign} on accounts of another currency"
        )
    if len(partial) > MAX_LISTED:
        found.violations.append(f"... and {len(partial) - MAX_LISTED} more partial or unbalanced transactions")

    # The customers' stored balances and the system account's postings (it stores no balance).
    currencies = conn.execute(
        """
        SELECT a.currency,
               COALESCE(SUM(a.balance_minor) FILTER (WHERE NOT a.is_system), 0) + COALESCE(SUM(w.total), 0)
        FROM accounts_account a
        LEFT JOIN (SELECT account_id, SUM(amount_minor) AS total FROM transactions_posting
                    WHERE account_id IN (SELECT id FROM accounts_account WHERE is_system) GROUP BY account_id) w
               ON w.account_id = a.id
        GROUP BY a.currency ORDER BY a.currency
        """
    ).fetchall()
    for currency, total in currencies:
        found.expect(total == 0, f"the {currency} books sum to {total}, not zero: money appeared or vanished")
    return found


def books_at(url: str) -> Findings:
    """:func:`books` in one read-only, repeatable-read snapshot of ``url``."""
    with connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        found = books(conn)
        conn.rollback()
    return found


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
                found = books_at(self.url)
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
    from torture.infra import REPO, clean_env

    found = Findings()
    command = REPO / "reconciliation" / "management" / "commands" / "reconcile.py"
    if not command.exists():
        return found, "not available in this tree (SQL checks only)"
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--format", "json"],
        cwd=REPO,
        env=clean_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
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

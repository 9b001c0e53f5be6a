"""What must hold after every scenario: ``reconcile`` finds the ledger clean, and money is conserved.

Conservation compares the books before and after a scenario: in every currency the customers'
stored balances and the system account's postings sum to zero (:func:`harness.books.currency_totals`),
transfers leave the customers' total unchanged, and deposits and withdrawals move it by exactly
their amounts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.database import Database, manage
from bench.errors import BenchFailure
from harness import commands
from harness.books import currency_totals


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
            money = currency_totals(conn)
            applied = applied_since(conn, since if since is not None else last_txn)
        books = cls(
            last_txn=last_txn,
            customer_totals={currency: total.customers for currency, total in money.items()},
            currency_totals={currency: total.total for currency, total in money.items()},
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


def reconcile(env: Mapping[str, str], *, own_process: bool = False) -> dict[str, Any]:
    """The ``reconcile`` command's verdict (every invariant, set-based) on the whole ledger.

    In this process (where Django is set up on the run's database), or with ``own_process`` in
    a ``manage.py`` of its own, for another database (the cluster's).
    """
    started = time.monotonic()
    if own_process:
        finished = commands.manage(env, "reconcile", "--format", "json", timeout=600, check=False)
        status, stdout = finished.returncode, finished.stdout
    else:
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

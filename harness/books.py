"""The accounting equation, checked in SQL on whatever a connection to the ledger's database sees.

What every test of writes ends with, what the benchmark checks after each scenario and what the
torture suite checks in snapshots while its load runs. The queries are plain, set-based SQL that
PostgreSQL and SQLite both run, with no parameters, on any DB-API connection: psycopg's, the
``sqlite3`` module's, or Django's ``connection``. They hold:

- every customer account's stored balance is the sum of its postings, which are numbered 1..n
  (``last_sequence`` is n) with a ``balance_after`` that is the running sum; no customer account
  is below zero;
- a system account (the outside world, ``accounts.models``) stores no balance and no sequence,
  and none of its postings carries a sequence or a running balance;
- every transaction has at least two postings, on accounts of its currency, that sum to zero
  and move its amount (the positive legs add up to it);
- in every currency, the customers' stored balances and the system account's postings sum to
  zero: no money appeared or vanished;
- every account's ``reserved_minor`` is what its pending holds still reserve (the sum of their
  ``amount_minor - captured_minor``), a system account reserves nothing, and no customer
  account's balance is below what it reserves (its available balance is never negative);
- every hold has captured between nothing and its amount, exactly the sum of its captures (the
  transactions that name it), and a hold left ``pending`` has something still to capture.

Each check counts what it looked at (:attr:`Findings.checked`) and lists what it found wrong.
This is the independent check: ``reconcile`` (``reconciliation.checks``) is the product's own,
and the tests verify it against this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LISTED = 20  # violations listed per query; the count is always complete

_ACCOUNTS = """
SELECT a.public_id, a.is_system, a.balance_minor, a.last_sequence, COALESCE(SUM(p.amount_minor), 0), COUNT(p.id),
       COALESCE(SUM(CASE WHEN p.sequence IS NOT NULL OR p.balance_after_minor IS NOT NULL THEN 1 ELSE 0 END), 0)
  FROM accounts_account a LEFT JOIN transactions_posting p ON p.account_id = a.id
 GROUP BY a.id
 ORDER BY a.id
"""

_BROKEN_CHAINS = """
SELECT a.public_id, c.sequence, c.position, c.balance_after_minor, c.running
  FROM (SELECT account_id, sequence, balance_after_minor,
               ROW_NUMBER() OVER w AS position, SUM(amount_minor) OVER w AS running
          FROM transactions_posting
         WHERE account_id NOT IN (SELECT id FROM accounts_account WHERE is_system)
        WINDOW w AS (PARTITION BY account_id ORDER BY sequence ROWS UNBOUNDED PRECEDING)) c
  JOIN accounts_account a ON a.id = c.account_id
 WHERE c.sequence IS NULL OR c.balance_after_minor IS NULL
    OR c.sequence <> c.position OR c.balance_after_minor <> c.running
 ORDER BY a.id, c.position
"""

_CREDITED = "COALESCE(SUM(CASE WHEN p.amount_minor > 0 THEN p.amount_minor ELSE 0 END), 0)"
_FOREIGN = "COALESCE(SUM(CASE WHEN a.currency <> t.currency THEN 1 ELSE 0 END), 0)"
_PARTIAL_TRANSACTIONS = f"""
SELECT t.public_id, t.kind, COUNT(p.id), COALESCE(SUM(p.amount_minor), 0), {_CREDITED}, t.amount_minor, {_FOREIGN}
  FROM transactions_transaction t
  LEFT JOIN transactions_posting p ON p.transaction_id = t.id
  LEFT JOIN accounts_account a ON a.id = p.account_id
 GROUP BY t.id
HAVING COUNT(p.id) < 2 OR COALESCE(SUM(p.amount_minor), 0) <> 0 OR {_CREDITED} <> t.amount_minor OR {_FOREIGN} > 0
 ORDER BY t.id
"""  # noqa: S608 -- fixed text

# The customers' stored balances, and the system account's postings (it stores no balance).
_CURRENCY_TOTALS = """
SELECT a.currency, COALESCE(SUM(CASE WHEN a.is_system THEN 0 ELSE a.balance_minor END), 0), COALESCE(SUM(w.total), 0)
  FROM accounts_account a
  LEFT JOIN (SELECT account_id, SUM(amount_minor) AS total FROM transactions_posting
              WHERE account_id IN (SELECT id FROM accounts_account WHERE is_system) GROUP BY account_id) w
         ON w.account_id = a.id
 GROUP BY a.currency
 ORDER BY a.currency
"""

# Every account's stored reservation, and what its pending holds still reserve.
_RESERVATIONS = """
SELECT a.public_id, a.is_system, a.balance_minor, a.reserved_minor, COALESCE(SUM(h.remaining), 0)
  FROM accounts_account a
  LEFT JOIN (SELECT account_id, amount_minor - captured_minor AS remaining FROM accounts_hold
              WHERE status = 'pending') h
         ON h.account_id = a.id
 GROUP BY a.id
 ORDER BY a.id
"""

# Every hold, with the sum and count of its captures (the transactions that name it).
_HOLDS = """
SELECT h.public_id, h.status, h.amount_minor, h.captured_minor, COALESCE(c.total, 0), COALESCE(c.captures, 0)
  FROM accounts_hold h
  LEFT JOIN (SELECT hold_id, SUM(amount_minor) AS total, COUNT(*) AS captures FROM transactions_transaction
              WHERE hold_id IS NOT NULL GROUP BY hold_id) c
         ON c.hold_id = h.id
 ORDER BY h.id
"""


@dataclass
class Findings:
    """What a check looked at (``checked``, a count) and what it found wrong (``violations``)."""

    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def expect(self, ok: bool, message: str) -> bool:
        """Count one check; record ``message`` unless ``ok``. Return ``ok``."""
        self.checked += 1
        if not ok:
            self.violations.append(message)
        return ok

    def add(self, other: Findings) -> Findings:
        """Add what ``other`` checked and found to these findings; return them."""
        self.checked += other.checked
        self.violations.extend(other.violations)
        return self

    def record(self, problems: list[str], what: str) -> None:
        """Record the first :data:`MAX_LISTED` of ``problems``, and how many more there are of ``what``."""
        self.violations.extend(problems[:MAX_LISTED])
        if len(problems) > MAX_LISTED:
            self.violations.append(f"... and {len(problems) - MAX_LISTED} more {what}")


@dataclass(frozen=True)
class CurrencyTotal:
    """One currency's money: what its customer accounts store, and what its system account's postings sum to."""

    currency: str
    customers: int
    world: int

    @property
    def total(self) -> int:
        """Return the sum that is zero while no money appears or vanishes."""
        return self.customers + self.world


def _rows(conn: Any, sql: str) -> list[tuple]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def currency_totals(conn: Any) -> dict[str, CurrencyTotal]:
    """Return every currency's :class:`CurrencyTotal`, as ``conn`` sees the books."""
    return {
        currency: CurrencyTotal(currency, int(customers), int(world))
        for currency, customers, world in _rows(conn, _CURRENCY_TOTALS)
    }


def check(conn: Any) -> Findings:
    """Check the accounting equation on what ``conn`` sees (call it inside one snapshot while writers run)."""
    found = Findings()

    postings = 0
    for public_id, is_system, balance, last_sequence, total, count, numbered in _rows(conn, _ACCOUNTS):
        postings += count
        if is_system:  # The outside world keeps no stored balance and numbers nothing (accounts.models).
            found.expect((balance, last_sequence) == (0, 0), f"system account {public_id} stores a balance")
            found.expect(numbered == 0, f"system account {public_id}: {numbered} postings carry a sequence or balance")
            continue
        found.expect(balance == total, f"account {public_id}: stored balance {balance}, postings sum to {total}")
        found.expect(last_sequence == count, f"account {public_id}: last_sequence {last_sequence}, {count} postings")
        found.expect(balance >= 0, f"customer account {public_id} is below zero: {balance}")

    found.checked += 2 * postings
    found.record(
        [
            f"account {public_id}: posting #{sequence} at position {position} has balance_after {after}, "
            f"the running sum is {running}"
            for public_id, sequence, position, after, running in _rows(conn, _BROKEN_CHAINS)
        ],
        "broken posting chains",
    )

    found.checked += 4 * _rows(conn, "SELECT COUNT(*) FROM transactions_transaction")[0][0]
    found.record(
        [
            f"partial or unbalanced {kind} {public_id}: {legs} postings summing to {total}, "
            f"crediting {credited} of its amount {amount}, {foreign} on accounts of another currency"
            for public_id, kind, legs, total, credited, amount, foreign in _rows(conn, _PARTIAL_TRANSACTIONS)
        ],
        "partial or unbalanced transactions",
    )

    for money in currency_totals(conn).values():
        found.expect(
            money.total == 0, f"the {money.currency} books sum to {money.total}, not zero: money appeared or vanished"
        )
    return found.add(check_holds(conn))


def check_holds(conn: Any) -> Findings:
    """Check the reservations and the holds on what ``conn`` sees (part of :func:`check`)."""
    found = Findings()
    for public_id, is_system, balance, reserved, held in _rows(conn, _RESERVATIONS):
        found.expect(
            reserved == held, f"account {public_id}: reserves {reserved}, its pending holds still reserve {held}"
        )
        if is_system:
            found.expect(reserved == 0, f"system account {public_id} reserves {reserved}")
        else:
            found.expect(
                balance >= reserved,
                f"customer account {public_id} reserves {reserved} of its balance {balance}: "
                "its available balance is below zero",
            )

    problems = []
    for public_id, status, amount, captured, total, count in _rows(conn, _HOLDS):
        found.checked += 3
        if not 0 <= captured <= amount:
            problems.append(f"hold {public_id} ({status}): captured {captured} of its amount {amount}")
        if captured != total:
            problems.append(
                f"hold {public_id} ({status}): records {captured} captured, its {count} captures sum to {total}"
            )
        if status == "pending" and captured >= amount:
            problems.append(f"hold {public_id} is pending with nothing left to capture ({captured} of {amount})")
    found.record(problems, "hold problems")
    return found


def check_at(url: str) -> Findings:
    """:func:`check` in one read-only, repeatable-read snapshot of the PostgreSQL database at ``url``."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        found = check(conn)
        conn.rollback()
    return found


def assert_books_balance(conn: Any = None) -> None:
    """Assert the accounting equation on ``conn`` (by default Django's connection: the test's database)."""
    if conn is None:
        from django.db import connection as conn
    found = check(conn)
    assert not found.violations, "the books do not balance:\n" + "\n".join(found.violations)

"""Helpers of the command tests: what ``reconcile`` found, and damage done to the books behind the service's back."""

from __future__ import annotations

from django.db import connection

from harness.commands import Outcome


def findings(outcome: Outcome, check: str | None = None) -> list[dict]:
    """The discrepancies of a ``reconcile --format json`` run, optionally of one check.

    Also checks that each check's count is the number of discrepancies it lists (the test
    ledgers are far below the cap on listed discrepancies).
    """
    items = outcome.json["discrepancies"]
    for summary in outcome.json["checks"]:
        assert summary["discrepancies"] == sum(item["check"] == summary["name"] for item in items), summary
    return [item for item in items if check is None or item["check"] == check]


def bypass_triggers() -> None:
    """Let this test's database transaction update and delete postings and transactions directly.

    The deferred checks of what the test wrote so far (through the service: all valid) run
    first, so that they do not fire on the damage when the test ends; then
    ``session_replication_role = replica`` switches off the triggers (the append-only guards,
    the zero-sum check) for the rest of this transaction, which the test rolls back.
    """
    run_deferred_checks()
    sql("SET LOCAL session_replication_role = replica")


def run_deferred_checks() -> None:
    """Run now the deferred checks (zero-sum trigger, foreign keys) of what this test wrote so far.

    Needed before damaging the books inside the test's transaction (the checks would fire on
    the damage when the test ends) and before altering a table (PostgreSQL refuses to while
    trigger events are pending).
    """
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql("SET CONSTRAINTS ALL DEFERRED")


def sql(statement: str, params: list | tuple = ()) -> None:
    """Execute ``statement`` on the test's connection."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def disable_triggers(table: str, *names: str) -> None:
    """Switch off the named triggers of ``table`` for the rest of this test's transaction, which rolls back.

    What the test wrote so far is checked first (PostgreSQL refuses to alter a table while
    trigger events are pending), as when a test drops a CHECK constraint.
    """
    run_deferred_checks()
    for name in names:
        sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")

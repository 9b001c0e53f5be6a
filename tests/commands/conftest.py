"""A small ledger written through the posting service, and helpers to run the commands and to break the books."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Account
from tests.factories import AccountFactory, StaffFactory, UserFactory
from transactions.models import Posting, Transaction
from transactions.services import deposit_create, transaction_reverse, transfer_create, withdrawal_create


@dataclass
class Outcome:
    """What an operator sees of a command: its exit status and its two streams."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def run(command: str, *args: str) -> Outcome:
    """Run a management command in this process as ``manage.py`` would, catching its exit status."""
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return Outcome(code, out.getvalue(), err.getvalue())


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
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@dataclass
class Ledger:
    """Alice and Bob hold USD, Carol EUR; money came in, moved, went out, and one transfer was reversed."""

    alice: Account
    bob: Account
    carol: Account
    usd_world: Account
    deposit: Transaction
    transfer: Transaction
    withdrawal: Transaction
    reversed_transfer: Transaction
    reversal: Transaction

    def refresh(self) -> None:
        for account in (self.alice, self.bob, self.carol, self.usd_world):
            account.refresh_from_db()


def build_ledger() -> Ledger:
    owner, other = UserFactory(), UserFactory()
    staff = StaffFactory()
    alice = AccountFactory(owner=owner, currency="USD", name="Alice")
    bob = AccountFactory(owner=other, currency="USD", name="Bob")
    carol = AccountFactory(owner=other, currency="EUR", name="Carol")
    deposit = deposit_create(actor=owner, account_id=alice.public_id, amount=Decimal("100.00"))
    deposit_create(actor=other, account_id=bob.public_id, amount=Decimal("20.00"))
    deposit_create(actor=other, account_id=carol.public_id, amount=Decimal("7.50"))
    transfer = transfer_create(
        actor=owner, source_account_id=alice.public_id, destination_account_id=bob.public_id, amount=Decimal("30.25")
    )
    withdrawal = withdrawal_create(actor=other, account_id=bob.public_id, amount=Decimal("5.00"))
    reversed_transfer = transfer_create(
        actor=owner, source_account_id=alice.public_id, destination_account_id=bob.public_id, amount=Decimal("1.10")
    )
    reversal = transaction_reverse(actor=staff, transaction_id=reversed_transfer.public_id, reason="sent by mistake")
    deposit_create(actor=owner, account_id=alice.public_id, amount=Decimal("3.00"))
    ledger = Ledger(
        alice=alice,
        bob=bob,
        carol=carol,
        usd_world=Account.objects.get(is_system=True, currency="USD"),
        deposit=deposit,
        transfer=transfer,
        withdrawal=withdrawal,
        reversed_transfer=reversed_transfer,
        reversal=reversal,
    )
    ledger.refresh()
    return ledger


@pytest.fixture
def ledger(db) -> Ledger:
    return build_ledger()


def posting(account: Account, sequence: int) -> Posting:
    return Posting.objects.get(account=account, sequence=sequence)

"""``reconcile`` on a live ledger: writers keep posting while it runs, and it reports no false discrepancy.

Real threads post through the posting service, each on its own connection, while the main
thread reconciles again and again in its snapshot; then the books are checked once more
with everything committed. Also: the real process's exit statuses, and progress shown on a
terminal but not in a pipe.
"""

from __future__ import annotations

import os
import pty
import random
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from harness import commands
from harness.books import assert_books_balance
from harness.commands import run
from harness.environment import database_url, production_env
from ledger.errors import InsufficientFunds
from reconciliation.models import ReconciliationRun
from reconciliation.services import read_snapshot
from tests.factories import AccountFactory, UserFactory
from tests.ledgers import build_ledger
from transactions.services import deposit_create, transfer_create, withdrawal_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_reconcile_sees_no_false_discrepancy_while_writers_post():
    owner = UserFactory()
    accounts = [AccountFactory(owner=owner, currency="USD") for _ in range(6)]
    for account in accounts:
        deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("500.00"))
    stop = threading.Event()
    errors: list[BaseException] = []
    posted = [0]

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                source, destination = rng.sample(accounts, 2)
                amount = Decimal(rng.randint(1, 4000)) / 100
                try:
                    match rng.randrange(3):
                        case 0:
                            transfer_create(
                                actor=owner,
                                source_account_id=source.public_id,
                                destination_account_id=destination.public_id,
                                amount=amount,
                            )
                        case 1:
                            deposit_create(actor=owner, account_id=source.public_id, amount=amount)
                        case _:
                            withdrawal_create(actor=owner, account_id=source.public_id, amount=amount)
                    posted[0] += 1
                except InsufficientFunds:
                    pass
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    outcomes = []
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline or len(outcomes) < 10:
            outcomes.append(run("reconcile", "--format", "json"))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    assert posted[0] > 50, "the writers barely ran; the test proves nothing"

    assert [outcome.code for outcome in outcomes] == [0] * len(outcomes), [
        outcome.json["discrepancies"] for outcome in outcomes if outcome.code
    ]
    assert run("reconcile").code == 0
    assert_books_balance()


def test_the_checks_read_one_read_only_snapshot_that_writers_do_not_wait_for():
    owner = UserFactory()
    account = AccountFactory(owner=owner, currency="USD")
    deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("1.00"))
    finished = threading.Event()

    def post() -> None:
        try:
            deposit_create(actor=owner, account_id=account.public_id, amount=Decimal("2.00"))
            finished.set()
        finally:
            connection.close()

    with read_snapshot() as cursor:
        cursor.execute("SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')")
        assert cursor.fetchone() == ("repeatable read", "on")
        cursor.execute(
            "SELECT COUNT(*), SUM(amount_minor) FROM transactions_posting WHERE account_id = %s", [account.pk]
        )
        before = cursor.fetchone()
        writer = threading.Thread(target=post)
        writer.start()
        writer.join(timeout=30)
        assert finished.is_set(), "a posting waited for the reconciliation snapshot"
        cursor.execute(
            "SELECT COUNT(*), SUM(amount_minor) FROM transactions_posting WHERE account_id = %s", [account.pk]
        )
        assert cursor.fetchone() == before == (1, 100)

    account.refresh_from_db()
    assert account.balance_minor == 300


def _env() -> dict[str, str]:
    return production_env(DATABASE_URL=database_url())


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return commands.manage(_env(), *args, check=False)


def test_the_process_exits_0_when_clean_1_on_discrepancies_2_on_usage_errors():
    ledger = build_ledger()

    clean = manage("reconcile")
    assert clean.returncode == 0, clean.stderr
    assert "Result: clean" in clean.stdout
    assert clean.stderr == ""  # a pipe: no progress

    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE id = %s", [ledger.bob.pk])
    dirty = manage("reconcile", "--format", "json")
    assert dirty.returncode == 1
    assert str(ledger.bob.public_id) in dirty.stdout

    for args in (
        ["--format", "xml"],
        ["--account", "nope"],
        ["--since", "yesterday-ish"],
        ["--account", "x", "--since", "1h"],
    ):
        assert manage("reconcile", *args).returncode == 2, args
    assert ReconciliationRun.objects.count() == 2


def test_progress_is_shown_on_a_terminal_only():
    build_ledger()
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "reconcile"],
        cwd=commands.REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
    )
    os.close(secondary)
    terminal = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        terminal += chunk
    out, _ = process.communicate(timeout=120)
    os.close(primary)

    assert process.returncode == 0
    assert b"check 1/10" in terminal
    assert b"check 6/10: reversal links agree both ways... ok" in terminal
    assert b"check 10/10: each transaction has its events... ok" in terminal
    assert "check 1/10" not in out
    assert "Result: clean" in out

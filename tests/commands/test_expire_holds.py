"""``manage.py expire_holds``: once, or every N seconds until stopped; never a hold recorded twice.

Lapsed holds are placed as time would leave them: at an instant an hour and more ago (the
services take their clock from ``django.utils.timezone.now``), expiring half an hour later.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import Account, Hold
from harness.commands import REPO, manage, run
from harness.environment import database_url, production_env
from tests.factories import AccountFactory
from transactions.holds import hold_create
from transactions.management.commands import expire_holds
from transactions.services import deposit_create

pytestmark = pytest.mark.postgres


def lapsed_holds(monkeypatch, accounts: list[Account], *, per_account: int = 1, pending: int = 0) -> list[Hold]:
    """Fund each account with 10.00 and place ``per_account`` holds of 1.00 on it that have lapsed
    (placed 90 minutes ago, expiring 30 minutes later), and ``pending`` that have not."""
    past = timezone.now() - timedelta(minutes=90)
    monkeypatch.setattr(timezone, "now", lambda: past)
    holds = []
    for account in accounts:
        deposit_create(actor=account.owner, account_id=account.public_id, amount=Decimal("10.00"))
        for _ in range(per_account):
            holds.append(
                hold_create(
                    actor=account.owner,
                    account_id=account.public_id,
                    amount="1.00",
                    expires_at=past + timedelta(minutes=30),
                )
            )
        for _ in range(pending):
            hold_create(actor=account.owner, account_id=account.public_id, amount="1.00")
    monkeypatch.undo()
    return holds


def expired_count(currency: str = "USD") -> float:
    return REGISTRY.get_sample_value("ledger_holds_expired_total", {"currency": currency}) or 0.0


def test_once_it_records_the_lapsed_holds_and_says_how_many(db, monkeypatch):
    account = AccountFactory(currency="USD")
    lapsed = lapsed_holds(monkeypatch, [account], per_account=2, pending=1)

    first = run("expire_holds")
    again = run("expire_holds", "--accounts-per-transaction", "1")

    assert (first.code, first.out.strip()) == (0, "Recorded 2 hold(s) as expired.")
    assert (again.code, again.out.strip()) == (0, "Recorded 0 hold(s) as expired.")
    assert {h.status for h in Hold.objects.filter(pk__in=[h.pk for h in lapsed])} == {"expired"}
    assert Hold.objects.filter(status="pending").count() == 1
    assert Account.objects.get(pk=account.pk).reserved_minor == 100  # the pending hold's 1.00


def test_usage_errors_exit_with_status_2():
    env = production_env(DATABASE_URL="postgres://nobody@127.0.0.1:1/none")  # argparse refuses before any query
    for args, message in [
        (["--every", "0"], "'0' is not a positive number of seconds"),
        (["--every", "soon"], "'soon' is not a positive number of seconds"),
        (["--accounts-per-transaction", "0"], "'0' is not a whole number from 1 to 100000"),
    ]:
        outcome = manage(env, "expire_holds", *args, check=False)
        assert outcome.returncode == 2, outcome.stderr
        assert message in outcome.stderr


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_record_each_expired_hold_exactly_once(monkeypatch):
    """Two runs in threads (a connection each), released together, one account a transaction:
    between them they record every lapsed hold, each once, and count each once."""
    accounts = [AccountFactory(currency="USD") for _ in range(30)]
    lapsed = lapsed_holds(monkeypatch, accounts, per_account=2, pending=1)
    counted_before = expired_count()
    barrier = threading.Barrier(2, timeout=30)
    printed: list[str] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            outcome = run("expire_holds", "--accounts-per-transaction", "1")
            assert outcome.code == 0, outcome.err
            printed.append(outcome.out.strip())
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, name=f"sweeper-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    if errors:
        raise errors[0]

    counts = sorted(int(line.split()[1]) for line in printed)
    assert sum(counts) == len(lapsed) == 60, counts
    assert set(Hold.objects.filter(pk__in=[h.pk for h in lapsed]).values_list("status", flat=True)) == {"expired"}
    assert expired_count() - counted_before == 60
    assert set(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("reserved_minor", flat=True)) == {
        100
    }
    assert run("expire_holds").out.strip() == "Recorded 0 hold(s) as expired."
    assert run("reconcile").code == 0


def test_every_survives_a_database_outage_and_stops_on_sigterm(monkeypatch, caplog):
    """In this process: the first run finds the database gone, the next records 3 holds, and the
    third sends this process SIGTERM, which ends the loop after it; the old handler is put back."""
    calls: list[int] = []

    def holds_expire(*, accounts_per_transaction: int) -> int:
        calls.append(accounts_per_transaction)
        if len(calls) == 1:
            raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return 3 if len(calls) == 2 else 0

    monkeypatch.setattr(expire_holds, "holds_expire", holds_expire)
    before = signal.getsignal(signal.SIGTERM)
    caplog.set_level("INFO", logger="transactions.expire_holds")

    outcome = run("expire_holds", "--every", "0.01", "--accounts-per-transaction", "7")

    assert outcome.code == 0, outcome.err
    assert calls == [7, 7, 7]
    assert signal.getsignal(signal.SIGTERM) is before
    records = [r for r in caplog.records if r.name == "transactions.expire_holds"]
    failed = [r for r in records if r.levelname == "ERROR"]
    assert len(failed) == 1
    assert "Connection refused" in failed[0].getMessage()
    assert failed[0].error == "OperationalError"
    assert [r.expired for r in records if hasattr(r, "expired")] == [3, 0]
    # The signal came during the third run, which finished (and was logged) before the loop ended.
    assert [r.getMessage() for r in records[-3:]] == [
        "expire_holds: SIGTERM received, stopping",
        "expired 0 hold(s)",
        "expire_holds stopped after 2 run(s)",
    ]


@pytest.mark.django_db(transaction=True)
def test_every_as_a_process_logs_each_run_as_json_and_exits_cleanly_on_sigterm(monkeypatch):
    account = AccountFactory(currency="USD")
    [lapsed] = lapsed_holds(monkeypatch, [account])
    env = production_env(DATABASE_URL=database_url(), LOG_FORMAT="json")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "expire_holds", "--every", "0.2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while Hold.objects.get(pk=lapsed.pk).status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a few more rounds, finding nothing
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert Hold.objects.get(pk=lapsed.pk).status == "expired"
    assert out == ""
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line one JSON object
    ours = [line for line in lines if line["logger"] == "transactions.expire_holds"]
    runs = [line for line in ours if "expired" in line]
    assert runs[0]["expired"] == 1
    assert {line["expired"] for line in runs[1:]} == {0}
    assert all(line["level"] == "INFO" and line["duration_ms"] >= 0 for line in runs)
    assert ours[0]["every_seconds"] == 0.2
    assert ours[-1]["message"] == f"expire_holds stopped after {len(runs)} run(s)"

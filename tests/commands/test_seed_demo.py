"""``manage.py seed_demo``: bulk demo data that keeps every invariant, committed past the database's own checks.

On PostgreSQL the chunks really commit (so the deferred zero-sum trigger and the foreign
keys check every row) and two workers write side by side; the result reconciles cleanly.
On SQLite the same commands run end to end in a subprocess.
"""

from __future__ import annotations

import subprocess

import pytest
from django.db.models import Count, Min

from accounts.models import Account
from harness import commands
from harness.books import assert_books_balance
from harness.commands import run
from harness.environment import production_env
from transactions.models import Posting, Transaction


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seeded_books_reconcile_cleanly_and_keep_every_invariant():
    outcome = run(
        "seed_demo", "--accounts", "40", "--transactions", "3000", "--chunk", "700", "--workers", "2", "--seed", "7"
    )

    assert outcome.code == 0, outcome.err
    assert "Seeded 40 accounts and 3,000 transactions (6,000 postings" in outcome.out
    customers = Account.objects.filter(is_system=False, owner__username="demo-client")
    assert customers.count() == 40
    assert set(customers.values_list("currency", flat=True)) == {"USD", "EUR", "GBP", "JPY"}
    assert Transaction.objects.count() == 3000
    assert Posting.objects.count() == 6000
    kinds = dict(Transaction.objects.values_list("kind").annotate(n=Count("pk")))
    assert set(kinds) == {"deposit", "withdrawal", "transfer", "reversal"}
    assert Transaction.objects.filter(status="reversed").count() == kinds["reversal"]
    assert customers.aggregate(lowest=Min("balance_minor"))["lowest"] >= 0
    assert run("reconcile").code == 0
    assert_books_balance()

    again = run("seed_demo", "--accounts", "5", "--transactions", "200", "--workers", "1")
    assert again.code == 0
    assert run("reconcile").code == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seeded_postings_are_in_time_order_per_account():
    run("seed_demo", "--accounts", "10", "--transactions", "500", "--chunk", "100", "--days", "3")

    for account in Account.objects.all():
        order = "id" if account.is_system else "sequence"  # The outside world numbers nothing.
        times = list(Posting.objects.filter(account=account).order_by(order).values_list("created_at", flat=True))
        assert times == sorted(times), f"{account}: created_at does not follow {order}"


def test_usage_errors_exit_with_status_2(db):
    assert run("seed_demo", "--accounts", "0", "--transactions", "10").code == 2
    assert not Account.objects.filter(is_system=False).exists()


def test_seed_reconcile_and_statement_on_the_sqlite_default(tmp_path):
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return commands.manage(env, *args, timeout=300, check=False)

    assert manage("migrate", "-v0").returncode == 0
    seeded = manage("seed_demo", "--accounts", "12", "--transactions", "600", "--chunk", "250", "--seed", "3")
    assert seeded.returncode == 0, seeded.stderr
    reconciled = manage("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "Result: clean" in reconciled.stdout
    assert manage("reconcile", "--since", "1d", "--format", "json").returncode == 0
    assert manage("rebuild_balances").stdout.startswith("Every stored balance")

    import sqlite3

    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        (public_id,) = db.execute("SELECT public_id FROM accounts_account WHERE NOT is_system LIMIT 1").fetchone()
    account = f"{public_id[:8]}-{public_id[8:12]}-{public_id[12:16]}-{public_id[16:20]}-{public_id[20:]}"
    statement = manage("statement", account, "--from", "2000-01-01", "--to", "2100-01-01")
    assert statement.returncode == 0, statement.stderr
    assert statement.stdout.startswith("type,created_at,sequence")

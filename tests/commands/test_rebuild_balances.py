"""``manage.py rebuild_balances``: stored balances back to what the postings say, audited, under the service's locks."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import Q

from accounts.models import Account
from audit.models import AuditRecord
from harness.commands import run
from tests.commands.helpers import sql
from tests.ledgers import build_ledger
from transactions.engine.locking import lock_accounts

pytestmark = pytest.mark.postgres


def _tamper(ledger) -> None:
    sql("UPDATE accounts_account SET balance_minor = 9999 WHERE id = %s", [ledger.bob.pk])
    sql("UPDATE accounts_account SET last_sequence = 9 WHERE id = %s", [ledger.carol.pk])


def test_a_dry_run_prints_what_would_change_and_changes_nothing(ledger):
    _tamper(ledger)

    outcome = run("rebuild_balances")

    assert outcome.code == 0
    assert f"would change: account {ledger.bob.public_id}: balance 99.99 USD -> 45.25 USD" in outcome.out
    assert f"would change: account {ledger.carol.public_id}: last_sequence 9 -> 1" in outcome.out
    assert "Dry run: 2 account(s) would change" in outcome.out
    assert Account.objects.get(pk=ledger.bob.pk).balance_minor == 9999
    assert Account.objects.get(pk=ledger.carol.pk).last_sequence == 9
    assert not AuditRecord.objects.filter(action="rebuild_balance").exists()
    assert run("reconcile").code == 1


def test_apply_repairs_the_balances_writes_audit_records_and_reconcile_is_clean(ledger):
    _tamper(ledger)

    outcome = run("rebuild_balances", "--apply", "--reason", "INC-42: balance edited by hand")

    assert outcome.code == 0, outcome.err
    assert "Rebuilt 2 account(s)" in outcome.out
    bob, carol = Account.objects.get(pk=ledger.bob.pk), Account.objects.get(pk=ledger.carol.pk)
    assert (bob.balance_minor, bob.last_sequence) == (4525, 5)
    assert (carol.balance_minor, carol.last_sequence) == (750, 1)
    records = {record.target_id: record for record in AuditRecord.objects.filter(action="rebuild_balance")}
    assert set(records) == {str(ledger.bob.public_id), str(ledger.carol.public_id)}
    record = records[str(ledger.bob.public_id)]
    assert (record.action, record.target_type, record.operator) == ("rebuild_balance", "account", None)
    assert record.reason == "INC-42: balance edited by hand"
    assert record.operator_label.startswith("manage.py rebuild_balances (")
    assert record.details["from"] == 9999
    assert record.details["to"] == 4525
    assert run("reconcile").code == 0
    assert run("rebuild_balances").out.startswith("Every stored balance")


def test_apply_needs_a_reason(ledger):
    _tamper(ledger)

    outcome = run("rebuild_balances", "--apply")

    assert outcome.code == 2
    assert "--reason" in outcome.err
    assert Account.objects.get(pk=ledger.bob.pk).balance_minor == 9999


def test_one_account_only(ledger):
    _tamper(ledger)

    outcome = run("rebuild_balances", "--account", str(ledger.bob.public_id), "--apply", "--reason", "fix bob")

    assert outcome.code == 0
    assert Account.objects.get(pk=ledger.bob.pk).balance_minor == 4525
    assert Account.objects.get(pk=ledger.carol.pk).last_sequence == 9
    assert run("rebuild_balances", "--account", "nope").code == 2


def test_refuses_when_a_customers_postings_sum_below_zero(ledger):
    """No stored balance can fix postings that overdraw a customer: nothing changes, exit 1."""
    from tests.commands.helpers import bypass_triggers

    bypass_triggers()
    sql("UPDATE transactions_posting SET amount_minor = -5000 WHERE account_id = %s", [ledger.carol.pk])
    _tamper(ledger)

    outcome = run("rebuild_balances", "--apply", "--reason", "try")

    assert outcome.code == 1
    assert str(ledger.carol.public_id) in outcome.err
    assert Account.objects.get(pk=ledger.bob.pk).balance_minor == 9999
    assert not AuditRecord.objects.filter(action="rebuild_balance").exists()


@pytest.mark.django_db(transaction=True)
def test_apply_waits_for_the_row_lock_that_the_posting_service_takes():
    ledger = build_ledger()
    _tamper(ledger)
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        try:
            with db_transaction.atomic():
                lock_accounts(Q(pk=ledger.bob.pk))
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(timeout=30)
    outcome: list = []
    rebuild = threading.Thread(
        target=lambda: (outcome.append(run("rebuild_balances", "--apply", "--reason", "r")), connection.close())
    )
    rebuild.start()
    time.sleep(1)
    assert rebuild.is_alive(), "rebuild_balances changed a balance without the account's row lock"
    assert Account.objects.get(pk=ledger.bob.pk).balance_minor == 9999
    release.set()
    holder.join(timeout=30)
    rebuild.join(timeout=30)

    assert outcome[0].code == 0
    assert Account.objects.get(pk=ledger.bob.pk).balance_minor == 4525

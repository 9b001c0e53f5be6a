"""``manage.py reconcile``: each of the six checks catches its own kind of damage, naming it exactly.

Every test starts from a small ledger written through the posting service, breaks one thing
with raw SQL (switching off the append-only triggers, or dropping a CHECK constraint, for
this test's transaction only) and reads the report as an operator would: the exit status
and the discrepancy that names the account or transaction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from harness.commands import run
from ledger.money import format_minor
from reconciliation.models import ReconciliationRun
from reconciliation.services import since_margin
from tests.commands.helpers import bypass_triggers, findings, run_deferred_checks, sql
from tests.ledgers import posting
from transactions.models import Posting, Transaction

pytestmark = pytest.mark.postgres


def test_a_clean_ledger_reconciles_with_exit_status_0(ledger):
    text = run("reconcile")
    assert text.code == 0, text.out
    assert "Result: clean" in text.out
    assert text.out.count(" ok") == 6

    report = run("reconcile", "--format", "json")
    assert report.code == 0
    assert report.json["result"] == "clean"
    assert [check["discrepancies"] for check in report.json["checks"]] == [0] * 6
    assert report.json["discrepancies"] == []


def test_check_1_a_stored_balance_that_differs_from_its_postings(ledger):
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 500 WHERE id = %s", [ledger.bob.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report, "balances") == [
        {
            "check": "balances",
            "account": str(ledger.bob.public_id),
            "currency": "USD",
            "problem": "stored balance differs from the sum of its postings",
            "expected": "45.25",
            "found": "50.25",
        }
    ]


def test_check_2_a_transaction_whose_postings_do_not_sum_to_zero(ledger):
    """An extra leg on Alice, with her balance and chain kept consistent: only the transaction is wrong."""
    bypass_triggers()
    Posting.objects.create(
        transaction=ledger.deposit,
        account=ledger.alice,
        amount_minor=5,
        balance_after_minor=ledger.alice.balance_minor + 5,
        sequence=ledger.alice.last_sequence + 1,
        created_at=timezone.now(),
    )
    sql(
        "UPDATE accounts_account SET balance_minor = balance_minor + 5, last_sequence = last_sequence + 1 "
        "WHERE id = %s",
        [ledger.alice.pk],
    )

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report, "transactions") == [
        {
            "check": "transactions",
            "transaction": str(ledger.deposit.public_id),
            "currency": "USD",
            "problem": "postings do not sum to zero",
            "expected": "0.00",
            "found": "0.05",
        }
    ]
    assert findings(report, "balances") == []
    assert findings(report, "chains") == []


def test_check_2_a_transaction_with_a_single_posting(ledger):
    bypass_triggers()
    sql(
        "DELETE FROM transactions_posting WHERE transaction_id = %s AND account_id = %s",
        [ledger.withdrawal.pk, ledger.usd_world.pk],
    )

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    problems = {(item["transaction"], item["problem"]) for item in findings(report, "transactions")}
    assert problems == {
        (str(ledger.withdrawal.public_id), "too few postings"),
        (str(ledger.withdrawal.public_id), "postings do not sum to zero"),
    }
    # The money the withdrawal sent out no longer reached the outside world: the currency is off by it.
    [total] = findings(report, "currency_totals")
    assert (total["currency"], total["found"]) == ("USD", format_minor(-ledger.withdrawal.amount_minor, "USD"))


def test_check_2_a_posting_on_an_account_of_another_currency(ledger):
    eur_world = Account.objects.get(is_system=True, currency="EUR")
    bypass_triggers()
    sql(
        "UPDATE transactions_posting SET account_id = %s WHERE transaction_id = %s AND account_id = %s",
        [eur_world.pk, ledger.withdrawal.pk, ledger.usd_world.pk],
    )

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report, "transactions") == [
        {
            "check": "transactions",
            "transaction": str(ledger.withdrawal.public_id),
            "currency": "USD",
            "problem": "1 posting(s) on accounts of another currency",
            "expected": "USD",
            "found": "EUR",
        }
    ]


def test_check_3_a_gap_in_an_accounts_sequence(ledger):
    bypass_triggers()
    sql("DELETE FROM transactions_posting WHERE account_id = %s AND sequence = 2", [ledger.alice.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    gap = [item for item in findings(report, "chains") if item["problem"] == "gap in the sequence"]
    assert gap == [
        {
            "check": "chains",
            "account": str(ledger.alice.public_id),
            "currency": "USD",
            "transaction": str(ledger.reversed_transfer.public_id),
            "sequence": 3,
            "problem": "gap in the sequence",
            "expected": "2",
            "found": "3",
        }
    ]


def test_check_3_a_balance_after_that_does_not_chain(ledger):
    """Posting #2 of Alice claims 69.76 where 100.00 - 30.25 = 69.75: it and the next link break."""
    bypass_triggers()
    sql(
        "UPDATE transactions_posting SET balance_after_minor = 6976 WHERE account_id = %s AND sequence = 2",
        [ledger.alice.pk],
    )

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert [
        (item["sequence"], item["transaction"], item["expected"], item["found"]) for item in findings(report, "chains")
    ] == [
        (2, str(ledger.transfer.public_id), "69.75", "69.76"),
        (3, str(ledger.reversed_transfer.public_id), "68.66", "68.65"),
    ]
    assert {item["account"] for item in findings(report)} == {str(ledger.alice.public_id)}
    assert findings(report, "balances") == []
    assert findings(report, "transactions") == []


def test_check_3_a_chain_that_does_not_end_at_the_stored_state(ledger):
    sql("UPDATE accounts_account SET last_sequence = last_sequence + 1 WHERE id = %s", [ledger.carol.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "chains",
            "account": str(ledger.carol.public_id),
            "currency": "EUR",
            "transaction": str(posting(ledger.carol, 1).transaction.public_id),
            "problem": "stored last_sequence is not the last posting's sequence",
            "expected": "1",
            "found": "2",
        }
    ]


def test_check_4_a_customer_overdrawn_by_postings_that_are_otherwise_consistent(ledger):
    """A withdrawal of 50.00 from Carol's 7.50, written past the service: every other check holds."""
    run_deferred_checks()
    sql("ALTER TABLE accounts_account DROP CONSTRAINT account_customer_balance_not_negative")
    sql("ALTER TABLE accounts_account DROP CONSTRAINT account_available_not_negative")
    eur_world = Account.objects.get(is_system=True, currency="EUR")
    now = timezone.now()
    overdraft = Transaction.objects.create(
        kind="withdrawal", amount_minor=5000, currency="EUR", source_account=ledger.carol,
        posted_by=ledger.carol.owner, created_at=now,
    )  # fmt: skip
    Posting.objects.create(
        transaction=overdraft,
        account=ledger.carol,
        amount_minor=-5000,
        balance_after_minor=ledger.carol.balance_minor - 5000,
        sequence=ledger.carol.last_sequence + 1,
        created_at=now,
    )
    sql(
        "UPDATE accounts_account SET balance_minor = balance_minor - 5000, last_sequence = last_sequence + 1 "
        "WHERE id = %s",
        [ledger.carol.pk],
    )
    # The outside world's leg: appended, numbered nothing, its row untouched (as the service does).
    Posting.objects.create(transaction=overdraft, account=eur_world, amount_minor=5000, created_at=now)

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "non_negative",
            "account": str(ledger.carol.public_id),
            "currency": "EUR",
            "problem": "customer balance below zero",
            "expected": "at least 0.00",
            "found": "-42.50",
        }
    ]


def test_check_5_balances_of_a_currency_that_do_not_sum_to_zero(ledger):
    """A customer's stored balance edited by hand: the currency's customers no longer hold what the
    outside world's postings say came in."""
    sql("UPDATE accounts_account SET balance_minor = balance_minor - 100 WHERE id = %s", [ledger.alice.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report, "currency_totals") == [
        {
            "check": "currency_totals",
            "currency": "USD",
            "problem": "balances of the currency do not sum to zero",
            "expected": "0.00",
            "found": "-1.00",
        }
    ]
    # The stored balance that moved is named too, by the balance checks.
    assert {item["account"] for item in findings(report, "balances")} == {str(ledger.alice.public_id)}


def test_check_1_a_system_account_that_stores_a_balance(ledger):
    run_deferred_checks()
    sql("ALTER TABLE accounts_account DROP CONSTRAINT account_system_keeps_no_balance")
    sql("UPDATE accounts_account SET balance_minor = -100 WHERE id = %s", [ledger.usd_world.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report, "balances") == [
        {
            "check": "balances",
            "account": str(ledger.usd_world.public_id),
            "currency": "USD",
            "problem": "a system account stores a balance (it must keep none)",
            "expected": "0.00",
            "found": "-1.00",
        }
    ]


def test_check_6_a_transaction_marked_reversed_without_a_reversal(ledger):
    bypass_triggers()
    sql("UPDATE transactions_transaction SET status = 'reversed' WHERE id = %s", [ledger.withdrawal.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "reversals",
            "transaction": str(ledger.withdrawal.public_id),
            "currency": "USD",
            "problem": "marked reversed but not reversed exactly once",
            "expected": "1 reversal",
            "found": "0 reversals",
        }
    ]


def test_check_6_a_reversal_whose_original_is_not_marked_reversed(ledger):
    bypass_triggers()
    sql("UPDATE transactions_transaction SET status = 'posted' WHERE id = %s", [ledger.reversed_transfer.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "reversals",
            "transaction": str(ledger.reversal.public_id),
            "currency": "USD",
            "problem": f"its original {ledger.reversed_transfer.public_id} is not marked reversed",
            "expected": "reversed",
            "found": "posted",
        }
    ]


def test_the_text_report_lists_each_discrepancy_with_its_ids(ledger):
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 500 WHERE id = %s", [ledger.bob.pk])

    report = run("reconcile")

    assert report.code == 1
    assert (
        f"[balances] account {ledger.bob.public_id} (USD): stored balance differs from the sum of its postings: "
        "expected 45.25, found 50.25"
    ) in report.out
    assert "1. balances" in report.out
    assert "FAILED: 1 discrepancy" in report.out
    assert "Result: 3 discrepancies" in report.out  # balances, the chain's end, the USD total


def test_account_scope_checks_that_account_only(ledger):
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE id = %s", [ledger.carol.pk])

    assert run("reconcile", "--account", str(ledger.alice.public_id)).code == 0
    carol = run("reconcile", "--account", str(ledger.carol.public_id), "--format", "json")
    assert carol.code == 1
    assert carol.json["scope"] == "account"
    assert carol.json["account"] == str(ledger.carol.public_id)
    assert {item.get("account") for item in findings(carol, "balances")} == {str(ledger.carol.public_id)}

    sql("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE id = %s", [ledger.alice.pk])
    alice = run("reconcile", "--account", str(ledger.alice.public_id), "--format", "json")
    assert alice.code == 1
    assert {item["account"] for item in findings(alice) if "account" in item} == {str(ledger.alice.public_id)}
    assert {item["currency"] for item in findings(alice)} == {"USD"}


def test_since_scope_checks_recently_moved_accounts_and_allows_for_late_commits(ledger):
    """Carol's account last moved two days ago; Bob's posting is stamped 5 minutes before the cutoff,
    as a transaction that committed late would be. The run covers Bob (inside the safety margin),
    not Carol."""
    two_days_ago = timezone.now() - timedelta(days=2)
    bypass_triggers()
    sql("UPDATE transactions_posting SET created_at = %s WHERE account_id = %s", [two_days_ago, ledger.carol.pk])
    sql(
        "UPDATE transactions_transaction SET created_at = %s WHERE id IN "
        "(SELECT transaction_id FROM transactions_posting WHERE account_id = %s)",
        [two_days_ago, ledger.carol.pk],
    )
    since = timezone.now() - timedelta(hours=1)
    late = since - timedelta(minutes=5)
    assert since_margin() > timedelta(minutes=5)
    sql("UPDATE transactions_posting SET created_at = %s WHERE account_id = %s", [late, ledger.bob.pk])
    for account in (ledger.bob, ledger.carol):
        sql("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE id = %s", [account.pk])

    report = run("reconcile", "--since", since.isoformat(), "--format", "json")

    assert report.code == 1
    assert {item["account"] for item in findings(report, "balances")} == {str(ledger.bob.public_id)}
    assert report.json["since"] == (since - since_margin()).isoformat()
    everything = run("reconcile", "--format", "json")
    assert {item["account"] for item in findings(everything, "balances")} == {
        str(ledger.bob.public_id),
        str(ledger.carol.public_id),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "not-a-uuid"], "is not an account id"),
        (["--account", "00000000-0000-4000-8000-000000000000"], "no such account"),
        (["--since", "last tuesday"], "use an ISO date"),
    ],
)
def test_usage_errors_exit_with_status_2(ledger, args, message):
    outcome = run("reconcile", *args)

    assert outcome.code == 2
    assert message in outcome.err
    assert not ReconciliationRun.objects.exists()


def test_every_run_is_recorded_with_its_findings(ledger):
    run("reconcile")
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 500 WHERE id = %s", [ledger.bob.pk])
    run("reconcile", "--account", str(ledger.bob.public_id))

    clean, dirty = ReconciliationRun.objects.order_by("pk")
    assert (clean.scope, clean.result, clean.discrepancy_count, clean.discrepancies) == ("all", "clean", 0, [])
    assert set(clean.checks) == {"balances", "transactions", "chains", "non_negative", "currency_totals", "reversals"}
    assert clean.started_at <= clean.finished_at
    assert clean.run_by.startswith("manage.py reconcile (")
    assert (dirty.scope, dirty.scope_account, dirty.result) == ("account", str(ledger.bob.public_id), "discrepancies")
    assert dirty.discrepancy_count == 3
    assert dirty.checks["balances"]["discrepancies"] == 1
    assert {item["check"] for item in dirty.discrepancies} == {"balances", "chains", "currency_totals"}


def test_a_run_stores_the_first_findings_but_counts_them_all(ledger, monkeypatch):
    monkeypatch.setattr(ReconciliationRun, "MAX_STORED_DISCREPANCIES", 2)
    sql("UPDATE accounts_account SET balance_minor = balance_minor + 1 WHERE NOT is_system")

    report = run("reconcile", "--format", "json")

    recorded = ReconciliationRun.objects.get()
    assert recorded.discrepancy_count == report.json["discrepancy_count"] == 3 + 3 + 2  # balances, chains, totals
    assert len(recorded.discrepancies) == len(report.json["discrepancies"]) == 2
    assert "... and 6 more" in run("reconcile").out

"""``manage.py reconcile``: each of the nine checks catches its own kind of damage, naming it exactly.

Every test starts from a small ledger written through the posting service, breaks one thing
with raw SQL (switching off the append-only triggers, or dropping a CHECK constraint, for
this test's transaction only) and reads the report as an operator would: the exit status
and the discrepancy that names the account or transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, Hold
from harness.commands import run
from ledger.commit_order import IMPORTED
from ledger.money import format_minor
from reconciliation.models import ReconciliationRun
from reconciliation.services import since_margin
from tests.commands.helpers import bypass_triggers, disable_triggers, findings, run_deferred_checks, sql
from tests.ledgers import Ledger, posting
from transactions.holds import hold_capture, hold_create, hold_void, holds_expire
from transactions.models import Posting, Transaction

pytestmark = pytest.mark.postgres


def test_a_clean_ledger_reconciles_with_exit_status_0(ledger):
    text = run("reconcile")
    assert text.code == 0, text.out
    assert "Result: clean" in text.out
    assert text.out.count(" ok") == 10

    report = run("reconcile", "--format", "json")
    assert report.code == 0
    assert report.json["result"] == "clean"
    assert [check["discrepancies"] for check in report.json["checks"]] == [0] * 10
    assert [(check["number"], check["name"]) for check in report.json["checks"]][5:] == [
        (6, "reversals"),
        (7, "reservations"),
        (8, "hold_captures"),
        (9, "captures"),
        (10, "events"),
    ]
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
    """A withdrawal of 50.00 from Carol's 7.50, written past the service (as imported history, so
    without events): every other check holds."""
    run_deferred_checks()
    sql("ALTER TABLE accounts_account DROP CONSTRAINT account_customer_balance_not_negative")
    sql("ALTER TABLE accounts_account DROP CONSTRAINT account_available_not_negative")
    eur_world = Account.objects.get(is_system=True, currency="EUR")
    now = timezone.now()
    overdraft = Transaction.objects.create(
        kind="withdrawal", amount_minor=5000, currency="EUR", source_account=ledger.carol,
        posted_by=ledger.carol.owner, created_at=now, txid=IMPORTED,
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
        },
        {  # No reversal posted, so no event said so.
            "check": "events",
            "transaction": str(ledger.withdrawal.public_id),
            "currency": "USD",
            "problem": "transaction.reversed events of a reversed transaction",
            "expected": "1",
            "found": "0",
        },
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
        },
        {  # Its reversal's event said it was reversed.
            "check": "events",
            "transaction": str(ledger.reversed_transfer.public_id),
            "currency": "USD",
            "problem": "transaction.reversed events of a posted transaction",
            "expected": "0",
            "found": "1",
        },
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
    assert set(clean.checks) == {
        *("balances", "transactions", "chains", "non_negative", "currency_totals", "reversals"),
        *("reservations", "hold_captures", "captures", "events"),
    }
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


# --- holds: checks 7, 8 and 9 ----------------------------------------------------------------


@dataclass
class Holds:
    """The holds of :func:`held`, read back from the database, and their captures."""

    ledger: Ledger
    rent: Hold  # Alice to Bob, 10.00: captured 4.00, then the rest (captured)
    partial: Hold  # Alice, 5.00, no destination: 2.00 captured, still pending (reserves 3.00)
    voided: Hold  # Bob, 1.00: voided
    lapsed: Hold  # Alice, 2.00: 0.50 captured, then it expired (recorded by expire_holds)
    open_eur: Hold  # Carol, 1.50 EUR: pending
    rent_captures: list[Transaction]
    partial_capture: Transaction
    lapsed_capture: Transaction

    def refresh(self) -> None:
        for hold in (self.rent, self.partial, self.voided, self.lapsed, self.open_eur):
            hold.refresh_from_db()


@pytest.fixture
def held(ledger, monkeypatch) -> Holds:
    """The ledger, then holds that lived a normal life, at chosen minutes after now: placed, partly
    captured, captured in full, voided, expired (recorded by ``holds_expire``), and two still pending."""
    start = timezone.now()
    clock = {"now": start}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    alice, bob, carol = ledger.alice, ledger.bob, ledger.carol

    def at(minutes: float) -> None:
        clock["now"] = start + timedelta(minutes=minutes)

    def place(account: Account, amount: str, **kwargs) -> Hold:
        return hold_create(actor=account.owner, account_id=account.public_id, amount=amount, **kwargs)

    def take(hold: Hold, amount: str | None = None) -> Transaction:
        return hold_capture(actor=hold.account.owner, hold_id=hold.public_id, amount=amount)

    at(1)
    rent = place(alice, "10.00", destination_account_id=bob.public_id, expires_at=start + timedelta(hours=1))
    at(2)
    partial = place(alice, "5.00", expires_at=start + timedelta(days=1))
    at(3)
    voided = place(bob, "1.00")
    at(4)
    lapsed = place(alice, "2.00", expires_at=start + timedelta(minutes=30))
    at(5)
    open_eur = place(carol, "1.50")
    at(10)
    rent_captures = [take(rent, "4.00")]
    at(11)
    rent_captures.append(take(rent))
    at(12)
    partial_capture = take(partial, "2.00")
    at(13)
    hold_void(actor=bob.owner, hold_id=voided.public_id)
    at(20)
    lapsed_capture = take(lapsed, "0.50")
    at(45)
    assert holds_expire() == 1
    monkeypatch.undo()
    ledger.refresh()
    holds = Holds(ledger, rent, partial, voided, lapsed, open_eur, rent_captures, partial_capture, lapsed_capture)
    holds.refresh()
    assert [h.status for h in (rent, partial, voided, lapsed, open_eur)] == [
        "captured", "pending", "voided", "expired", "pending",
    ]  # fmt: skip
    assert (alice.reserved_minor, bob.reserved_minor, carol.reserved_minor) == (300, 0, 150)
    return holds


def iso(moment: datetime | None) -> str:
    assert moment is not None
    return moment.isoformat()


def test_holds_that_lived_a_normal_life_reconcile_clean(held):
    for args in ([], ["--account", str(held.ledger.alice.public_id)], ["--since", "1h"]):
        report = run("reconcile", *args, "--format", "json")
        assert report.code == 0, report.out
        assert [check["discrepancies"] for check in report.json["checks"]] == [0] * 10, args
    text = run("reconcile")
    assert "7. reservations" in text.out
    assert "9. captures" in text.out
    assert "Result: clean" in text.out


def test_check_7_a_stored_reservation_that_differs_from_its_pending_holds(held):
    disable_triggers("accounts_account", "account_reservation")
    sql("UPDATE accounts_account SET reserved_minor = reserved_minor + 100 WHERE id = %s", [held.ledger.alice.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "reservations",
            "account": str(held.ledger.alice.public_id),
            "currency": "USD",
            "problem": "stored reservation differs from what its 1 pending hold(s) reserve",
            "expected": "3.00",
            "found": "4.00",
        }
    ]
    # One account's own run finds it too; another's does not.
    assert findings(run("reconcile", "--account", str(held.ledger.alice.public_id), "--format", "json")) != []
    assert run("reconcile", "--account", str(held.ledger.carol.public_id)).code == 0


def test_check_7_a_voided_hold_set_back_to_pending_reserves_what_the_account_does_not(held):
    disable_triggers("accounts_hold", "hold_guard", "hold_reservation")
    sql("UPDATE accounts_hold SET status = 'pending', resolved_at = NULL WHERE id = %s", [held.voided.pk])

    report = run("reconcile", "--since", "1h", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "reservations",
            "account": str(held.ledger.bob.public_id),
            "currency": "USD",
            "problem": "stored reservation differs from what its 1 pending hold(s) reserve",
            "expected": "1.00",
            "found": "0.00",
        }
    ]


def test_check_8_a_hold_that_captured_more_than_its_amount(held):
    disable_triggers("accounts_hold", "hold_guard", "hold_capture_total")
    sql("ALTER TABLE accounts_hold DROP CONSTRAINT hold_captured_within_amount")
    sql("UPDATE accounts_hold SET captured_minor = 1500 WHERE id = %s", [held.rent.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    common = {
        "check": "hold_captures",
        "account": str(held.ledger.alice.public_id),
        "currency": "USD",
        "hold": str(held.rent.public_id),
    }
    assert findings(report) == [
        {**common, "problem": "hold captured more than its amount", "expected": "at most 10.00", "found": "15.00"},
        {
            **common,
            "problem": "captured amount differs from the sum of its 2 capture(s)",
            "expected": "10.00",
            "found": "15.00",
        },
    ]
    # Bob's account run sees it: the hold is to him.
    assert len(findings(run("reconcile", "--account", str(held.ledger.bob.public_id), "--format", "json"))) == 2


def test_check_8_a_captured_amount_that_is_not_the_sum_of_the_captures(held):
    """The pending hold records 1.00 captured where its capture took 2.00: so it also seems to
    reserve 4.00 where Alice's account stores 3.00."""
    disable_triggers("accounts_hold", "hold_guard", "hold_capture_total", "hold_reservation")
    sql("UPDATE accounts_hold SET captured_minor = 100 WHERE id = %s", [held.partial.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    alice = str(held.ledger.alice.public_id)
    assert findings(report) == [
        {
            "check": "reservations",
            "account": alice,
            "currency": "USD",
            "problem": "stored reservation differs from what its 1 pending hold(s) reserve",
            "expected": "4.00",
            "found": "3.00",
        },
        {
            "check": "hold_captures",
            "account": alice,
            "currency": "USD",
            "hold": str(held.partial.public_id),
            "problem": "captured amount differs from the sum of its 1 capture(s)",
            "expected": "2.00",
            "found": "1.00",
        },
    ]


def test_check_9_a_capture_made_after_its_hold_was_resolved(held):
    bypass_triggers()
    late = held.rent.resolved_at + timedelta(minutes=5)
    sql("UPDATE transactions_transaction SET created_at = %s WHERE id = %s", [late, held.rent_captures[0].pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "captures",
            "account": str(held.ledger.alice.public_id),
            "currency": "USD",
            "transaction": str(held.rent_captures[0].public_id),
            "hold": str(held.rent.public_id),
            "problem": "capture made after its hold was resolved (captured)",
            "expected": f"at or before {iso(held.rent.resolved_at)}",
            "found": iso(late),
        }
    ]


def test_check_9_a_capture_made_once_its_hold_had_expired(held):
    bypass_triggers()
    late = held.lapsed.expires_at + timedelta(seconds=1)
    sql("UPDATE transactions_transaction SET created_at = %s WHERE id = %s", [late, held.lapsed_capture.pk])

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report) == [
        {
            "check": "captures",
            "account": str(held.ledger.alice.public_id),
            "currency": "USD",
            "transaction": str(held.lapsed_capture.public_id),
            "hold": str(held.lapsed.public_id),
            "problem": "capture made once its hold had expired",
            "expected": f"before {iso(held.lapsed.expires_at)}",
            "found": iso(late),
        }
    ]


def test_check_9_captures_that_move_money_between_other_accounts_than_their_holds(held):
    """The partial hold's capture (a withdrawal from Alice) turned into a transfer to Bob; the lapsed
    hold's said to come from Bob; its currency changed to EUR. The postings are left as they were."""
    ledger = held.ledger
    bypass_triggers()
    sql(
        "UPDATE transactions_transaction SET kind = 'transfer', destination_account_id = %s WHERE id = %s",
        [ledger.bob.pk, held.partial_capture.pk],
    )
    sql(
        "UPDATE transactions_transaction SET source_account_id = %s, currency = 'EUR' WHERE id = %s",
        [ledger.bob.pk, held.lapsed_capture.pk],
    )

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    alice, bob = str(ledger.alice.public_id), str(ledger.bob.public_id)
    partial = {
        "check": "captures",
        "account": alice,
        "currency": "USD",
        "transaction": str(held.partial_capture.public_id),
        "hold": str(held.partial.public_id),
    }
    lapsed = {
        "check": "captures",
        "account": alice,
        "currency": "EUR",
        "transaction": str(held.lapsed_capture.public_id),
        "hold": str(held.lapsed.public_id),
    }
    assert findings(report, "captures") == [
        {
            **partial,
            "problem": "capture is not the kind its hold makes (withdrawal without destination, else transfer)",
            "expected": "withdrawal",
            "found": "transfer",
        },
        {
            **partial,
            "problem": "capture credits another account than its hold's destination",
            "expected": "none (a withdrawal)",
            "found": bob,
        },
        {**lapsed, "problem": "capture debits another account than its hold's", "expected": alice, "found": bob},
        {**lapsed, "problem": "capture's currency differs from its hold's", "expected": "USD", "found": "EUR"},
    ]
    # Its postings stayed on USD accounts: the transaction check names the currency too.
    assert [(item["transaction"], item["found"]) for item in findings(report, "transactions")] == [
        (str(held.lapsed_capture.public_id), "USD")
    ]
    assert findings(report, "hold_captures") == findings(report, "reservations") == []


def test_the_text_report_names_the_hold(held):
    disable_triggers("accounts_hold", "hold_guard", "hold_capture_total", "hold_reservation")
    sql("UPDATE accounts_hold SET captured_minor = 100 WHERE id = %s", [held.partial.pk])

    report = run("reconcile")

    assert report.code == 1
    assert (
        f"[hold_captures] account {held.ledger.alice.public_id} (USD), hold {held.partial.public_id}: "
        "captured amount differs from the sum of its 1 capture(s): expected 2.00, found 1.00"
    ) in report.out
    assert "8. hold_captures" in report.out


def test_check_10_a_transaction_whose_events_are_missing(ledger):
    disable_triggers("events_event", "event_append_only")
    disable_triggers("events_eventreader", "event_reader_append_only")
    lost = [str(ledger.deposit.public_id), str(ledger.reversed_transfer.public_id)]
    sql(
        "DELETE FROM events_eventreader "
        "WHERE event_id IN (SELECT id FROM events_event WHERE subject_id::text = ANY(%s))",
        [lost],
    )
    sql(
        "DELETE FROM events_event WHERE (type = 'transaction.posted' AND subject_id::text = %s) "
        "OR (type = 'transaction.reversed' AND subject_id::text = %s)",
        lost,
    )

    report = run("reconcile", "--format", "json")

    assert report.code == 1
    assert findings(report, "events") == [
        {
            "check": "events",
            "transaction": lost[0],
            "currency": "USD",
            "problem": "transaction.posted events",
            "expected": "1",
            "found": "0",
        },
        {
            "check": "events",
            "transaction": lost[1],
            "currency": "USD",
            "problem": "transaction.reversed events of a reversed transaction",
            "expected": "1",
            "found": "0",
        },
    ]
    assert findings(run("reconcile", "--account", str(ledger.carol.public_id), "--format", "json")) == []


def test_check_10_leaves_out_imported_history(ledger):
    """Rows written before the outbox existed, or seeded in bulk, carry txid 1 and have no events."""
    disable_triggers("events_event", "event_append_only")
    disable_triggers("events_eventreader", "event_reader_append_only")
    disable_triggers("transactions_transaction", "transaction_append_only")
    sql("DELETE FROM events_eventreader")
    sql("DELETE FROM events_event")
    sql("UPDATE transactions_transaction SET txid = '1' WHERE id <> %s", [ledger.withdrawal.pk])

    report = run("reconcile", "--format", "json")

    assert [finding["transaction"] for finding in findings(report, "events")] == [str(ledger.withdrawal.public_id)]

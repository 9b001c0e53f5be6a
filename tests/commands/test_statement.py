"""``manage.py statement``: opening balance, every posting, closing balance, and the totals tie out.

The ledger is written through the posting service at chosen instants (the service takes
its timestamps from ``django.utils.timezone.now``), and every figure below is worked out
by hand.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account
from harness.commands import run
from ledger.money import format_minor
from tests.commands.helpers import bypass_triggers, sql
from tests.factories import AccountFactory, UserFactory
from transactions.holds import hold_capture, hold_create
from transactions.services import deposit_create, transfer_create, withdrawal_create

pytestmark = pytest.mark.postgres


@pytest.fixture
def history(db, monkeypatch):
    """Alice's USD account, month by month.

    2026-01-10 09:00  deposit     +100.00  -> 100.00   (before February)
    2026-02-01 00:00  deposit      +50.25  -> 150.25   (first instant of February)
    2026-02-14 12:00  transfer     -30.10  -> 120.15   (to Bob)
    2026-02-20 08:30  withdrawal    -5.15  -> 115.00
    2026-02-28 23:59:59.999999  deposit  +1.00 -> 116.00  (last instant of February)
    2026-03-01 00:00  deposit       +7.00  -> 123.00   (after February)
    """
    clock = {"now": datetime(2026, 1, 1, tzinfo=UTC)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    owner = UserFactory()
    alice = AccountFactory(owner=owner, currency="USD", name="Alice")
    bob = AccountFactory(owner=owner, currency="USD", name="Bob")

    def at(moment: datetime, post, **kwargs):
        clock["now"] = moment
        return post(actor=owner, **kwargs)

    txns = [
        at(datetime(2026, 1, 10, 9, tzinfo=UTC), deposit_create, account_id=alice.public_id, amount=Decimal("100.00")),
        at(
            datetime(2026, 2, 1, tzinfo=UTC),
            deposit_create,
            account_id=alice.public_id,
            amount=Decimal("50.25"),
            reference="INV-7",
        ),
        at(
            datetime(2026, 2, 14, 12, tzinfo=UTC),
            transfer_create,
            source_account_id=alice.public_id,
            destination_account_id=bob.public_id,
            amount=Decimal("30.10"),
            description="rent, February",
        ),
        at(
            datetime(2026, 2, 20, 8, 30, tzinfo=UTC),
            withdrawal_create,
            account_id=alice.public_id,
            amount=Decimal("5.15"),
        ),
        at(
            datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
            deposit_create,
            account_id=alice.public_id,
            amount=Decimal("1.00"),
        ),
        at(datetime(2026, 3, 1, tzinfo=UTC), deposit_create, account_id=alice.public_id, amount=Decimal("7.00")),
    ]
    monkeypatch.undo()
    return alice, txns


def test_a_csv_statement_ties_out_against_hand_checked_figures(history):
    alice, txns = history

    outcome = run("statement", str(alice.public_id), "--from", "2026-02-01", "--to", "2026-02-28")

    assert outcome.code == 0, outcome.err
    rows = list(csv.DictReader(io.StringIO(outcome.out)))
    assert [(row["type"], row["amount"], row["balance_after"]) for row in rows] == [
        ("opening", "", "100.00"),
        ("posting", "50.25", "150.25"),
        ("posting", "-30.10", "120.15"),
        ("posting", "-5.15", "115.00"),
        ("posting", "1.00", "116.00"),
        ("credits", "51.25", ""),
        ("debits", "-35.25", ""),
        ("closing", "16.00", "116.00"),
    ]
    postings = rows[1:5]
    assert [row["transaction_id"] for row in postings] == [str(txn.public_id) for txn in txns[1:5]]
    assert [row["kind"] for row in postings] == ["deposit", "transfer", "withdrawal", "deposit"]
    assert [row["sequence"] for row in postings] == ["2", "3", "4", "5"]
    assert postings[0]["reference"] == "INV-7"
    assert postings[1]["description"] == "rent, February"
    assert rows[0]["created_at"] == "2026-02-01T00:00:00+00:00"
    assert rows[-1]["created_at"] == "2026-03-01T00:00:00+00:00"
    # Opening + every posting = closing.
    opening, closing = Decimal(rows[0]["balance_after"]), Decimal(rows[-1]["balance_after"])
    assert opening + sum(Decimal(row["amount"]) for row in postings) == closing


def test_a_json_statement_carries_the_same_figures(history):
    alice, txns = history

    statement = run(
        "statement", str(alice.public_id), "--from", "2026-02-01", "--to", "2026-02-28", "--format", "json"
    ).json

    assert statement["account"] == str(alice.public_id)
    assert statement["currency"] == "USD"
    assert statement["opening_balance"] == "100.00"
    assert statement["closing_balance"] == "116.00"
    assert statement["totals"] == {
        "credits": "51.25",
        "debits": "-35.25",
        "net": "16.00",
        "credit_postings": 2,
        "debit_postings": 2,
    }
    assert [(p["amount"], p["balance_after"]) for p in statement["postings"]] == [
        ("50.25", "150.25"),
        ("-30.10", "120.15"),
        ("-5.15", "115.00"),
        ("1.00", "116.00"),
    ]
    assert statement["postings"][1]["transaction_id"] == str(txns[2].public_id)


def test_datetime_bounds_and_an_empty_period(history):
    alice, _ = history

    afternoon = run(
        "statement", str(alice.public_id), "--from", "2026-02-14T12:00:00Z", "--to", "2026-02-20T08:30:00Z", "-v0",
        "--format", "json",
    ).json  # fmt: skip
    quiet = run(
        "statement", str(alice.public_id), "--from", "2026-01-11", "--to", "2026-01-31", "--format", "json"
    ).json

    assert [p["amount"] for p in afternoon["postings"]] == ["-30.10", "-5.15"]  # --to includes that instant
    assert (afternoon["opening_balance"], afternoon["closing_balance"]) == ("150.25", "115.00")
    assert quiet["postings"] == []
    assert quiet["opening_balance"] == quiet["closing_balance"] == "100.00"


def test_a_statement_to_a_future_day_ends_now_with_todays_balance(history):
    """The books say nothing about a later instant: a --to in the future ends the statement now."""
    alice, _ = history
    before = timezone.now()
    outcome = run("statement", str(alice.public_id), "--from", "2026-01-01", "--to", "9999-12-31", "--format", "json")
    assert outcome.code == 0, outcome.err
    statement = outcome.json
    ends = datetime.fromisoformat(statement["before"])
    assert before <= ends <= timezone.now()
    assert statement["closing_balance"] == format_minor(Account.objects.get(pk=alice.pk).balance_minor, alice.currency)


def test_a_statement_that_does_not_tie_out_fails_loudly(history):
    alice, _ = history
    bypass_triggers()
    sql(
        "UPDATE transactions_posting SET balance_after_minor = 12016 WHERE account_id = %s AND sequence = 3", [alice.pk]
    )

    outcome = run("statement", str(alice.public_id), "--from", "2026-02-01", "--to", "2026-02-28")

    assert outcome.code == 1
    assert outcome.out == ""
    assert "balance_after does not follow from the previous balance at postings #3, #4" in outcome.err


def test_a_closing_balance_that_does_not_follow_from_the_postings_prints_nothing(history):
    alice, _ = history
    bypass_triggers()
    sql("UPDATE transactions_posting SET amount_minor = 200 WHERE account_id = %s AND sequence = 5", [alice.pk])

    outcome = run("statement", str(alice.public_id), "--from", "2026-02-01", "--to", "2026-02-28")

    assert outcome.code == 1
    assert outcome.out == ""
    assert "opening 100.00 + credits 52.25 + debits -35.25 = 117.00, but the closing balance is 116.00" in outcome.err


@pytest.mark.parametrize(
    "args",
    [
        ["00000000-0000-4000-8000-000000000000", "--from", "2026-02-01", "--to", "2026-02-28"],
        ["not-an-id", "--from", "2026-02-01", "--to", "2026-02-28"],
        ["{alice}", "--from", "February", "--to", "2026-02-28"],
        ["{alice}", "--from", "2026-03-01", "--to", "2026-02-28"],
    ],
)
def test_usage_errors_exit_with_status_2(history, args):
    alice, _ = history

    outcome = run("statement", *(arg.format(alice=alice.public_id) for arg in args))

    assert outcome.code == 2
    assert outcome.out == ""


def test_the_system_accounts_statement_counts_its_running_balance_itself(history):
    """The outside world keeps no running balance: its statement counts one from its postings.

    Alice's deposits and withdrawal are the USD world's postings (the transfer to Bob is not):
    before February it had paid out 100.00; in February -50.25, +5.15 and -1.00.
    """
    world = Account.objects.get(is_system=True, currency="USD")

    outcome = run("statement", str(world.public_id), "--from", "2026-02-01", "--to", "2026-02-28")

    assert outcome.code == 0, outcome.err
    rows = list(csv.DictReader(io.StringIO(outcome.out)))
    assert [(row["type"], row["sequence"], row["amount"], row["balance_after"]) for row in rows] == [
        ("opening", "", "", "-100.00"),
        ("posting", "", "-50.25", "-150.25"),
        ("posting", "", "5.15", "-145.10"),
        ("posting", "", "-1.00", "-146.10"),
        ("credits", "", "5.15", ""),
        ("debits", "", "-51.25", ""),
        ("closing", "", "-46.10", "-146.10"),
    ]
    # Its closing balance, at the end of the history, is the negative of what its customers hold:
    # Alice 123.00 and Bob 30.10.
    latest = run("statement", str(world.public_id), "--from", "2026-01-01", "--to", "2026-03-31")
    assert list(csv.DictReader(io.StringIO(latest.out)))[-1]["balance_after"] == "-153.10"


def test_a_capture_shows_as_a_capture_of_its_hold_and_the_statement_still_ties_out(db, monkeypatch):
    """In April Alice took 100.00 in; a hold of 40.00 for Bob was captured in two parts (15.00,
    then the rest), one of 5.00 without destination in one; she then withdrew 1.00."""
    clock = {"now": datetime(2026, 4, 1, tzinfo=UTC)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    owner = UserFactory()
    alice = AccountFactory(owner=owner, currency="USD", name="Alice")
    bob = AccountFactory(owner=UserFactory(), currency="USD", name="Bob")

    def at(day: int, hour: int = 0) -> None:
        clock["now"] = datetime(2026, 4, day, hour, tzinfo=UTC)

    at(1, 9)
    deposit_create(actor=owner, account_id=alice.public_id, amount=Decimal("100.00"))
    at(2, 9)
    flat = hold_create(
        actor=owner,
        account_id=alice.public_id,
        destination_account_id=bob.public_id,
        amount="40.00",
        description="deposit on a flat",
    )
    at(2, 10)
    first = hold_capture(actor=owner, hold_id=flat.public_id, amount="15.00")
    at(3, 10)
    rest = hold_capture(actor=owner, hold_id=flat.public_id)
    at(4, 9)
    cash = hold_create(actor=owner, account_id=alice.public_id, amount="5.00")
    at(5, 9)
    taken = hold_capture(actor=owner, hold_id=cash.public_id, amount="5.00", description="cash at the desk")
    at(6, 9)
    withdrawal = withdrawal_create(actor=owner, account_id=alice.public_id, amount=Decimal("1.00"))
    monkeypatch.undo()

    outcome = run("statement", str(alice.public_id), "--from", "2026-04-01", "--to", "2026-04-30")

    assert outcome.code == 0, outcome.err
    rows = list(csv.DictReader(io.StringIO(outcome.out)))
    postings = [row for row in rows if row["type"] == "posting"]
    assert [(row["kind"], row["hold_id"], row["amount"], row["balance_after"]) for row in postings] == [
        ("deposit", "", "100.00", "100.00"),
        ("capture", str(flat.public_id), "-15.00", "85.00"),
        ("capture", str(flat.public_id), "-25.00", "60.00"),
        ("capture", str(cash.public_id), "-5.00", "55.00"),
        ("withdrawal", "", "-1.00", "54.00"),
    ]
    assert [row["transaction_id"] for row in postings[1:]] == [
        str(txn.public_id) for txn in (first, rest, taken, withdrawal)
    ]
    descriptions = [row["description"] for row in postings[1:4]]
    assert descriptions == ["deposit on a flat", "deposit on a flat", "cash at the desk"]
    # The tie-out is unchanged: captures are postings like the others.
    opening, closing = Decimal(rows[0]["balance_after"]), Decimal(rows[-1]["balance_after"])
    assert (opening, closing) == (Decimal("0.00"), Decimal("54.00"))
    assert opening + sum(Decimal(row["amount"]) for row in postings) == closing
    assert [(row["type"], row["amount"]) for row in rows[-3:]] == [
        ("credits", "100.00"),
        ("debits", "-46.00"),
        ("closing", "54.00"),
    ]

    payee = run("statement", str(bob.public_id), "--from", "2026-04-01", "--to", "2026-04-30", "--format", "json").json
    assert [(p["kind"], p["hold_id"], p["amount"], p["balance_after"]) for p in payee["postings"]] == [
        ("capture", str(flat.public_id), "15.00", "15.00"),
        ("capture", str(flat.public_id), "25.00", "40.00"),
    ]
    assert payee["closing_balance"] == "40.00"
    world = run(
        "statement", str(Account.objects.get(is_system=True, currency="USD").public_id),
        "--from", "2026-04-01", "--to", "2026-04-30", "--format", "json",
    ).json  # fmt: skip
    assert [(p["kind"], p["hold_id"]) for p in world["postings"]] == [
        ("deposit", None),
        ("capture", str(cash.public_id)),
        ("withdrawal", None),
    ]

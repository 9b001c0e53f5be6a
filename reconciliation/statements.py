"""An account's statement as people read it: the rows, their columns, the CSV, and the tie-out it must pass.

One definition for every interface that shows a statement (``manage.py statement``, the
console's statement page and its CSV download). A statement covers ``[start, end)``: the
opening balance at ``start``, every posting in sequence order with its counterparty and the
balance after it, the credit and debit totals, and the closing balance. It is only shown if it
ties out: opening + credits + debits = closing, and each ``balance_after`` follows from the one
before (:func:`checked_summary`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Protocol

from django.utils import timezone

from accounts.models import Account
from ledger.money import format_minor
from ledger.spreadsheets import LineBuffer, spreadsheet_safe
from reconciliation.selectors import (
    StatementSummary,
    counterparty,
    statement_breaks,
    statement_postings,
    statement_summary,
)

COLUMNS = [
    "type",
    "created_at",
    "sequence",
    "transaction_id",
    "kind",
    "description",
    "reference",
    "counterparty_id",
    "counterparty",
    "amount",
    "balance_after",
    "hold_id",
]
CAPTURE_KIND = "capture"  # The kind a posting of a hold's capture shows, with the hold's id in hold_id.
OutputRow = dict[str, str | int | None]  # a posting as a line of the statement (COLUMNS but "type")


def day_start(day: date) -> datetime:
    """Return the instant ``day`` begins in the current time zone: where a statement from that day starts."""
    return timezone.make_aware(datetime.combine(day, time.min))


def period_end(last_day: date) -> datetime:
    """Return where a statement through ``last_day`` (inclusive) ends: the next day's start, now at the latest.

    Today or later ends now: the closing balance is the one of this instant (9999-12-31 too,
    whose next day no datetime holds).
    """
    now = timezone.now()
    if last_day >= timezone.localdate(now):
        return now
    return min(now, day_start(last_day + timedelta(days=1)))


class _Writer(Protocol):
    def write(self, text: str, /) -> object: ...


class StatementDoesNotTieOut(Exception):
    """The account's postings do not add up over the period: show nothing, reconcile first."""


def checked_summary(*, account: Account, start: datetime, end: datetime) -> StatementSummary:
    """Return the statement's totals, or raise ``StatementDoesNotTieOut`` saying where it does not add up.

    Call it inside one snapshot (``reconciliation.services.read_snapshot``) with the rows read
    after it, so that both see the same postings.
    """
    summary = statement_summary(account=account, start=start, end=end)

    def money(minor: int) -> str:
        return format_minor(minor, account.currency)

    if not summary.ties_out:
        raise StatementDoesNotTieOut(
            f"The statement of {account.public_id} does not tie out: opening {money(summary.opening)} "
            f"+ credits {money(summary.credits)} + debits {money(summary.debits)} "
            f"= {money(summary.opening + summary.net)}, but the closing balance is {money(summary.closing)}. "
            "Run `manage.py reconcile --account` to see where."
        )
    breaks = statement_breaks(account=account, start=start, end=end, opening=summary.opening)
    if breaks:
        raise StatementDoesNotTieOut(
            f"The statement of {account.public_id} does not tie out: balance_after does not follow from the "
            f"previous balance at postings {', '.join(f'#{s}' for s in breaks[:20])}. "
            "Run `manage.py reconcile --account` to see why."
        )
    return summary


def statement_rows(*, account: Account, start: datetime, end: datetime, opening: int) -> Iterator[OutputRow]:
    """Stream the period's postings as statement rows, money in the currency's digits.

    A hold's capture shows kind ``capture`` and the hold's id: it moves the money the hold
    reserved (it adds to the balance all the same).
    """
    for posting in statement_postings(account=account, start=start, end=end, opening=opening):
        hold = posting["transaction__hold__public_id"]
        other_id, other_name = counterparty(posting)
        yield {
            "created_at": posting["created_at"].isoformat(),
            "sequence": posting["sequence"],
            "transaction_id": str(posting["transaction__public_id"]),
            "kind": posting["transaction__kind"] if hold is None else CAPTURE_KIND,
            "description": posting["transaction__description"],
            "reference": posting["transaction__reference"],
            "counterparty_id": None if other_id is None else str(other_id),
            "counterparty": other_name,
            "amount": format_minor(posting["amount_minor"], account.currency),
            "balance_after": format_minor(posting["balance_after_minor"], account.currency),
            "hold_id": None if hold is None else str(hold),
        }


FREE_TEXT = ("description", "reference", "counterparty")


def csv_lines(
    *,
    account: Account,
    start: datetime,
    end: datetime,
    summary: StatementSummary,
    rows: Iterable[OutputRow],
) -> Iterator[str]:
    """Yield the statement as CSV lines: the header, the opening balance, each posting, the totals, the closing balance.

    Lazily, one line per row read, so a statement of millions of postings streams. Client text
    is made spreadsheet-safe (:func:`spreadsheet_safe`).
    """

    def money(minor: int) -> str:
        return format_minor(minor, account.currency)

    writer = csv.DictWriter(LineBuffer(), fieldnames=COLUMNS, lineterminator="\n")
    yield writer.writeheader()  # LineBuffer.write returns the line.
    yield writer.writerow(
        {"type": "opening", "created_at": start.isoformat(), "description": "Opening balance",
         "balance_after": money(summary.opening)}
    )  # fmt: skip
    for row in rows:
        yield writer.writerow(
            {"type": "posting", **{k: spreadsheet_safe(v) if k in FREE_TEXT else v for k, v in row.items()}}
        )
    yield writer.writerow(
        {"type": "credits", "description": f"Total credits ({summary.credit_count} postings)",
         "amount": money(summary.credits)}
    )  # fmt: skip
    yield writer.writerow(
        {"type": "debits", "description": f"Total debits ({summary.debit_count} postings)",
         "amount": money(summary.debits)}
    )  # fmt: skip
    yield writer.writerow(
        {"type": "closing", "created_at": end.isoformat(), "description": "Closing balance",
         "amount": money(summary.net), "balance_after": money(summary.closing)}
    )  # fmt: skip


def write_csv(out: _Writer, **statement: object) -> None:
    """Write :func:`csv_lines` of the statement (its keyword arguments) to ``out``."""
    for line in csv_lines(**statement):  # type: ignore[arg-type]
        out.write(line)

"""``python manage.py statement ACCOUNT --from DATE --to DATE``: an account statement that ties out."""

from __future__ import annotations

import csv
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Account
from ledger.instants import parse_day, parse_instant
from ledger.money import format_minor
from reconciliation.selectors import StatementSummary, statement_breaks, statement_postings, statement_summary
from reconciliation.services import read_snapshot

EXIT_DOES_NOT_TIE_OUT, EXIT_USAGE = 1, 2
Money = Callable[[int], str]  # minor units -> the account's currency, formatted
OutputRow = dict[str, str | int | None]  # a posting as a line of the statement (COLUMNS but "type")
COLUMNS = [
    "type",
    "created_at",
    "sequence",
    "transaction_id",
    "kind",
    "description",
    "reference",
    "amount",
    "balance_after",
    "hold_id",
]
CAPTURE_KIND = "capture"  # The kind a posting of a hold's capture shows, with the hold's id in hold_id.


def parse_bound(value: str, *, option: str, end: bool) -> datetime:
    """Parse ``--from`` or ``--to`` (``end``): an ISO date or datetime.

    A date means the start of that day, or for ``--to`` the start of the next.

    A ``--to`` in the future ends the statement now: the closing balance is the one of that instant.
    """
    try:
        try:
            day = parse_day(value)
        except ValueError:
            moment = parse_instant(value)
            if end:
                moment += timedelta(microseconds=1)  # A --to datetime includes postings made at that instant.
        else:
            if end and day >= timezone.localdate():
                return timezone.now()  # Today or later (9999-12-31 too, whose next day no datetime holds).
            moment = timezone.make_aware(datetime.combine(day + timedelta(days=1) if end else day, time.min))
    except (ValueError, OverflowError):
        raise CommandError(
            f"{option} {value!r}: use an ISO date (2026-11-30) or datetime.", returncode=EXIT_USAGE
        ) from None
    return min(moment, timezone.now()) if end else moment


class Command(BaseCommand):
    help = (
        "Print an account's statement: the opening balance, every posting of the period in sequence order "
        "(transaction id, kind, description, reference, amount, balance after; a hold's capture shows kind "
        "'capture' and the hold's id) and the closing balance, "
        "with the credit and debit totals. --from and --to are ISO dates or datetimes, both inclusive: "
        "--to 2026-11-30 covers that whole day. The statement is read in one snapshot and must tie out "
        "(opening + credits + debits = closing, and each balance_after follows from the one before); "
        "if it does not, nothing is printed and the exit status is 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account", metavar="ACCOUNT", help="the account's public id")
        parser.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (or instant)")
        parser.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day (or instant), inclusive")
        parser.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default csv)")

    def handle(self, *args: str, **options: Any) -> None:
        start = parse_bound(options["start"], option="--from", end=False)
        end = parse_bound(options["end"], option="--to", end=True)
        if end <= start:
            raise CommandError("--to is before --from.", returncode=EXIT_USAGE)
        try:
            account = Account.objects.get(public_id=uuid.UUID(options["account"]))
        except (ValueError, Account.DoesNotExist):
            raise CommandError(f"{options['account']!r}: no such account.", returncode=EXIT_USAGE) from None

        def money(minor: int) -> str:
            return format_minor(minor, account.currency)

        with read_snapshot():
            summary = statement_summary(account=account, start=start, end=end)
            if not summary.ties_out:
                raise CommandError(
                    f"The statement of {account.public_id} does not tie out: opening {money(summary.opening)} "
                    f"+ credits {money(summary.credits)} + debits {money(summary.debits)} "
                    f"= {money(summary.opening + summary.net)}, but the closing balance is {money(summary.closing)}. "
                    "Run `manage.py reconcile --account` to see where.",
                    returncode=EXIT_DOES_NOT_TIE_OUT,
                )
            breaks = statement_breaks(account=account, start=start, end=end, opening=summary.opening)
            if breaks:
                raise CommandError(
                    f"The statement of {account.public_id} does not tie out: balance_after does not follow from the "
                    f"previous balance at postings {', '.join(f'#{s}' for s in breaks[:20])}. "
                    "Run `manage.py reconcile --account` to see why.",
                    returncode=EXIT_DOES_NOT_TIE_OUT,
                )
            rows = self._rows(account, start, end, summary.opening, money)
            try:
                if options["format"] == "json":
                    self._write_json(account, start, end, summary, rows, money)
                else:
                    self._write_csv(start, end, summary, rows, money)
            except BrokenPipeError:  # The reader stopped early (`| head`): end quietly, as command-line tools do.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise SystemExit(1) from None

    def _rows(
        self, account: Account, start: datetime, end: datetime, opening: int, money: Money
    ) -> Iterator[OutputRow]:
        """Yield the postings as output rows (already checked to tie out, in this snapshot)."""
        for posting in statement_postings(account=account, start=start, end=end, opening=opening):
            hold = posting["transaction__hold__public_id"]
            yield {
                "created_at": posting["created_at"].isoformat(),
                "sequence": posting["sequence"],
                "transaction_id": str(posting["transaction__public_id"]),
                # A capture moves the money a hold reserved: shown as such, with its hold, not as a bare
                # withdrawal or transfer (it adds to the balance all the same).
                "kind": posting["transaction__kind"] if hold is None else CAPTURE_KIND,
                "description": posting["transaction__description"],
                "reference": posting["transaction__reference"],
                "amount": money(posting["amount_minor"]),
                "balance_after": money(posting["balance_after_minor"]),
                "hold_id": None if hold is None else str(hold),
            }

    def _write_csv(
        self, start: datetime, end: datetime, summary: StatementSummary, rows: Iterable[OutputRow], money: Money
    ) -> None:
        """Write the statement as CSV: the opening balance, each posting, the totals, the closing balance."""
        writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(
            {
                "type": "opening",
                "created_at": start.isoformat(),
                "description": "Opening balance",
                "balance_after": money(summary.opening),
            }
        )
        for row in rows:
            writer.writerow({"type": "posting", **row})
        writer.writerow(
            {
                "type": "credits",
                "description": f"Total credits ({summary.credit_count} postings)",
                "amount": money(summary.credits),
            }
        )
        writer.writerow(
            {
                "type": "debits",
                "description": f"Total debits ({summary.debit_count} postings)",
                "amount": money(summary.debits),
            }
        )
        writer.writerow(
            {
                "type": "closing",
                "created_at": end.isoformat(),
                "description": "Closing balance",
                "amount": money(summary.net),
                "balance_after": money(summary.closing),
            }
        )

    def _write_json(
        self,
        account: Account,
        start: datetime,
        end: datetime,
        summary: StatementSummary,
        rows: Iterable[OutputRow],
        money: Money,
    ) -> None:
        """Write the statement as one JSON document, streaming its postings."""
        head = {
            "account": str(account.public_id),
            "name": account.name,
            "currency": account.currency,
            "from": start.isoformat(),
            "before": end.isoformat(),
            "opening_balance": money(summary.opening),
        }
        tail = {
            "totals": {
                "credits": money(summary.credits),
                "debits": money(summary.debits),
                "net": money(summary.net),
                "credit_postings": summary.credit_count,
                "debit_postings": summary.debit_count,
            },
            "closing_balance": money(summary.closing),
        }
        # Streamed: a system account's statement can hold millions of postings.
        self.stdout.write(json.dumps(head, indent=2)[:-2] + ',\n  "postings": [', ending="")
        separator = "\n"
        for row in rows:
            self.stdout.write(separator + "    " + json.dumps(row), ending="")
            separator = ",\n"
        self.stdout.write("\n  ],\n" + json.dumps(tail, indent=2)[2:])

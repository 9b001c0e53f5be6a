"""``python manage.py statement ACCOUNT --from DATE --to DATE``: an account statement that ties out."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Account
from ledger.instants import parse_day, parse_instant
from ledger.money import format_minor
from reconciliation.selectors import StatementSummary
from reconciliation.services import read_snapshot
from reconciliation.statements import (
    OutputRow,
    StatementDoesNotTieOut,
    checked_summary,
    day_start,
    period_end,
    statement_rows,
    write_csv,
)

EXIT_DOES_NOT_TIE_OUT, EXIT_USAGE = 1, 2
Money = Callable[[int], str]  # minor units -> the account's currency, formatted


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
            return period_end(day) if end else day_start(day)
    except (ValueError, OverflowError):
        raise CommandError(
            f"{option} {value!r}: use an ISO date (2026-11-30) or datetime.", returncode=EXIT_USAGE
        ) from None
    return min(moment, timezone.now()) if end else moment


class Command(BaseCommand):
    help = (
        "Print an account's statement: the opening balance, every posting of the period in sequence order "
        "(transaction id, kind, description, reference, counterparty, amount, balance after; a hold's capture "
        "shows kind 'capture' and the hold's id) and the closing balance, "
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
            try:
                summary = checked_summary(account=account, start=start, end=end)
            except StatementDoesNotTieOut as exc:
                raise CommandError(str(exc), returncode=EXIT_DOES_NOT_TIE_OUT) from None
            rows = statement_rows(account=account, start=start, end=end, opening=summary.opening)
            try:
                if options["format"] == "json":
                    self._write_json(account, start, end, summary, rows, money)
                else:
                    write_csv(self.stdout, account=account, start=start, end=end, summary=summary, rows=rows)
            except BrokenPipeError:  # The reader stopped early (`| head`): end quietly, as command-line tools do.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise SystemExit(1) from None

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

"""``python manage.py reconcile``: prove that the books are right, or list exactly what is wrong."""

from __future__ import annotations

import json
import re
import sys
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from accounts.models import Account
from ledger.instants import parse_day, parse_instant
from reconciliation.checks import CHECKS, Check, CheckResult, Scope
from reconciliation.models import ReconciliationRun
from reconciliation.services import RunOutcome, command_operator_label, reconciliation_run, since_margin

EXIT_CLEAN, EXIT_DISCREPANCIES, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

_DURATION = re.compile(r"([0-9]{1,9}) ?([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> datetime:
    """Parse ``--since``: an ISO date (midnight, in the project's time zone), an ISO datetime, or an age.

    An age is a whole number of seconds, minutes, hours or days: ``90m``, ``24h``, ``7d``.
    """
    text = value.strip()
    match = _DURATION.fullmatch(text)
    try:
        if match:
            return timezone.now() - timedelta(**{_UNITS[match[2]]: int(match[1])})
        try:
            day = parse_day(text)
        except ValueError:
            return parse_instant(text)
        return timezone.make_aware(datetime(day.year, day.month, day.day))
    except (ValueError, OverflowError):
        raise CommandError(
            f"--since {value!r}: use an ISO date (2026-11-21), datetime (2026-11-21T06:00:00Z) "
            "or an age (90m, 24h, 7d).",
            returncode=EXIT_USAGE,
        ) from None


class Command(BaseCommand):
    help = (
        "Check the books with set-based SQL in one read-only snapshot that blocks no writer: "
        "(1) stored balances equal the sums of postings, (2) every transaction's postings sum to zero, "
        "(3) each account's postings have gap-free sequences with chained balance_after ending at the "
        "stored balance, (4) no customer account is below zero, (5) per currency all balances sum to zero, "
        "(6) reversal links agree both ways, (7) each account's stored reservation equals what its pending "
        "holds reserve, (8) no hold captured more than its amount and each hold's captured amount is the sum "
        "of its captures, (9) every capture matches its hold (its accounts, kind and currency, made while "
        "the hold was pending). Every run is recorded (admin: Reconciliation runs). "
        "Exit status: 0 clean, 1 discrepancies found (each listed), 2 usage error, 3 the checks could not run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--account", metavar="ID", help="check one account (its public id) and its transactions")
        scope.add_argument(
            "--since",
            metavar="WHEN",
            help=(
                "check only accounts with postings made since WHEN (their full history) and transactions "
                "made since WHEN: an ISO date or datetime, or an age such as 24h. The cutoff is moved back by "
                f"a safety margin ({since_margin()} with these settings): a posting is timestamped before "
                "its transaction commits, and statement_timeout (LEDGER_STATEMENT_TIMEOUT_MS) and the 60 s "
                "idle-in-transaction timeout bound how much later it can become visible."
            ),
        )
        parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")

    def handle(self, *args: str, **options: Any) -> None:
        scope = self._scope(options)
        show_progress = options["verbosity"] > 0 and sys.stderr.isatty()
        try:
            outcome = reconciliation_run(
                scope=scope,
                run_by=command_operator_label("reconcile"),
                progress=self._progress if show_progress else None,
            )
        except DatabaseError as exc:
            raise CommandError(f"the checks could not run: {exc}", returncode=EXIT_ERROR) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(_as_json(outcome), indent=2))
        else:
            self._write_text(outcome)
        if outcome.run.discrepancy_count:
            sys.stdout.flush()
            raise SystemExit(EXIT_DISCREPANCIES)

    def _scope(self, options: dict[str, Any]) -> Scope:
        """Return the scope the options ask for: one account, what moved since a time, or everything."""
        if options["account"]:
            try:
                public_id = uuid.UUID(options["account"])
            except ValueError:
                raise CommandError(
                    f"--account {options['account']!r} is not an account id.", returncode=EXIT_USAGE
                ) from None
            account = Account.objects.filter(public_id=public_id).values("pk", "currency").first()
            if account is None:
                raise CommandError(f"--account {public_id}: no such account.", returncode=EXIT_USAGE)
            return Scope(kind="account", account_pk=account["pk"], currency=account["currency"])
        if options["since"]:
            return Scope(kind="since", cutoff=parse_since(options["since"]) - since_margin())
        return Scope()

    def _progress(self, check: Check, seconds: float | None, result: CheckResult | None) -> None:
        """Show on standard error that ``check`` starts, or (with its ``result``) how it ended."""
        if result is None:
            self.stderr.write(f"check {check.number}/{len(CHECKS)}: {check.title}...", ending="", style_func=_plain)
        else:
            verdict = "ok" if not result.count else _discrepancies(result.count)
            self.stderr.write(f" {verdict} ({seconds:.1f}s)", style_func=_plain)
        self.stderr.flush()

    def _write_text(self, outcome: RunOutcome) -> None:
        """Write the run for a person: its scope, each check's verdict, the discrepancies listed."""
        run = outcome.run
        if run.scope == ReconciliationRun.Scope.SINCE:
            scope = f"accounts and transactions since {run.since:%Y-%m-%d %H:%M:%S %Z} (margin included)"
        elif run.scope == ReconciliationRun.Scope.ACCOUNT:
            scope = f"account {run.scope_account}"
        else:
            scope = "all accounts"
        write = self.stdout.write
        write(f"Reconciliation run {run.pk}: {scope}, started {run.started_at:%Y-%m-%d %H:%M:%S %Z}")
        for check, result in zip(CHECKS, outcome.results, strict=True):
            verdict = "ok" if not result.count else f"FAILED: {_discrepancies(result.count)}"
            write(f"  {check.number:>2}. {check.name:<16} {check.title:<45} {verdict}")
        if run.discrepancy_count:
            shown = [d for result in outcome.results for d in result.discrepancies][: len(run.discrepancies)]
            write("")
            for discrepancy in shown:
                write(f"  {discrepancy.describe()}")
            if run.discrepancy_count > len(shown):
                write(f"  ... and {run.discrepancy_count - len(shown):,} more (the first {len(shown):,} are listed)")
            write("")
            write(f"Result: {_discrepancies(run.discrepancy_count)} ({run.duration_seconds:.1f}s).")
        else:
            write(f"Result: clean ({run.duration_seconds:.1f}s).")


def _as_json(outcome: RunOutcome) -> dict[str, Any]:
    """Return the run as the document ``--format json`` prints."""
    run = outcome.run
    listed = [d.as_dict() for result in outcome.results for d in result.discrepancies][: len(run.discrepancies)]
    return {
        "run": run.pk,
        "scope": run.scope,
        "account": run.scope_account or None,
        "since": run.since.isoformat() if run.since else None,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "result": run.result,
        "checks": [
            {
                "number": check.number,
                "name": check.name,
                "title": check.title,
                "discrepancies": result.count,
                "seconds": run.checks.get(check.name, {}).get("seconds"),
            }
            for check, result in zip(CHECKS, outcome.results, strict=True)
        ],
        "discrepancy_count": run.discrepancy_count,
        "discrepancies": listed,
    }


def _plain(message: str) -> str:
    """Return ``message`` unstyled (progress lines are not errors)."""
    return message


def _discrepancies(count: int) -> str:
    """Return ``count`` discrepancies in words: ``1 discrepancy``, ``1,234 discrepancies``."""
    return f"{count:,} discrepanc{'y' if count == 1 else 'ies'}"

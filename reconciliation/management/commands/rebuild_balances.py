"""``python manage.py rebuild_balances [--apply --reason TEXT]``: stored balances back to what the postings say."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from ledger.money import format_minor
from reconciliation.services import BalanceDrift, balance_drifts, balances_rebuild, command_operator_label

EXIT_UNREPAIRABLE, EXIT_USAGE = 1, 2


def _money(minor: int, currency: str) -> str:
    """Return an amount with its currency (raw minor units for a currency no longer configured)."""
    try:
        return f"{format_minor(minor, currency)} {currency}"
    except KeyError:
        return f"{minor} minor units of {currency}"


class Command(BaseCommand):
    help = (
        "Recompute stored account balances (and last_sequence) from the postings, which are the truth. "
        "A dry run by default: it prints each account that would change, stored versus computed. "
        "--apply changes them in one transaction, under the same row locks as the posting service "
        "(ascending id, FOR UPDATE), recomputing under the locks, with one audit record per account "
        "changed; it needs --reason. Refuses (exit 1, nothing changed) when a customer account's "
        "postings sum below zero: then the postings themselves are wrong; see `reconcile`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", metavar="ID", help="only this account (its public id)")
        parser.add_argument("--apply", action="store_true", help="change the balances (default: dry run)")
        parser.add_argument("--reason", default="", help="why, for the audit trail (required with --apply)")

    def handle(self, *args: str, **options: Any) -> None:
        if options["apply"] and not options["reason"].strip():
            raise CommandError("--apply needs --reason: it is written to the audit trail.", returncode=EXIT_USAGE)
        only = None
        if options["account"]:
            try:
                pk = (
                    Account.objects.filter(public_id=uuid.UUID(options["account"])).values_list("pk", flat=True).first()
                )
            except ValueError:
                pk = None
            if pk is None:
                raise CommandError(f"--account {options['account']!r}: no such account.", returncode=EXIT_USAGE)
            only = [pk]

        drifts = balance_drifts(account_pks=only)
        if not drifts:
            self.stdout.write("Every stored balance and last_sequence matches the postings; nothing to do.")
            return
        unrepairable = [drift for drift in drifts if not drift.repairable]
        if not options["apply"]:
            self._describe(drifts, "would change")
            self.stdout.write(
                f"Dry run: {len(drifts)} account(s) would change. Run again with --apply --reason '...' to change them."
            )
            if unrepairable:
                self._refuse(unrepairable)
            return
        if unrepairable:
            self._refuse(unrepairable)
        try:
            changed = balances_rebuild(
                account_pks=[drift.account_pk for drift in drifts],
                reason=options["reason"],
                operator_label=command_operator_label("rebuild_balances"),
            )
        except ValueError as exc:  # A drift appeared between the dry computation and the locks.
            raise CommandError(str(exc), returncode=EXIT_UNREPAIRABLE) from exc
        self._describe(changed, "changed")
        self.stdout.write(f"Rebuilt {len(changed)} account(s); one audit record each (action rebuild_balance).")

    def _describe(self, drifts: list[BalanceDrift], verb: str) -> None:
        """Write one line per drift: the account, and what ``verb`` (would change, changed) from and to."""
        for drift in drifts:
            parts = []
            if drift.stored_balance != drift.derived_balance:
                parts.append(
                    f"balance {_money(drift.stored_balance, drift.currency)} -> "
                    f"{_money(drift.derived_balance, drift.currency)}"
                )
            if drift.stored_sequence != drift.derived_sequence:
                parts.append(f"last_sequence {drift.stored_sequence} -> {drift.derived_sequence}")
            self.stdout.write(f"{verb}: account {drift.public_id}: {', '.join(parts)}")

    def _refuse(self, drifts: list[BalanceDrift]) -> None:
        """Stop (exit status 1, nothing changed): these customer accounts' postings sum below zero."""
        ids = ", ".join(drift.public_id for drift in drifts)
        raise CommandError(
            f"Cannot rebuild: the postings of customer account(s) {ids} sum below zero, which no stored balance "
            "may be. The postings themselves are wrong; nothing was changed.",
            returncode=EXIT_UNREPAIRABLE,
        )

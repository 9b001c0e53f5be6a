"""``python manage.py seed_demo --accounts N --transactions M``: a big, clean ledger, fast."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reconciliation.seeding import DEMO_CLIENT, demo_ledger_seed


class Command(BaseCommand):
    help = (
        "Fill the database with demo accounts and transactions, fast, for demos, benchmarks and admin "
        f"performance checks. Opens N customer accounts owned by the API client {DEMO_CLIENT!r} (created "
        "if needed) across the configured currencies, then writes M transactions (two postings each): a "
        "first deposit into every account, then transfers, deposits, withdrawals and a few reversals. "
        "Every invariant holds (zero-sum transactions, gap-free sequences, chained balances, no customer "
        "below zero, stored balances updated); rows are bulk-written (COPY on PostgreSQL) and committed "
        "in chunks, each under the same account row locks as the posting service. Timestamps are "
        "backdated over --days: check the result with a full `reconcile`, not `reconcile --since`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, required=True, help="customer accounts to open")
        parser.add_argument("--transactions", type=int, required=True, help="transactions to write (2 postings each)")
        parser.add_argument(
            "--chunk", type=int, default=50_000, help="transactions per database transaction (default 50000)"
        )
        parser.add_argument("--days", type=int, default=30, help="spread timestamps over this many days (default 30)")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable ledger")
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="parallel writers on PostgreSQL, each with its own currencies and connection (default 2)",
        )

    def handle(self, *args: str, **options: Any) -> None:
        accounts, transactions, chunk = options["accounts"], options["transactions"], options["chunk"]
        if accounts < 1 or transactions < 0 or chunk < 1 or options["days"] < 0 or options["workers"] < 1:
            raise CommandError(
                "--accounts, --chunk and --workers must be at least 1, --transactions and --days at least 0.",
                returncode=2,
            )
        show_progress = options["verbosity"] > 0 and sys.stderr.isatty()
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if show_progress:
                elapsed = time.monotonic() - started
                self.stderr.write(f"\r{done:,}/{total:,} transactions, {elapsed:,.0f}s", ending="")
                self.stderr.flush()

        result = demo_ledger_seed(
            accounts=accounts,
            transactions=transactions,
            chunk=chunk,
            days=options["days"],
            seed=options["seed"],
            workers=options["workers"],
            progress=progress,
        )
        if show_progress:
            self.stderr.write("")
        elapsed = time.monotonic() - started
        rate = result.postings / elapsed if elapsed else 0
        self.stdout.write(
            f"Seeded {result.accounts:,} accounts and {result.transactions:,} transactions "
            f"({result.postings:,} postings, {result.reversals:,} reversals) in {result.chunks:,} chunks, "
            f"{elapsed:,.1f}s ({rate:,.0f} postings/s)."
        )

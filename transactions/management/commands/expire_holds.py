"""``python manage.py expire_holds [--every SECONDS]``: record as expired the pending holds past their expiry.

A hold past its ``expires_at`` reserves nothing from that instant, recorded or not, and every
write on its account records it (``transactions.holds``); this command records the rest, so that
the holds' statuses and the accounts' stored reservations catch up with time.

Once by default: it prints how many holds it recorded as expired. With ``--every SECONDS`` it
is a long-running process (``docker-compose.yml``: ``expire-holds``): a run every SECONDS, each
logged as one line (JSON in production: ``expired``, ``duration_ms``); a database error is logged
and the next round tries again; SIGTERM or SIGINT ends it after the run under way, which
finishes its transaction. Several at once, on several machines, never wait for each other or
record a hold twice: :func:`~transactions.holds.holds_expire` skips the accounts another
transaction has locked (``SKIP LOCKED``), and a later run takes them.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from contextlib import suppress
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import Error as DatabaseFailure
from django.db import close_old_connections, connection

from ledger.errors import Unavailable
from ledger.signals import stopping_on_signals
from transactions.holds import holds_expire

logger = logging.getLogger("transactions.expire_holds")

EXIT_ERROR = 1
# What a run can fail with and the next round may not: the database down or busy.
RUN_FAILURES = (DatabaseFailure, Unavailable)


def _seconds(value: str) -> float:
    """Parse ``--every``: a positive number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400 * 366:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return seconds


def _positive(value: str) -> int:
    """Parse ``--accounts-per-transaction``: a whole number from 1 to 100,000."""
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 1 to 100000")
    return int(value)


def ensure_metrics_folder() -> None:
    """Create the multiprocess metrics folder if one is configured but missing.

    The image sets ``PROMETHEUS_MULTIPROC_DIR`` for gunicorn, which creates it; a command run in
    a container of its own would otherwise fail to count the expiries it has just committed.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)


def expire_once(*, accounts_per_transaction: int) -> int:
    """Record the lapsed holds once; log the run as one line and return how many holds expired."""
    began = time.monotonic()
    expired = holds_expire(accounts_per_transaction=accounts_per_transaction)
    duration_ms = round((time.monotonic() - began) * 1000, 2)
    logger.info("expired %d hold(s)", expired, extra={"expired": expired, "duration_ms": duration_ms})
    return expired


def sweep(*, every: float, stop: threading.Event, accounts_per_transaction: int = 500) -> int:
    """Record the lapsed holds every ``every`` seconds until ``stop`` is set; return how many runs succeeded.

    A run that fails (the database is down, or the accounts stay busy) is logged; its connection
    is closed, so that the next round connects afresh, and the next round tries again.
    """
    logger.info("expire_holds: a run every %s s", every, extra={"every_seconds": every})
    succeeded = 0
    while not stop.is_set():
        try:
            expire_once(accounts_per_transaction=accounts_per_transaction)
            succeeded += 1
        except RUN_FAILURES as exc:
            logger.error(  # One line an operator reads, not a traceback every round.
                "expire_holds run failed, retrying in %s s: %s",
                every,
                str(exc).strip() or type(exc).__name__,
                extra={"error": type(exc).__name__, "retry_in_seconds": every},
            )
            with suppress(DatabaseFailure):
                connection.close()
        else:
            close_old_connections()  # Honours CONN_MAX_AGE and drops a connection that went bad.
        stop.wait(every)
    logger.info("expire_holds stopped after %d run(s)", succeeded, extra={"runs": succeeded})
    return succeeded


class Command(BaseCommand):
    help = (
        "Record as expired every pending hold past its expires_at, releasing what it still reserved "
        "(a hold reserves nothing from that instant on; this brings its status and the account's stored "
        "reservation up to date). Once by default, printing how many; --every SECONDS runs until SIGTERM or "
        "SIGINT, logging each run, and retries after a database error. Safe to run on several machines at "
        "once: no hold is recorded twice, and no run waits for another. Exit status: 0, 1 the database "
        "could not be reached (a single run), 2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=_seconds,
            metavar="SECONDS",
            help="run until stopped (SIGTERM, SIGINT), once every SECONDS, logging each run",
        )
        parser.add_argument(
            "--accounts-per-transaction",
            type=_positive,
            default=500,
            metavar="N",
            help="accounts whose holds one database transaction expires (default 500)",
        )

    def handle(self, *args: str, **options: Any) -> None:
        ensure_metrics_folder()
        batch = options["accounts_per_transaction"]
        if options["every"] is None:
            try:
                expired = holds_expire(accounts_per_transaction=batch)
            except RUN_FAILURES as exc:
                raise CommandError(f"the holds could not be expired: {exc}", returncode=EXIT_ERROR) from exc
            self.stdout.write(f"Recorded {expired} hold(s) as expired.")
            return
        stop = threading.Event()
        with stopping_on_signals(stop, name="expire_holds", log=logger):
            sweep(every=options["every"], stop=stop, accounts_per_transaction=batch)

"""``python manage.py relay_events [--once] [--interval SECONDS]``: publish events, fan them out, deliver webhooks.

Each round: publish pending events to the broker (``events.broker.publish_pending``, when
``LEDGER_EVENTS_BROKER_URL`` is set), fan new events out into webhook deliveries
(:func:`webhooks.relay.fan_out`), then attempt the due deliveries
(:func:`webhooks.relay.deliver_due`). A round that did something is logged as one line (JSON in
production: ``published``, ``fanned_out``, ``delivered``, ``duration_ms``) and the next starts at
once; an idle round sleeps ``--interval`` seconds (default 1).

A database error is logged, its connection closed, and the round tried again after the
interval: the relay survives a database outage. SIGTERM or SIGINT ends it once the round under
way has finished (the attempts in flight are recorded; no new ones start), with status 0.
``--once`` runs a single round and prints what it did.

Several relays may run at once, on several machines: one fans out at a time (the others skip
the round), and a delivery is attempted by one relay at a time (its lease).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import Error as DatabaseFailure
from django.db import close_old_connections, connection

from ledger.errors import Unavailable
from ledger.signals import stopping_on_signals
from webhooks.relay import CONCURRENCY, deliver_due, fan_out

logger = logging.getLogger("webhooks.relay_events")

EXIT_ERROR = 1
# What a round can fail with and the next round may not: the database down or busy.
ROUND_FAILURES = (DatabaseFailure, Unavailable)
FAN_OUT_BATCH = 500
DELIVERIES_PER_ROUND = 4 * CONCURRENCY


def _seconds(value: str) -> float:
    """Parse ``--interval``: a positive number of seconds, below an hour."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0 and at most 3600")
    return seconds


def broker_publisher() -> Callable[[], int] | None:
    """Return ``events.broker.publish_pending`` when a broker is configured and the module exists, else ``None``."""
    if not getattr(settings, "LEDGER_EVENTS_BROKER_URL", ""):
        return None
    try:
        broker = importlib.import_module("events.broker")
    except ModuleNotFoundError:
        logger.warning("LEDGER_EVENTS_BROKER_URL is set but events.broker is missing: not publishing")
        return None
    publish: Callable[..., int] = broker.publish_pending
    return lambda: publish(limit=FAN_OUT_BATCH)


@dataclass
class Round:
    """What one round did."""

    published: int = 0
    fanned_out: int = 0
    delivered: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.published or self.fanned_out or self.delivered)


def one_round(*, publish: Callable[[], int] | None, worker: str, stopping: Callable[[], bool] | None = None) -> Round:
    """Publish, fan out and deliver once; log the round if it did anything."""
    began = time.monotonic()
    done = Round()
    if publish is not None:
        done.published = publish()
    done.fanned_out = fan_out(limit=FAN_OUT_BATCH)
    done.delivered = deliver_due(DELIVERIES_PER_ROUND, worker=worker, stopping=stopping)
    if done.busy:
        duration_ms = round((time.monotonic() - began) * 1000, 2)
        logger.info(
            "relay: published %d, fanned out %d, delivered %d",
            done.published,
            done.fanned_out,
            done.delivered,
            extra={**asdict(done), "duration_ms": duration_ms, "worker": worker},
        )
    return done


def relay(*, interval: float, stop: threading.Event, worker: str) -> int:
    """Run rounds until ``stop`` is set, sleeping ``interval`` after an idle or failed round; return the rounds run."""
    publish = broker_publisher()
    logger.info("relay_events %s: idle rounds every %s s", worker, interval, extra={"interval_seconds": interval})
    rounds = 0
    while not stop.is_set():
        try:
            done = one_round(publish=publish, worker=worker, stopping=stop.is_set)
            rounds += 1
        except ROUND_FAILURES as exc:
            logger.error(  # One line an operator reads, not a traceback every round.
                "relay_events round failed, retrying in %s s: %s",
                interval,
                str(exc).strip() or type(exc).__name__,
                extra={"error": type(exc).__name__, "retry_in_seconds": interval},
            )
            with suppress(DatabaseFailure):
                connection.close()
            stop.wait(interval)
            continue
        close_old_connections()  # Honours CONN_MAX_AGE and drops a connection that went bad.
        if not done.busy:
            stop.wait(interval)
    logger.info("relay_events stopped after %d round(s)", rounds, extra={"rounds": rounds})
    return rounds


class Command(BaseCommand):
    help = (
        "Relay events: publish them to the broker (with LEDGER_EVENTS_BROKER_URL), fan them out into webhook "
        "deliveries and attempt the deliveries that are due, in a loop until SIGTERM or SIGINT (the round under "
        "way finishes). Survives a database outage (logs, waits, retries). Safe to run several at once. --once: "
        "one round. Exit status: 0, 1 the database could not be reached (--once), 2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one round, print what it did, and exit")
        parser.add_argument(
            "--interval",
            type=_seconds,
            default=1.0,
            metavar="SECONDS",
            help="seconds to sleep after a round with nothing to do, or after a database error (default 1)",
        )

    def handle(self, *args: str, **options: Any) -> None:
        worker = f"{socket.gethostname()}:{os.getpid()}"
        if options["once"]:
            try:
                done = one_round(publish=broker_publisher(), worker=worker)
            except ROUND_FAILURES as exc:
                raise CommandError(f"the relay could not reach the database: {exc}", returncode=EXIT_ERROR) from exc
            self.stdout.write(
                f"Published {done.published}, fanned out {done.fanned_out} event(s), "
                f"recorded {done.delivered} delivery attempt(s)."
            )
            return
        stop = threading.Event()
        with stopping_on_signals(stop, name="relay_events", log=logger):
            relay(interval=options["interval"], stop=stop, worker=worker)

"""Publishing the outbox to RabbitMQ, in commit order, at least once.

With ``LEDGER_EVENTS_BROKER_URL`` set, ``manage.py relay_events`` calls :func:`publish_pending`
in a loop. Every event goes to the durable topic exchange ``ledger.events`` with routing key its
type, ``message_id`` its public id, ``delivery_mode`` 2 (persistent) and ``content_type``
``application/json``; the body is the event's document as staff see it (every leg),
``events.selectors.document``, the same document the API and the webhooks deliver. An event
whose change was traced also carries its stored W3C context in the message's headers
(``traceparent``, and ``tracestate`` when there is one), so that a consumer can continue that
trace; an untraced event's message has no headers. The headers are the event's, not the
publisher's: a duplicate is still the same message.

Invariants:

- **Nothing is lost.** An event counts as published only once the broker has confirmed it
  (publisher confirms). The position of the last confirmed event in commit order is stored in
  one :class:`~events.models.BrokerCursor` row and only ever moves to a confirmed event, after
  every event before it was confirmed. Events are read with ``ledger.commit_order``: only below
  the snapshot's horizon, ``(txid, id)`` oldest first, so an event that commits late sorts after
  the position and is never skipped. While the broker is down, events wait in the outbox.
- **At least once.** A publisher that dies after the broker confirmed an event but before the
  position moved leaves it to be published again: consumers deduplicate by ``message_id``. A
  duplicate is the same message (same id, routing key and body) published again.
- **Commit order.** One publisher at a time: a lease on the cursor row (``lease_owner``, until
  ``leased_until``, on the database's clock), taken with one short ``UPDATE`` that commits at
  once. The holder publishes oldest first and stops well before its lease runs out (by its own
  monotonic clock, started before it asked for the lease), so that two publishers never
  interleave; it moves the position only if the lease is still its own. A second concurrent
  call finds the lease taken and publishes nothing. Every publisher sends, in commit order, a
  run that starts right after the position it found, and the position only covers confirmed
  events: so the *first* arrival of each event at a queue is in commit order, even if a stalled
  publisher's frames land after its successor's. A duplicate may arrive after later events: a
  consumer that drops the ids it has seen reads the events in commit order.
- **No transaction held open.** Every database statement here commits on its own (the lease,
  the read, the move): no transaction stays open while the broker is talked to, since an open
  transaction holds back the horizon every commit-ordered list reads below. Calling this inside
  a transaction is refused.

One connection per process, reused across calls (guarded by a lock: pika's connections are not
thread-safe) and opened again after any failure. A broker failure is logged, counted
(``ledger_events_broker_publish_failures_total``) and ends the call: what was confirmed before it
stays published, the rest waits for the next call. Database errors propagate (the caller's loop
decides, as ``expire_holds`` does).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

import pika  # type: ignore[import-untyped]
import pika.exceptions  # type: ignore[import-untyped]
from django.conf import settings
from django.db import connection
from django.db.models import DateTimeField, ExpressionWrapper, Q, Value
from django.db.models.functions import Now

from events.models import BrokerCursor, Event
from events.selectors import document
from ledger import commit_order, tracing
from ledger.metrics import BROKER_PUBLISH_FAILURES

if TYPE_CHECKING:
    from ledger.users import User

logger = logging.getLogger("events.broker")

EXCHANGE = "ledger.events"
CURSOR = "broker"  # the name of the one BrokerCursor row
CONTENT_TYPE = "application/json"
PERSISTENT = 2  # AMQP delivery_mode: written to disk by the broker (on a durable queue)

# Connection bounds unless the URL's query sets them (pika's URLParameters): a broker that does
# not answer, or blocks publishers (a memory or disk alarm), ends a call in seconds.
_CONNECTION_DEFAULTS = {
    "connection_attempts": 1,
    "socket_timeout": 5.0,
    "stack_timeout": 10.0,
    "blocked_connection_timeout": 10.0,
}

# What the broker, or the way to it, can fail with.
BROKER_FAILURES: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


@dataclass(frozen=True)
class _StaffViewer:
    """The viewer the broker renders documents for: staff, who see every leg."""

    is_staff: bool = True


_STAFF = cast("User", _StaffViewer())


# --- the connection -------------------------------------------------------------------------


class _Connection:
    """This process's one connection and confirming channel, opened lazily, dropped on failure."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url: str | None = None
        self.connection: Any = None
        self.channel: Any = None

    def channel_for(self, url: str) -> Any:
        """Return an open confirming channel to ``url``, on the kept connection when it still works."""
        if self.url == url and self.connection is not None and self.connection.is_open and self.channel.is_open:
            try:
                self.connection.process_data_events(time_limit=0)  # heartbeats; notices a dead socket
            except BROKER_FAILURES:
                self.drop()
            else:
                return self.channel
        self.drop()
        parameters = pika.URLParameters(url)
        given = parse_qs(urlsplit(url).query)
        for name, value in _CONNECTION_DEFAULTS.items():
            if name not in given:
                setattr(parameters, name, value)
        parameters.client_properties = {"connection_name": f"ledger relay {socket.gethostname()}:{os.getpid()}"}
        self.connection = pika.BlockingConnection(parameters)
        self.url = url
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange=EXCHANGE, exchange_type="topic", durable=True)
        self.channel.confirm_delivery()
        return self.channel

    def drop(self) -> None:
        """Forget the connection, closing it if it still can be."""
        conn, self.connection, self.channel, self.url = self.connection, None, None, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(*BROKER_FAILURES):
                conn.close()


_connection = _Connection()


def close() -> None:
    """Close this process's connection to the broker (a relay that stops; tests)."""
    with _connection.lock:
        _connection.drop()


# --- messages -------------------------------------------------------------------------------


def body_of(event: Event) -> bytes:
    """Return the message body of ``event``: its document for staff, as compact JSON."""
    return json.dumps(document(event, _STAFF), separators=(",", ":")).encode()


def properties_of(event: Event) -> Any:
    """Return the AMQP properties of ``event``'s message (``pika.BasicProperties``).

    ``headers``: the event's stored trace context (``traceparent``, ``tracestate``), or none.
    """
    return pika.BasicProperties(
        message_id=str(event.public_id),
        type=event.type,
        content_type=CONTENT_TYPE,
        delivery_mode=PERSISTENT,
        timestamp=int(event.created_at.timestamp()),
        headers=dict(event.trace_context) if event.trace_context else None,
    )


def _publish_span(events: list[Event]) -> contextlib.AbstractContextManager[Any]:
    """The span of publishing ``events`` (traced: a producer span linked to each event's context; else none).

    A batch span with links, not a child of each event's trace: one publication carries many
    events, whose traces began in other requests (the SDK keeps the first 128 links,
    ``OTEL_SPAN_LINK_COUNT_LIMIT``). ``messaging.batch.message_count`` is how many it set out to
    publish; ``ledger.events.confirmed``, set at its end, how many the broker confirmed.
    """
    if not tracing.enabled():
        return contextlib.nullcontext()
    links = [
        tracing.Link(span_context)
        for span_context in (tracing.span_context_of(event.trace_context) for event in events)
        if span_context is not None
    ]
    return tracing.tracer().start_as_current_span(
        f"{EXCHANGE} publish",
        kind=tracing.SpanKind.PRODUCER,
        links=links,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "send",
            "messaging.destination.name": EXCHANGE,
            "messaging.batch.message_count": len(events),
        },
    )


# --- the cursor and its lease ---------------------------------------------------------------


def _lease_until(seconds: float) -> ExpressionWrapper[Any]:
    return ExpressionWrapper(Now() + Value(timedelta(seconds=seconds)), output_field=DateTimeField())


def _take_lease(owner: str, seconds: float) -> BrokerCursor | None:
    """Take the lease on the cursor for ``seconds`` (one UPDATE, committed) and return the cursor, or None if held.

    Writes the heartbeat too. Creates the row the first time (``ON CONFLICT DO NOTHING``).
    """
    free = Q(lease_owner="") | Q(leased_until__isnull=True) | Q(leased_until__lt=Now())
    for _ in range(2):
        taken = BrokerCursor.objects.filter(free, name=CURSOR).update(
            lease_owner=owner, leased_until=_lease_until(seconds), heartbeat_at=Now()
        )
        if taken:
            return BrokerCursor.objects.get(name=CURSOR)
        if BrokerCursor.objects.filter(name=CURSOR).exists():
            return None
        BrokerCursor.objects.bulk_create([BrokerCursor(name=CURSOR)], ignore_conflicts=True)
    return None


def _settle(owner: str, confirmed: Event | None) -> bool:
    """Move the position to ``confirmed`` (if any) and give the lease back, only if it is still ``owner``'s.

    One UPDATE, committed. Returns False when the lease was lost (another publisher took it over
    after it ran out): the position is left to that publisher.
    """
    changes: dict[str, Any] = {"lease_owner": "", "leased_until": None}
    if confirmed is not None:
        changes.update(last_txid=confirmed.txid, last_event_id=confirmed.pk, published_at=Now())
    return BrokerCursor.objects.filter(name=CURSOR, lease_owner=owner).update(**changes) == 1


def _pending(position: commit_order.Position, limit: int) -> list[Event]:
    """The next ``limit`` events after ``position`` in commit order, below the horizon (one SELECT)."""
    events = commit_order.committed(Event.objects.filter(commit_order.after(position)))
    return list(events.order_by(*commit_order.OLDEST_FIRST)[:limit])


# --- publishing -----------------------------------------------------------------------------


def publish_pending(limit: int = 500, *, url: str | None = None, lease_seconds: float | None = None) -> int:
    """Publish up to ``limit`` events not yet confirmed by the broker, oldest first in commit order.

    Returns how many the broker confirmed in this call: 0 when there is nothing to publish, when
    another publisher holds the lease, when no broker is configured, or when the broker cannot be
    reached (logged and counted; the events wait). ``url`` defaults to
    ``LEDGER_EVENTS_BROKER_URL``, ``lease_seconds`` to ``LEDGER_EVENTS_BROKER_LEASE_SECONDS``.

    Never inside a database transaction (``RuntimeError``): each of its three statements commits
    on its own, and none is open while the broker is talked to.
    """
    url = settings.LEDGER_EVENTS_BROKER_URL if url is None else url
    if not url:
        return 0
    if connection.in_atomic_block:
        raise RuntimeError("publish_pending runs outside any transaction: it would hold back the commit horizon")
    lease = float(settings.LEDGER_EVENTS_BROKER_LEASE_SECONDS if lease_seconds is None else lease_seconds)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    # Stop publishing well before the lease ends: measured from before it was asked for, so the
    # database's end of the lease is later still, whatever the clocks of the two machines say.
    deadline = time.monotonic() + lease * 2 / 3
    cursor = _take_lease(owner, lease)
    if cursor is None:
        logger.debug("broker: another publisher holds the lease")
        return 0
    confirmed: Event | None = None
    published = 0
    try:
        events = _pending((cursor.last_txid, cursor.last_event_id), limit)
        if events:
            with _publish_span(events) as span, _connection.lock:
                stage = "connect"
                try:
                    channel = _connection.channel_for(url)
                    stage = "publish"
                    for event in events:
                        if time.monotonic() > deadline:
                            logger.warning("broker: lease running out after %d event(s); the rest next time", published)
                            break
                        try:
                            channel.basic_publish(EXCHANGE, event.type, body_of(event), properties_of(event))
                        except pika.exceptions.NackError:
                            stage = "nack"
                            raise
                        confirmed = event
                        published += 1
                except BROKER_FAILURES as exc:
                    _connection.drop()
                    BROKER_PUBLISH_FAILURES.labels(stage).inc()
                    logger.warning(
                        "broker: %s failed after %d event(s) confirmed; the rest wait: %s",
                        stage,
                        published,
                        str(exc).strip() or repr(exc),
                        extra={"stage": stage, "published": published, "error": type(exc).__name__},
                    )
                    if span is not None:
                        span.set_status(tracing.StatusCode.ERROR, f"{stage} failed")
                if span is not None:
                    span.set_attribute("ledger.events.confirmed", published)
    finally:
        if not _settle(owner, confirmed) and confirmed is not None:
            logger.warning(
                "broker: the lease ran out and was taken over; %d event(s) confirmed here will be published again",
                published,
            )
    if published:
        logger.info("broker: published %d event(s)", published, extra={"published": published})
    return published


# --- what the metrics read ------------------------------------------------------------------


@dataclass(frozen=True)
class PublishingStatus:
    """Where publishing stands: the oldest event waiting (its ``created_at``) and the last heartbeat."""

    oldest_pending_at: datetime | None
    heartbeat_at: datetime | None

    def lag_seconds(self, now: datetime) -> float:
        """How late publishing is at ``now``: the oldest waiting event's age, 0 when none waits (never negative)."""
        return 0.0 if self.oldest_pending_at is None else max(0.0, (now - self.oldest_pending_at).total_seconds())


def publishing_status() -> PublishingStatus:
    """Return the oldest committed event the broker has not confirmed, and the publisher's heartbeat (two SELECTs).

    The oldest is the first after the cursor in commit order among every committed event, above
    the horizon too: one that waits for a transaction left open elsewhere is late as well.
    """
    cursor = BrokerCursor.objects.filter(name=CURSOR).values_list("last_txid", "last_event_id", "heartbeat_at").first()
    position: commit_order.Position = (0, 0) if cursor is None else (cursor[0], cursor[1])
    oldest = (
        Event.objects.filter(commit_order.after(position))
        .order_by(*commit_order.OLDEST_FIRST)
        .values_list("created_at", flat=True)
        .first()
    )
    return PublishingStatus(oldest_pending_at=oldest, heartbeat_at=None if cursor is None else cursor[2])

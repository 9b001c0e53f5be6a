"""The relay: fan events out into deliveries, and attempt the deliveries that are due.

Fan-out (:func:`fan_out`) reads the events after the cursor in commit order, below the horizon
(``ledger.commit_order``: an event that commits late is never skipped), and creates one delivery
per event and endpoint that should receive it: an *active* endpoint created no later than the
event, whose types match the event's (or ``["*"]``), whose owner may see the event (a staff
owner every event, a client the events an ``EventReader`` row gives it) and is active. The
deliveries are inserted with ``ON CONFLICT DO NOTHING`` and the cursor moves in the same short
transaction, holding the cursor row ``FOR UPDATE SKIP LOCKED``: one relay fans out at a time,
another skips the round.

Delivery (:func:`deliver_due`) runs in three steps, so that no database transaction stays open
while a receiver takes its time (an open transaction holds back the horizon every list reads):

1. claim: one short transaction takes up to ``CONCURRENCY`` pending, due deliveries of active
   endpoints whose lease is free (``FOR UPDATE SKIP LOCKED``), gives each a lease
   (``leased_until`` = now + the timeout + ``LEASE_MARGIN``) and a fresh ``lease_token``, and
   commits; no other relay takes them until the lease runs out;
2. attempt, outside any transaction, the group at once (``CONCURRENCY`` threads, which never touch
   the database): check the URL again (:func:`webhooks.addresses.resolve`), sign the event
   document as the endpoint's owner sees it, POST it to the checked address (``webhooks.http``);
3. record each answer in its own short transaction, only while the lease is still this relay's
   (its token): 2xx within the timeout is ``succeeded``; anything else schedules the next
   attempt after ``LEDGER_WEBHOOK_RETRY_SCHEDULE[attempts - 1]`` seconds, or, the schedule run
   out, ``failed``. An endpoint with no success since a failure at least ``DISABLE_AFTER`` (5
   days) old is disabled, and its pending deliveries fail.

A relay that dies mid-attempt leaves leases that run out: the deliveries are attempted again
(delivery is at least once; receivers deduplicate by ``webhook-id``).

Traced (``ledger.tracing`` on), each attempt is a span ``webhook.deliver`` whose parent is the
trace context its event stored, so it joins the trace of the request that made the change
(a new trace when the event stored none); urllib3's instrumentation makes the POST its child
and sends that child's ``traceparent`` to the receiver.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from events.models import Event, EventReader
from events.selectors import document
from ledger import commit_order, tracing
from webhooks import signing
from webhooks.addresses import AddressRefused, resolve
from webhooks.http import Answer, post
from webhooks.models import FanOutCursor, WebhookDelivery, WebhookEndpoint
from webhooks.services import ALL_TYPES, fail_pending

logger = logging.getLogger("webhooks.relay")

LEASE_MARGIN = timedelta(seconds=50)  # A lease outlasts the request's timeout by this much.
DISABLE_AFTER = timedelta(days=5)
CONCURRENCY = 8  # Attempts in flight at once in one relay.
_CURSOR = 1


# --- settings ------------------------------------------------------------------------------------


def retry_schedule() -> list[float]:
    """Return the seconds to wait before each retry (``LEDGER_WEBHOOK_RETRY_SCHEDULE``); refuse a negative one."""
    schedule = [float(s) for s in settings.LEDGER_WEBHOOK_RETRY_SCHEDULE]
    if any(s < 0 for s in schedule):
        raise ImproperlyConfigured("LEDGER_WEBHOOK_RETRY_SCHEDULE lists seconds, none negative.")
    return schedule


def request_timeout() -> float:
    """Return the seconds a receiver has to answer (``LEDGER_WEBHOOK_TIMEOUT_SECONDS``)."""
    timeout = float(settings.LEDGER_WEBHOOK_TIMEOUT_SECONDS)
    if not 0 < timeout <= 60:
        raise ImproperlyConfigured("LEDGER_WEBHOOK_TIMEOUT_SECONDS must be above 0 and at most 60.")
    return timeout


def lease_length() -> timedelta:
    """Return how long a claim keeps a delivery from other relays: longer than any attempt takes."""
    return timedelta(seconds=request_timeout()) + LEASE_MARGIN


# --- fan-out -------------------------------------------------------------------------------------


def receives(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """Return whether ``endpoint`` names ``event_type`` (or every type)."""
    return ALL_TYPES in endpoint.event_types or event_type in endpoint.event_types


def fan_out(limit: int = 500) -> int:
    """Create the deliveries of up to ``limit`` events after the cursor; return how many events were fanned out.

    0 when there is nothing new, or when another relay is fanning out (its cursor row is locked).
    """
    with db_transaction.atomic(durable=True):
        cursor = FanOutCursor.objects.select_for_update(skip_locked=True).filter(pk=_CURSOR).first()
        if cursor is None:
            if FanOutCursor.objects.filter(pk=_CURSOR).exists():
                return 0  # Another relay holds it.
            FanOutCursor.objects.bulk_create([FanOutCursor(pk=_CURSOR)], ignore_conflicts=True)
            cursor = FanOutCursor.objects.select_for_update(skip_locked=True).filter(pk=_CURSOR).first()
            if cursor is None:
                return 0
        events = list(
            commit_order.committed(Event.objects.all())
            .filter(commit_order.after((cursor.last_txid, cursor.last_event_id)))
            .order_by(*commit_order.OLDEST_FIRST)
            .only("pk", "txid", "type", "created_at")[:limit]
        )
        if not events:
            return 0
        now = timezone.now()
        WebhookDelivery.objects.bulk_create(_deliveries(events, now), ignore_conflicts=True)
        last = events[-1]
        cursor.last_txid, cursor.last_event_id, cursor.updated_at = last.txid, last.pk, now
        cursor.save(update_fields=["last_txid", "last_event_id", "updated_at"])
    return len(events)


def _deliveries(events: Sequence[Event], now: datetime) -> list[WebhookDelivery]:
    """Return the deliveries ``events`` make: one per event and endpoint that receives it (two queries)."""
    endpoints = list(
        WebhookEndpoint.objects.filter(
            status=WebhookEndpoint.Status.ACTIVE,
            owner__is_active=True,
            created_at__lte=max(event.created_at for event in events),
        ).select_related("owner")
    )
    if not endpoints:
        return []
    clients = {endpoint.owner_id for endpoint in endpoints if not endpoint.owner.is_staff}
    readers: dict[int, set[int]] = defaultdict(set)
    if clients:
        for event_id, reader_id in EventReader.objects.filter(
            event__in=[event.pk for event in events], reader__in=clients
        ).values_list("event_id", "reader_id"):
            readers[event_id].add(reader_id)
    return [
        WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now, created_at=now)
        for event in events
        for endpoint in endpoints
        if endpoint.created_at <= event.created_at
        and receives(endpoint, event.type)
        and (endpoint.owner.is_staff or endpoint.owner_id in readers[event.pk])
    ]


# --- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery this relay holds the lease of, with what its attempt sends."""

    delivery: WebhookDelivery
    token: uuid.UUID
    url: str
    body: bytes
    signing_secrets: tuple[str, ...]
    message_id: str
    trace_context: dict[str, str] | None = None  # the event's, when its change was traced


def claim(limit: int, *, worker: str = "", exclude: Sequence[int] = ()) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of active endpoints to this relay (one short transaction).

    ``exclude``: ids not to take (those this call already attempted: a retry "at once" is the next round's).
    """
    now = timezone.now()
    token = uuid.uuid4()
    with db_transaction.atomic(durable=True):
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                Q(leased_until__isnull=True) | Q(leased_until__lt=now),
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__status=WebhookEndpoint.Status.ACTIVE,
            )
            .exclude(pk__in=exclude)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids).update(leased_until=now + lease_length(), lease_token=token)
    if worker:
        logger.debug("%s leased %d deliveries", worker, len(ids))
    deliveries = (
        WebhookDelivery.objects.filter(pk__in=ids, lease_token=token)
        .select_related("endpoint", "endpoint__owner", "event")
        .order_by("next_attempt_at", "pk")
    )
    return [_prepared(delivery, token, now) for delivery in deliveries]


def _prepared(delivery: WebhookDelivery, token: uuid.UUID, now: datetime) -> Claimed:
    """Return what the attempt of ``delivery`` sends: the event as its endpoint's owner sees it, and the secrets."""
    endpoint = delivery.endpoint
    body = json.dumps(document(delivery.event, endpoint.owner), separators=(",", ":"), ensure_ascii=False).encode()
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return Claimed(
        delivery,
        token,
        endpoint.url,
        body,
        tuple(secrets),
        str(delivery.event.public_id),
        delivery.event.trace_context,
    )


def attempt(claimed: Claimed, *, timeout: float) -> Answer:
    """Check the URL again, sign and POST the event; never touches the database, never raises for the network.

    Traced, in a span ``webhook.deliver`` under the event's stored context (see the module's docstring).
    """
    if not tracing.enabled():
        return _attempt(claimed, timeout=timeout)
    delivery = claimed.delivery
    with tracing.tracer().start_as_current_span(
        "webhook.deliver",
        context=tracing.context_of(claimed.trace_context),
        attributes={
            "ledger.webhook.delivery_id": str(delivery.public_id),
            "ledger.webhook.endpoint_id": str(delivery.endpoint.public_id),
            "ledger.webhook.attempt": delivery.attempts + 1,
            "ledger.event.id": claimed.message_id,
            "ledger.event.type": delivery.event.type,
        },
    ) as span:
        answer = _attempt(claimed, timeout=timeout)
        if answer.status_code is not None:
            span.set_attribute("http.response.status_code", answer.status_code)
        if not answer.succeeded:
            span.set_status(tracing.StatusCode.ERROR, answer.error[:200])
        return answer


def _attempt(claimed: Claimed, *, timeout: float) -> Answer:
    try:
        target = resolve(claimed.url)
    except AddressRefused as exc:
        return Answer(None, f"refused: {exc}")
    timestamp = int(time.time())
    headers = signing.headers(
        claimed.signing_secrets, message_id=claimed.message_id, timestamp=timestamp, body=claimed.body
    )
    return post(target, body=claimed.body, headers=headers, timeout=timeout)


def record(claimed: Claimed, answer: Answer) -> str | None:
    """Record an attempt's answer in a short transaction of its own; return the delivery's status, ``None`` if the
    lease was lost (another relay took the delivery after the lease ran out: its attempt counts, not this one)."""
    now = timezone.now()
    delivery = claimed.delivery
    attempts = delivery.attempts + 1
    schedule = retry_schedule()
    changes: dict[str, object] = {
        "attempts": attempts,
        "last_status_code": answer.status_code,
        "last_error": answer.error[:500],
        "last_attempt_at": now,
        "leased_until": None,
        "lease_token": None,
    }
    if answer.succeeded:
        status = WebhookDelivery.Status.SUCCEEDED
        changes.update(status=status, next_attempt_at=None, succeeded_at=now)
    elif attempts <= len(schedule):
        status = WebhookDelivery.Status.PENDING
        changes.update(next_attempt_at=now + timedelta(seconds=schedule[attempts - 1]))
    else:
        status = WebhookDelivery.Status.FAILED
        changes.update(status=status, next_attempt_at=None)
    with db_transaction.atomic(durable=True):
        mine = WebhookDelivery.objects.filter(
            pk=delivery.pk, lease_token=claimed.token, status=WebhookDelivery.Status.PENDING
        )
        if not mine.update(**changes):
            return None
        endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        if answer.succeeded:
            endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        else:
            endpoints.filter(failing_since__isnull=True).update(failing_since=now)
            _disable_if_failing(delivery.endpoint_id, now)
    return status


def _disable_if_failing(endpoint_id: int, now: datetime) -> None:
    """Disable the endpoint if nothing succeeded since a failure ``DISABLE_AFTER`` ago; fail its pending deliveries."""
    endpoint = (
        WebhookEndpoint.objects.select_for_update()
        .filter(pk=endpoint_id, status=WebhookEndpoint.Status.ACTIVE, failing_since__lte=now - DISABLE_AFTER)
        .first()
    )
    if endpoint is None:
        return
    reason = f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC (5 days or more)."
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["status", "disabled_at", "disabled_reason"])
    fail_pending(endpoint, reason=f"The endpoint was disabled: {reason}")
    logger.warning(
        "webhook endpoint %s disabled: %s", endpoint.public_id, reason, extra={"endpoint": str(endpoint.public_id)}
    )


def deliver_due(limit: int = CONCURRENCY, *, worker: str = "", stopping: Callable[[], bool] | None = None) -> int:
    """Attempt up to ``limit`` due deliveries, ``CONCURRENCY`` at a time, each once; return the attempts recorded.

    Each group is claimed just before it is attempted (its lease covers its own attempts only),
    and the HTTP requests run outside any database transaction. With ``stopping``, no new group
    is claimed once it turns true; the attempts in flight finish and are recorded.
    """
    timeout = request_timeout()
    attempted: list[int] = []
    recorded = 0
    while len(attempted) < limit and not (stopping is not None and stopping()):
        group = claim(min(CONCURRENCY, limit - len(attempted)), worker=worker, exclude=attempted)
        if not group:
            break
        attempted.extend(claimed.delivery.pk for claimed in group)
        with ThreadPoolExecutor(max_workers=len(group), thread_name_prefix="webhook") as pool:
            answers = list(pool.map(lambda c: attempt(c, timeout=timeout), group))
        for claimed, answer in zip(group, answers, strict=True):
            if record(claimed, answer) is not None:
                recorded += 1
    return recorded

"""EventService: the events a client may see, as pages and as a stream that follows new ones.

Both read the core's commit order (``events.selectors.events_in_commit_order``): asked ``after``
the last event processed, a consumer never misses one and never sees one twice. A stream holds
one of the server's worker threads (and its database connection) while it lasts: at most
``LEDGER_GRPC_MAX_STREAMS`` run at once, and each polls every
``LEDGER_GRPC_STREAM_POLL_SECONDS`` once caught up, outside any database transaction (so it never
holds back the horizon that readers wait for).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import grpc
from django.conf import settings

from api.documents import EVENT
from api.events import EventQuerySerializer
from api.ids import id_or_404
from events import selectors
from events.models import Event
from grpc_api.accounts import valid
from grpc_api.calls import Call
from grpc_api.errors import Refusal
from grpc_api.messages import as_json, from_document
from grpc_api.pages import size
from grpc_api.registry import method
from grpc_api.v1 import events_pb2 as pb
from ledger.errors import Unavailable, ValidationFailed

STREAM_BATCH = 200  # Events read per poll while a stream catches up.
stopping = threading.Event()  # Set by the server when it shuts down: every stream ends.
_streams = threading.BoundedSemaphore(settings.LEDGER_GRPC_MAX_STREAMS)


def allow_streams(count: int) -> None:
    """Allow ``count`` streams at once (the server leaves at least one thread to other calls)."""
    global _streams
    _streams = threading.BoundedSemaphore(count)


def _message(event: Event, call: Call) -> pb.Event:
    """Return ``event`` as ``call``'s client may see it: the REST document, its ``data`` in the oneof of its kind."""
    document = EVENT.render(selectors.document(event, call.client))
    resource = document.pop("data")
    document[document["type"].split(".", 1)[0]] = resource  # "transaction.posted" -> the field `transaction`.
    return from_document(document, pb.Event)


def _after_and_type(request: Any) -> tuple[UUID | None, str | None]:
    query = valid(EventQuerySerializer, as_json(request, without=("page_size",)))
    return query.get("after"), query.get("type")


def _in_commit_order(call: Call, *, type: str | None, after: UUID | None) -> Any:
    try:
        return selectors.events_in_commit_order(call.client, type=type, after=after)
    except selectors.NoSuchEvent:
        raise ValidationFailed(errors={"after": ["No event with this id is visible to you."]}) from None


@method("EventService", "ListEvents")
def list_events(request: pb.ListEventsRequest, call: Call) -> pb.ListEventsResponse:
    after, type = _after_and_type(request)
    page_size = size(request.page_size)
    rows = list(_in_commit_order(call, type=type, after=after)[: page_size + 1])
    return pb.ListEventsResponse(
        events=[_message(event, call) for event in rows[:page_size]], more=len(rows) > page_size
    )


@method("EventService", "StreamEvents")
def stream_events(request: pb.StreamEventsRequest, call: Call) -> Iterator[pb.Event]:
    after, type = _after_and_type(request)
    streams = _streams
    if not streams.acquire(blocking=False):
        raise Refusal(
            status=grpc.StatusCode.RESOURCE_EXHAUSTED,
            code="throttled",
            message="The server follows as many event streams as it allows; retry later.",
            retry_after=1,
        )
    try:
        while call.context.is_active() and not stopping.is_set():
            rows = list(_in_commit_order(call, type=type, after=after)[:STREAM_BATCH])
            for event in rows:
                yield _message(event, call)
            if rows:
                after = rows[-1].public_id
            if len(rows) < STREAM_BATCH:
                stopping.wait(settings.LEDGER_GRPC_STREAM_POLL_SECONDS)
        if stopping.is_set():
            raise Unavailable("The server is shutting down: reconnect after the last event received.")
    finally:
        streams.release()


@method("EventService", "GetEvent")
def get_event(request: pb.GetEventRequest, call: Call) -> pb.Event:
    event = selectors.event_get(user=call.client, event_id=id_or_404(request.event_id, what="event"))
    return _message(event, call)

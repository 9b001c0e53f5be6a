"""Writing events: drafts rendered by the interface's port, stored with the change they describe.

A service that changes the books builds a :class:`Draft` for each event the change produces,
and stores the drafts in the same database transaction as the change: the posting journal
and the placing of holds in the same statement as their writes (``CTE_SQL``, one more
data-modifying CTE: no round trip added), everything else with :func:`store`.

``data`` is the resource as the API renders it. The core does not know the API's documents:
the interface registers a renderer per resource at start-up (:func:`register`), as it gives
the posting service a renderer of its answers.

Every event also stores the W3C trace context current when it is written (``trace_context``,
:func:`ledger.tracing.current_carrier`): the request's span when the change was traced, NULL
when tracing is off (which costs one comparison per write). It is read once per write, not per
event: the events of one write belong to one span.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder

from events.models import Event, EventReader
from ledger import tracing

Renderer = Callable[[Any], dict[str, Any]]  # a resource -> its document for staff, ready for JSON

_renderers: dict[str, Renderer] = {}


def register(resource: str, renderer: Renderer) -> None:
    """Give the renderer of ``resource`` (``"account"``, ``"transaction"``, ``"hold"``) its events' data."""
    _renderers[resource] = renderer


def render(resource: str, obj: object) -> dict[str, Any]:
    """Return ``obj`` rendered as the API renders ``resource`` for staff."""
    try:
        renderer = _renderers[resource]
    except KeyError:
        raise ImproperlyConfigured(
            f"no renderer of {resource!r} events is registered (the API registers them when it starts)"
        ) from None
    return renderer(obj)


@dataclass(frozen=True)
class Draft:
    """An event to store: its type, its subject, its data and who reads it.

    ``readers`` maps each client that reads the event (the owner of a customer account it
    touches) to the public ids of its accounts touched.
    """

    type: str
    subject_id: UUID
    data: dict[str, Any]
    readers: dict[int, list[str]]
    cause_id: UUID | None = None
    public_id: UUID = field(default_factory=uuid.uuid4)


def draft(
    type: str,
    resource: str,
    obj: Any,
    *,
    touches: Iterable[tuple[int | None, UUID]],
    cause_id: UUID | None = None,
) -> Draft:
    """Return the draft of a ``type`` event about ``obj``, rendered now.

    ``touches``: ``(owner id, account public id)`` of each account the event touches; a system
    account (no owner) has no reader.
    """
    readers: dict[int, list[str]] = {}
    for owner_id, account_id in touches:
        if owner_id is not None and str(account_id) not in readers.setdefault(owner_id, []):
            readers[owner_id].append(str(account_id))
    return Draft(type=type, subject_id=obj.public_id, data=render(resource, obj), readers=readers, cause_id=cause_id)


def store(drafts: Iterable[Draft], *, now: datetime) -> None:
    """Insert the events and their readers (two statements, in the caller's database transaction)."""
    drafts = list(drafts)
    if not drafts:
        return
    trace_context = tracing.current_carrier()
    events = Event.objects.bulk_create(
        [
            Event(
                public_id=d.public_id,
                type=d.type,
                subject_id=d.subject_id,
                cause_id=d.cause_id,
                data=d.data,
                created_at=now,
                trace_context=trace_context,
            )
            for d in drafts
        ]
    )
    EventReader.objects.bulk_create(
        [
            EventReader(event=event, reader_id=reader, account_ids=accounts)
            for event, d in zip(events, drafts, strict=True)
            for reader, accounts in d.readers.items()
        ]
    )


def cte_params(drafts: Iterable[Draft]) -> dict[str, str]:
    """Return the parameters of ``CTE_SQL`` for ``drafts``: two JSON documents."""
    drafts = list(drafts)
    trace_context = tracing.current_carrier()
    return {
        "events": json.dumps(
            [
                {
                    "n": n,
                    "public_id": str(d.public_id),
                    "type": d.type,
                    "subject": str(d.subject_id),
                    "cause": None if d.cause_id is None else str(d.cause_id),
                    "data": d.data,
                    "trace_context": trace_context,
                }
                for n, d in enumerate(drafts)
            ],
            cls=DjangoJSONEncoder,
        ),
        "event_readers": json.dumps(
            [
                {"event": str(d.public_id), "reader": reader, "accounts": accounts}
                for d in drafts
                for reader, accounts in d.readers.items()
            ]
        ),
    }


# Two more data-modifying CTEs for a statement that takes ``%(now)s``: PostgreSQL runs every one
# to completion whether or not the main query reads it. Preceded by a comma.
CTE_SQL = """, outbox AS (
    INSERT INTO events_event (public_id, type, subject_id, cause_id, data, created_at, trace_context)
    SELECT e.public_id, e.type, e.subject, e.cause, e.data, %(now)s, e.trace_context
      FROM jsonb_to_recordset(%(events)s::jsonb)
           AS e(n integer, public_id uuid, type text, subject uuid, cause uuid, data jsonb, trace_context jsonb)
     ORDER BY e.n
    RETURNING id, public_id
), outbox_readers AS (
    INSERT INTO events_eventreader (event_id, reader_id, account_ids)
    SELECT outbox.id, r.reader, r.accounts
      FROM jsonb_to_recordset(%(event_readers)s::jsonb) AS r(event uuid, reader integer, accounts jsonb)
      JOIN outbox ON outbox.public_id = r.event
    RETURNING 1
)"""

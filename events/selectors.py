"""Reads of the outbox: the events a viewer may see, in commit order, with only its own legs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from events.models import Event, EventReader
from ledger import commit_order
from ledger.errors import NotFound

if TYPE_CHECKING:
    from ledger.users import User

# The events whose data is a transaction: a client sees only the legs on its own accounts.
_TRANSACTION_EVENTS = frozenset({Event.Type.TRANSACTION_POSTED, Event.Type.TRANSACTION_REVERSED})


class NoSuchEvent(LookupError):
    """The event a page was asked to start after is none the viewer may see."""


def events_visible_to(user: User, *, type: str | None = None) -> QuerySet[Event]:
    """Return the events ``user`` may see, not yet ordered: for a client those touching its accounts, for staff all.

    Each event comes with the viewer's reader row (``viewer_readers``), which :func:`data_seen_by` reads.
    """
    events = Event.objects.all()
    if type is not None:
        events = events.filter(type=type)
    if not user.is_staff:
        events = events.filter(readers__reader=user).prefetch_related(
            Prefetch("readers", queryset=EventReader.objects.filter(reader=user), to_attr="viewer_readers")
        )
    return events


def events_in_commit_order(user: User, *, type: str | None = None, after: UUID | None = None) -> QuerySet[Event]:
    """Return the events ``user`` may see, oldest first in commit order, later than the event ``after``.

    Only events below the horizon (``ledger.commit_order``): a consumer that asks again after the
    last one it read never misses one that committed late, and never sees one twice.
    :class:`NoSuchEvent` when ``after`` names no event the viewer may see.
    """
    events = commit_order.committed(events_visible_to(user, type=type))
    if after is not None:
        anchor = events_visible_to(user).filter(public_id=after).values_list("txid", "pk").first()
        if anchor is None:
            raise NoSuchEvent(after)
        events = events.filter(commit_order.after(anchor))
    return events.order_by(*commit_order.OLDEST_FIRST)


def event_get(*, user: User, event_id: UUID | str) -> Event:
    """Return the event ``event_id``; ``NotFound`` unless ``user`` may see it."""
    try:
        return events_visible_to(user).get(public_id=event_id)
    except (Event.DoesNotExist, ValueError):
        raise NotFound("No such event.") from None


def data_seen_by(event: Event, viewer: User) -> dict[str, Any]:
    """Return the event's data as ``viewer`` may see it: a client sees only the legs on its own accounts.

    For a client, ``event`` must come from :func:`events_visible_to` (with its reader row).
    """
    data: dict[str, Any] = event.data
    if viewer.is_staff or event.type not in _TRANSACTION_EVENTS:
        return data
    readers: list[EventReader] = getattr(event, "viewer_readers", None) or list(event.readers.filter(reader=viewer))
    return legs_for(data, accounts=(account for reader in readers for account in reader.account_ids))


def legs_for(data: dict[str, Any], *, accounts: Iterable[str]) -> dict[str, Any]:
    """Return transaction ``data`` with only the legs on ``accounts`` (public ids)."""
    own = set(accounts)
    return {**data, "postings": [leg for leg in data.get("postings", []) if leg.get("account_id") in own]}


def document(event: Event, viewer: User) -> dict[str, Any]:
    """Return the event as the API and webhooks deliver it to ``viewer``: ``{id, type, created_at, data}``."""
    return {
        "id": str(event.public_id),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": data_seen_by(event, viewer),
    }

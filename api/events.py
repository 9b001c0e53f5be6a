"""The events endpoint: what changed in the books, oldest first in commit order.

A consumer remembers the id of the last event it processed and asks for the events ``after`` it:
it never misses one that committed late, and never sees one twice (``ledger.commit_order``,
docs/events.md). Which events a client sees, and which of their legs, is the core's
(``events.selectors``); the view validates the query and renders the page.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from api.clients import client_of
from api.documents import EVENT
from api.ids import id_or_404
from api.pagination import SignedCursorPagination
from api.query import StrictQueryViewSet
from api.schema import AUTHENTICATED, VISIBLE, describe, read_errors
from events import selectors
from events.models import Event
from ledger.errors import ValidationFailed

EventSerializer = EVENT.serializer


class EventQuerySerializer(serializers.Serializer):
    after = serializers.UUIDField(
        required=False, help_text="The id of the last event processed: the page starts just after it."
    )
    type = serializers.ChoiceField(choices=Event.Type.choices, required=False, help_text="Only events of this type.")


_PAGE = inline_serializer(
    "EventPage",
    {
        "next": serializers.URLField(
            allow_null=True,
            help_text="The next page (`after` the last event here) while more are ready; null once caught up.",
        ),
        "previous": serializers.URLField(allow_null=True, help_text="Always null: events are read forwards."),
        "results": EventSerializer(many=True),
    },
)


class _PageSchema(AutoSchema):
    """The list answers one page object (``EventPage``), not an array: it pages by ``after``, not by a paginator."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False

    def get_operation_id(self) -> str:
        return "v1_events_list" if getattr(self.view, "action", None) == "list" else super().get_operation_id()


@extend_schema(tags=["Events"])
@extend_schema_view(
    list=extend_schema(
        summary="List events, oldest first in commit order",
        description=describe(
            "A client sees the events touching its accounts (a transaction's with only its own legs); staff "
            "see every event. Ask `after` the last event processed: no event is ever missed or repeated, "
            "even when database transactions commit in another order than they began. An event appears once "
            "every database transaction that began before its own has ended (usually milliseconds).",
            AUTHENTICATED,
            "Answers `{next, previous, results}`: `next` asks `after` the last event of the page while more are "
            "ready, null once caught up. `page_size`: 1 to 200 (default 50). Any other query parameter is "
            "refused (`400 validation_error` naming it).",
        ),
        parameters=[
            EventQuerySerializer,
            OpenApiParameter("page_size", int, description="Results per page, 1 to 200 (default 50)."),
        ],
        responses={200: _PAGE, **read_errors(paged=True, lookup=False, cursor=False)},
    ),
    retrieve=extend_schema(
        summary="Read an event",
        description=describe(
            "One event by its id, its `data` the resource as the API rendered it (a client sees only its own legs).",
            AUTHENTICATED + " " + VISIBLE,
        ),
        responses={200: EventSerializer, **read_errors()},
    ),
)
class EventViewSet(StrictQueryViewSet):
    """The events the client may see."""

    serializer_class = EventSerializer  # Describes the schema; EVENT renders.
    pagination_class = None  # Pages by ``after``, below.
    schema = _PageSchema()
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    queryset = Event.objects.none()  # Only for the schema (the id's type); the selectors read.
    query_inputs = {"list": EventQuerySerializer}

    def page_parameters(self) -> tuple[str, ...]:
        """The list pages by ``after`` (one of its filters) and takes ``page_size``; it has no cursor."""
        return ("page_size",) if self.action == "list" else ()

    def list(self, request: Request) -> Response:
        client = client_of(request)
        query = self.query()
        page_size = SignedCursorPagination().get_page_size(request)
        try:
            found = selectors.events_in_commit_order(client, type=query.get("type"), after=query.get("after"))
        except selectors.NoSuchEvent:
            raise ValidationFailed(errors={"after": ["No event with this id is visible to you."]}) from None
        rows = list(found[: page_size + 1])
        page = rows[:page_size]
        following = None
        if len(rows) > page_size:
            following = replace_query_param(request.build_absolute_uri(), "after", str(page[-1].public_id))
        results = [EVENT.render(selectors.document(event, client)) for event in page]
        return Response({"next": following, "previous": None, "results": results})

    def retrieve(self, request: Request, id: str) -> Response:
        client = client_of(request)
        event = selectors.event_get(user=client, event_id=id_or_404(id, what="event"))
        return Response(EVENT.render(selectors.document(event, client)))

"""The webhook endpoints: a client registers HTTPS URLs that receive, signed, the events it may see.

The rules are the core's (``webhooks.services``: URL checks, secrets, rotation, deletion;
``webhooks.relay``: delivery). Views only translate HTTP: validate the input, call one service,
render the document. An endpoint is its owner's alone (staff included): another client's, or a
deleted one, is ``not_found``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import examples
from api.clients import client_of
from api.documents import (
    INSTANT,
    NULLABLE_INSTANT,
    TEXT,
    UUID,
    Document,
    Kind,
    Prop,
    choice,
    instant,
)
from api.ids import id_or_404
from api.pagination import CommitOrderPagination, SignedCursorPagination
from api.query import StrictQueryViewSet
from api.schema import AUTHENTICATED, PAGE_PARAMETERS, PAGED, describe, read_errors, write_errors
from events.models import Event
from webhooks import selectors, services
from webhooks.models import WebhookDelivery, WebhookEndpoint

# --- documents -----------------------------------------------------------------------------------

_EVENT_TYPES = Kind(lambda **kw: serializers.ListField(child=serializers.CharField(), **kw))
_NULLABLE_INTEGER = Kind(lambda **kw: serializers.IntegerField(allow_null=True, **kw))
_ENDPOINT_STATUSES = [
    (WebhookEndpoint.Status.ACTIVE.value, "active"),
    (WebhookEndpoint.Status.DISABLED.value, "disabled"),
]


def _nullable_instant(value: Any) -> str | None:
    return None if value is None else instant(value)


_ENDPOINT_PROPS: list[Prop[WebhookEndpoint]] = [
    Prop("id", UUID, lambda e, _: str(e.public_id)),
    Prop("url", TEXT, lambda e, _: e.url),
    Prop(
        "event_types",
        _EVENT_TYPES,
        lambda e, _: list(e.event_types),
        'The event types it receives, or `["*"]` for every type.',
    ),
    Prop("description", TEXT, lambda e, _: e.description),
    Prop(
        "status",
        choice(_ENDPOINT_STATUSES),
        lambda e, _: str(e.status),
        "`disabled` once every delivery failed for 5 days: it receives nothing more.",
    ),
    Prop("disabled_at", NULLABLE_INSTANT, lambda e, _: _nullable_instant(e.disabled_at)),
    Prop(
        "previous_secret_expires_at",
        NULLABLE_INSTANT,
        lambda e, _: _nullable_instant(e.previous_secret_expires_at),
        "After a rotation: until then the previous secret signs too (a second signature).",
    ),
    Prop("created_at", INSTANT, lambda e, _: instant(e.created_at)),
]

WEBHOOK_ENDPOINT: Document[WebhookEndpoint] = Document("WebhookEndpoint", _ENDPOINT_PROPS)
WEBHOOK_ENDPOINT_WITH_SECRET: Document[WebhookEndpoint] = Document(
    "WebhookEndpointWithSecret",
    [
        *_ENDPOINT_PROPS,
        Prop(
            "secret",
            TEXT,
            lambda e, _: e.secret,
            "`whsec_` and 32 random bytes in base64; the HMAC key is those bytes. Shown only now.",
        ),
    ],
)

WEBHOOK_DELIVERY: Document[WebhookDelivery] = Document(
    "WebhookDelivery",
    [
        Prop("id", UUID, lambda d, _: str(d.public_id)),
        Prop("event_id", UUID, lambda d, _: str(d.event.public_id), "Also the `webhook-id` header."),
        Prop("event_type", choice(Event.Type.choices), lambda d, _: d.event.type),
        Prop("status", choice(WebhookDelivery.Status.choices), lambda d, _: str(d.status)),
        Prop(
            "attempts",
            Kind(serializers.IntegerField),
            lambda d, _: d.attempts,
            "Attempts so far (since an operator's redelivery, if any).",
        ),
        Prop(
            "last_status_code",
            _NULLABLE_INTEGER,
            lambda d, _: d.last_status_code,
            "The HTTP status of the last answer; null before the first attempt or when none came.",
        ),
        Prop("last_error", TEXT, lambda d, _: d.last_error, "Why the last attempt failed; empty after a success."),
        Prop(
            "next_attempt_at",
            NULLABLE_INSTANT,
            lambda d, _: _nullable_instant(d.next_attempt_at),
            "When it is attempted next; null once succeeded or failed.",
        ),
        Prop("created_at", INSTANT, lambda d, _: instant(d.created_at)),
    ],
)

WebhookEndpointSerializer = WEBHOOK_ENDPOINT.serializer
WebhookEndpointWithSecretSerializer = WEBHOOK_ENDPOINT_WITH_SECRET.serializer
WebhookDeliverySerializer = WEBHOOK_DELIVERY.serializer


# --- inputs --------------------------------------------------------------------------------------


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=2048,
        trim_whitespace=False,
        help_text=(
            "`https://` only. Its host must resolve to public addresses only (not loopback, private, "
            "link-local, multicast or reserved), unless the operator allows it (`LEDGER_WEBHOOK_ALLOWED_HOSTS`)."
        ),
    )
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        allow_empty=False,
        max_length=len(Event.Type.values),
        help_text=f'Event types ({", ".join(Event.Type.values)}), or `["*"]` for every type.',
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class EndpointPagination(CommitOrderPagination):
    """Newest first in commit order: a client may create endpoints at once (``ledger.commit_order``)."""


class DeliveryPagination(SignedCursorPagination):
    """Newest first by id (drawn in commit order: one relay fans out at a time)."""

    ordering = "-id"


# --- the endpoint --------------------------------------------------------------------------------


@extend_schema(tags=["Webhooks"])
@extend_schema_view(
    list=extend_schema(
        summary="List your webhook endpoints, newest first",
        description=describe(
            "The endpoints you registered, with their event types and status; never their secrets.",
            AUTHENTICATED + " Every client, staff too, sees only its own endpoints.",
            PAGED,
        ),
        responses={200: WebhookEndpointSerializer(many=True), **read_errors(paged=True, lookup=False)},
    ),
    retrieve=extend_schema(
        summary="Read a webhook endpoint (never its secret)",
        description=describe(
            "One of your endpoints by its id.", AUTHENTICATED + " Another client's endpoint answers `404 not_found`."
        ),
        responses={200: WebhookEndpointSerializer, **read_errors()},
    ),
)
class WebhookEndpointViewSet(StrictQueryViewSet):
    """The client's webhook endpoints (staff too have only their own)."""

    serializer_class = WebhookEndpointSerializer  # Describes the schema; WEBHOOK_ENDPOINT renders.
    pagination_class = EndpointPagination
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):  # Schema generation has no client.
            return WebhookEndpoint.objects.none()
        return selectors.endpoints_of(client_of(self.request))

    def get_object(self) -> WebhookEndpoint:
        endpoint_id = id_or_404(self.kwargs["id"], what="webhook endpoint")
        return selectors.endpoint_get(owner=client_of(self.request), endpoint_id=endpoint_id)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []  # Always a page: the view paginates.
        return self.get_paginated_response([WEBHOOK_ENDPOINT.render(endpoint) for endpoint in page])

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(WEBHOOK_ENDPOINT.render(self.get_object()))

    @extend_schema(
        summary="Register a webhook endpoint",
        description=describe(
            "From now on, every event the client may see whose type is listed is `POST`ed to `url` as JSON (the "
            "event document, with only the client's legs), signed as Standard Webhooks does: headers `webhook-id` "
            "(the event id), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64 "
            'HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the secret\'s bytes). A 2xx within 10 s is '
            "success; anything else (redirects included: never followed) is retried at once, then after 5 s, "
            "5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then `failed`. Delivery is at least once and unordered: "
            "deduplicate by `webhook-id`. The answer carries the `secret`, shown only here and on rotation.",
            AUTHENTICATED,
            "`url` must be `https://` and must not resolve to a loopback, private, link-local or multicast "
            'address. `event_types` lists event types, or `["*"]` for all. No `Idempotency-Key`: a retry '
            "registers another endpoint.",
            "Answers 201 with the endpoint and its `secret`.",
        ),
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, **write_errors(idempotent=False, lookup=False)},
        examples=[
            examples.request(
                "Every event",
                {"url": "https://hooks.example.com/ledger", "event_types": ["*"], "description": "Bookkeeping"},
            ),
            examples.request(
                "Postings only",
                {"url": "https://hooks.example.com/ledger", "event_types": ["transaction.posted"]},
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        serializer = WebhookEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(owner=client_of(request), **serializer.validated_data)
        return Response(WEBHOOK_ENDPOINT_WITH_SECRET.render(endpoint), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete a webhook endpoint",
        description=describe(
            "It receives nothing more; deliveries still pending fail. Its id is then `not_found`.",
            AUTHENTICATED + " Only your own endpoints.",
        ),
        responses={204: OpenApiResponse(description="Deleted."), **read_errors()},
    )
    def destroy(self, request: Request, id: str) -> Response:
        endpoint_id = id_or_404(id, what="webhook endpoint")
        services.endpoint_delete(owner=client_of(request), endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate the endpoint's secret",
        description=describe(
            "Answers the new `secret` (shown only now). For 24 hours deliveries carry two signatures, "
            "space-separated: the new secret's and the previous one's (`previous_secret_expires_at`); a second "
            "rotation within that time drops the oldest secret.",
            AUTHENTICATED + " Only your own endpoints. Send no body.",
        ),
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer, **read_errors()},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, id: str) -> Response:
        endpoint_id = id_or_404(id, what="webhook endpoint")
        endpoint = services.endpoint_rotate_secret(owner=client_of(request), endpoint_id=endpoint_id)
        return Response(WEBHOOK_ENDPOINT_WITH_SECRET.render(endpoint))

    @extend_schema(
        summary="List an endpoint's deliveries, newest first",
        description=describe(
            "Each event sent (or to be sent) to the endpoint: its status (`pending`, `succeeded`, `failed`), "
            "attempts, the last HTTP status and error, and when the next attempt is due.",
            AUTHENTICATED + " Only your own endpoints.",
            PAGED,
        ),
        parameters=PAGE_PARAMETERS,
        responses={200: WebhookDeliverySerializer(many=True), **read_errors(paged=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=DeliveryPagination)
    def deliveries(self, request: Request, id: str) -> Response:
        deliveries = selectors.deliveries_of(self.get_object())
        page = self.paginate_queryset(deliveries) or []  # Always a page: the view paginates.
        return self.get_paginated_response([WEBHOOK_DELIVERY.render(delivery) for delivery in page])

"""The holds endpoint: place, list and read holds, capture and void them.

A hold reserves money of an account now and moves it later (a capture) or releases it (a void);
the rules are the core's (``transactions.holds``). Views only translate HTTP: validate the input
(``api.inputs``), call one service under the request's ``Idempotency-Key``, render the document
(``api.documents``).
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Hold
from api import examples
from api.clients import client_of
from api.documents import HOLD, TRANSACTION, HoldAt, hold_renderer, holds_now, posting_renderer
from api.idempotency import idempotent_post
from api.ids import id_or_404
from api.inputs import CaptureInputSerializer, HoldInputSerializer, HoldQuerySerializer, VoidInputSerializer
from api.query import StrictQueryViewSet
from api.schema import (
    AUTHENTICATED,
    CAPTURE_REFUSALS,
    HOLD_REFUSALS,
    IDEMPOTENCY_KEY,
    IDEMPOTENT,
    MONEY,
    PAGED,
    VISIBLE,
    VOID_REFUSALS,
    describe,
    read_errors,
    write_errors,
)
from transactions import holds, selectors
from transactions.engine.idempotency import IdempotencyClaim
from transactions.models import Transaction

HoldSerializer = HOLD.serializer
TransactionSerializer = TRANSACTION.serializer


def _hold_id_or_404(value: str) -> UUID:
    """Return the path's hold id; ``not_found`` if it is none (no hold can have that id)."""
    return id_or_404(value, what="hold")


@extend_schema(tags=["Holds"])
@extend_schema_view(
    list=extend_schema(
        summary="List your holds, newest first",
        description=describe(
            "Holds on your accounts, each with its status now (`expired` from `expires_at` on, whether or not "
            "a sweep has recorded it), optionally only those of one `status` or one `account_id` of yours.",
            AUTHENTICATED + " " + VISIBLE,
            PAGED,
        ),
        parameters=[HoldQuerySerializer],
        responses={200: HoldSerializer(many=True), **read_errors(paged=True, lookup=False)},
        examples=[examples.listed("A hold", examples.HOLD)],
    ),
    retrieve=extend_schema(
        summary="Read a hold",
        description=describe(
            "One hold by its id: what it reserved, captured and still reserves, and its captures.",
            AUTHENTICATED + " " + VISIBLE,
        ),
        responses={200: HoldSerializer, **read_errors()},
        examples=[examples.answer("A hold", examples.HOLD)],
    ),
)
class HoldViewSet(StrictQueryViewSet):
    """Holds on the accounts the client owns (staff: every hold)."""

    serializer_class = HoldSerializer  # Describes the schema; HOLD renders.
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    query_inputs = {"list": HoldQuerySerializer}

    def get_queryset(self) -> QuerySet[Hold]:
        if getattr(self, "swagger_fake_view", False):  # Schema generation has no client.
            return Hold.objects.none()
        return selectors.holds_visible_to(client_of(self.request), **self.query())

    def list(self, request: Request) -> Response:
        client = client_of(request)
        page = self.paginate_queryset(self.get_queryset()) or []  # Always a page: the view paginates.
        return self.get_paginated_response([HOLD.render(hold, client) for hold in holds_now(page)])

    def retrieve(self, request: Request, id: str) -> Response:
        client = client_of(request)
        hold = selectors.hold_get(user=client, hold_id=_hold_id_or_404(id))
        return Response(HOLD.render(HoldAt(hold, timezone.now()), client))

    @extend_schema(
        summary="Place a hold: reserve money now, move it later",
        description=describe(
            "Moves no money: the account's `available_balance` falls by `amount`, its `balance` stays. "
            "Refused with `insufficient_funds` when the available balance is below `amount`, and by the "
            "rules of a withdrawal (no destination) or a transfer (with one). `expires_at`: default 7 days "
            "on, at most 30, never in the past; from then the hold is `expired` and reserves nothing.",
            AUTHENTICATED + " The held account must be yours; a destination may be any active account "
            "of the same currency.",
            MONEY,
            IDEMPOTENT,
            "Answers 201 with the hold, `pending`.",
        ),
        request=HoldInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: HoldSerializer, **write_errors(*HOLD_REFUSALS)},
        examples=[
            examples.request("A card authorization", examples.HOLD_REQUEST),
            examples.answer("The hold placed", examples.HOLD, 201),
        ],
    )
    def create(self, request: Request) -> HttpResponse:
        client = client_of(request)

        def perform(claim: IdempotencyClaim[Hold]) -> Hold:
            serializer = HoldInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return holds.hold_create(actor=client, idempotency=claim, **serializer.validated_data)

        return idempotent_post(request, render=hold_renderer(client), perform=perform)

    @extend_schema(
        summary="Capture a pending hold",
        description=describe(
            "Posts a `withdrawal` from the held account (the hold has no destination) or a `transfer` to its "
            "destination, whose `hold_id` is the hold. `amount` defaults to what the hold still reserves; "
            "captures together never exceed the hold (`capture_exceeds_hold`). Capturing everything that "
            "remains, or `final: true`, resolves the hold as `captured` and releases the rest. Never refused "
            "for funds; refused while an account is frozen or closed (`account_inactive`), the hold still "
            "pending; `hold_not_pending` once it is captured, voided or expired.",
            AUTHENTICATED + " " + VISIBLE,
            "Send `{}` to capture everything, or `amount`, `final` and `description`.",
            IDEMPOTENT,
            "Answers 201 with the capture's transaction.",
        ),
        request=CaptureInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(TransactionSerializer, description="The capture, with `hold_id`."),
            **write_errors(*CAPTURE_REFUSALS),
        },
        examples=[
            examples.request("A partial capture", {"amount": "32.50", "final": True, "description": "Corner Cafe"}),
            examples.answer(
                "The capture posted",
                examples.transaction(
                    "withdrawal",
                    amount="32.50",
                    hold_id="e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
                    description="Corner Cafe",
                    reference="AUTH-88121",
                    postings=[
                        {
                            "account_id": examples.ALICE_CHECKING,
                            "amount": "-32.50",
                            "balance_after": "1217.50",
                            "sequence": 8,
                        }
                    ],
                ),
                201,
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def capture(self, request: Request, id: str) -> HttpResponse:
        hold_id = _hold_id_or_404(id)
        client = client_of(request)

        def perform(claim: IdempotencyClaim[Transaction]) -> Transaction:
            serializer = CaptureInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            return holds.hold_capture(
                actor=client,
                hold_id=hold_id,
                amount=data.get("amount"),
                final=data["final"],
                description=data["description"],
                idempotency=claim,
            )

        return idempotent_post(request, render=posting_renderer(TRANSACTION, client), perform=perform)

    @extend_schema(
        summary="Void a pending hold",
        description=describe(
            "Releases what the hold still reserves and resolves it as `voided`; moves no money, so a hold on a "
            "frozen or closed account may be voided. `hold_not_pending` once it is captured, voided or expired.",
            AUTHENTICATED + " " + VISIBLE,
            'Send `{}` or `{"reason": "..."}`.',
            IDEMPOTENT,
            "Answers 200 with the hold, `voided`.",
        ),
        request=VoidInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: OpenApiResponse(HoldSerializer, description="The hold, `voided`."),
            **write_errors(*VOID_REFUSALS),
        },
        examples=[
            examples.request("A void", {"reason": "Order cancelled"}),
            examples.answer(
                "The hold voided",
                {
                    **examples.HOLD,
                    "status": "voided",
                    "remaining_amount": "0.00",
                    "resolved_at": "2026-11-30T10:02:11.000000Z",
                },
            ),
        ],
    )
    @action(detail=True, methods=["post"])
    def void(self, request: Request, id: str) -> HttpResponse:
        hold_id = _hold_id_or_404(id)
        client = client_of(request)

        def perform(claim: IdempotencyClaim[Hold]) -> Hold:
            serializer = VoidInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return holds.hold_void(
                actor=client, hold_id=hold_id, reason=serializer.validated_data["reason"], idempotency=claim
            )

        return idempotent_post(request, render=hold_renderer(client), perform=perform, status=200)

"""HoldService: place, capture, void, read and list holds."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from accounts.models import Hold
from api.documents import HOLD, TRANSACTION, HoldAt, hold_renderer, holds_now, posting_renderer
from api.ids import id_or_404
from api.inputs import CaptureInputSerializer, HoldInputSerializer, HoldQuerySerializer, VoidInputSerializer
from api.pagination import CommitOrderPagination
from grpc_api.accounts import valid
from grpc_api.calls import Call
from grpc_api.messages import as_json, from_document
from grpc_api.pages import page
from grpc_api.registry import method
from grpc_api.v1 import holds_pb2 as pb
from grpc_api.v1 import transactions_pb2
from grpc_api.writes import operation, write
from transactions import holds, selectors
from transactions.engine.idempotency import IdempotencyClaim
from transactions.models import Transaction

_NOT_BODY = ("idempotency_key", "hold_id")  # Over REST: a header, and the path.


@method("HoldService", "CreateHold")
def create_hold(request: pb.CreateHoldRequest, call: Call) -> pb.Hold:
    payload = as_json(request.hold)

    def perform(claim: IdempotencyClaim[Hold]) -> Hold:
        return holds.hold_create(actor=call.client, idempotency=claim, **valid(HoldInputSerializer, payload))

    return write(
        call,
        key=request.idempotency_key,
        operation=operation("hold-list"),
        payload=payload,
        render=hold_renderer(call.client),
        perform=perform,
        answer=pb.Hold,
    )


@method("HoldService", "CaptureHold")
def capture_hold(request: pb.CaptureHoldRequest, call: Call) -> transactions_pb2.Transaction:
    hold_id = id_or_404(request.hold_id, what="hold")
    payload = as_json(request, without=_NOT_BODY)

    def perform(claim: IdempotencyClaim[Transaction]) -> Transaction:
        data = valid(CaptureInputSerializer, payload)
        return holds.hold_capture(
            actor=call.client,
            hold_id=hold_id,
            amount=data.get("amount"),
            final=data["final"],
            description=data["description"],
            idempotency=claim,
        )

    return write(
        call,
        key=request.idempotency_key,
        operation=operation("hold-capture", id=request.hold_id),
        payload=payload,
        render=posting_renderer(TRANSACTION, call.client),
        perform=perform,
        answer=transactions_pb2.Transaction,
    )


@method("HoldService", "VoidHold")
def void_hold(request: pb.VoidHoldRequest, call: Call) -> pb.Hold:
    hold_id = id_or_404(request.hold_id, what="hold")
    payload = as_json(request, without=_NOT_BODY)

    def perform(claim: IdempotencyClaim[Hold]) -> Hold:
        reason = valid(VoidInputSerializer, payload)["reason"]
        return holds.hold_void(actor=call.client, hold_id=hold_id, reason=reason, idempotency=claim)

    return write(
        call,
        key=request.idempotency_key,
        operation=operation("hold-void", id=request.hold_id),
        payload=payload,
        render=hold_renderer(call.client),
        perform=perform,
        answer=pb.Hold,
        status=200,
    )


@method("HoldService", "GetHold")
def get_hold(request: pb.GetHoldRequest, call: Call) -> pb.Hold:
    hold = selectors.hold_get(user=call.client, hold_id=id_or_404(request.hold_id, what="hold"))
    return from_document(HOLD.render(HoldAt(hold, timezone.now()), call.client), pb.Hold)


@method("HoldService", "ListHolds")
def list_holds(request: pb.ListHoldsRequest, call: Call) -> pb.ListHoldsResponse:
    query = valid(HoldQuerySerializer, as_json(request, without=("page_size", "page_token")))
    found = page(
        CommitOrderPagination,
        selectors.holds_visible_to(call.client, **query),
        path=reverse("hold-list"),
        size=request.page_size,
        token=request.page_token,
    )
    return pb.ListHoldsResponse(
        holds=[from_document(HOLD.render(hold, call.client), pb.Hold) for hold in holds_now(found.rows)],
        next_page_token=found.next_page_token,
        previous_page_token=found.previous_page_token,
    )

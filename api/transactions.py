"""Viewsets for transactions, deposits, withdrawals, transfers and batches.

Views only translate HTTP: validate the input (``api.inputs``), call one service, render the
document (``api.documents``). Rules live in the core (``transactions.services``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.clients import client_of
from api.documents import BATCH, TRANSACTION, posting_renderer
from api.idempotency import idempotent_post
from api.ids import id_or_404
from api.inputs import (
    BatchInputSerializer,
    DepositInputSerializer,
    ReversalInputSerializer,
    TransferInputSerializer,
    WithdrawalInputSerializer,
    batch_operations,
)
from api.schema import IDEMPOTENCY_KEY, READ_ERRORS, WRITE_ERRORS, problems
from transactions import selectors, services
from transactions.engine.idempotency import IdempotencyClaim
from transactions.models import Batch, Transaction

TransactionSerializer = TRANSACTION.serializer
BatchSerializer = BATCH.serializer

# A write's service, called with the validated request body and the request's idempotency claim.
Post = Callable[[dict[str, Any], IdempotencyClaim[Transaction]], Transaction]
_View = TypeVar("_View", bound=Callable[..., Any])


def _uuid_or_404(value: str) -> UUID:
    """Return the path's id; ``not_found`` if it is none (no transaction or batch can have that id)."""
    return id_or_404(value, what="transaction")


class IsStaff(permissions.BasePermission):
    """Staff clients only (reversals)."""

    message = "Only staff clients may reverse transactions."

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_staff)


class _TransactionReadViewSet(viewsets.GenericViewSet):
    """Lists (newest first) and single transactions of ``kind``, as far as the client may see."""

    serializer_class = TransactionSerializer  # Describes the schema; TRANSACTION renders.
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    kind: str | None = None

    def get_queryset(self) -> QuerySet[Transaction]:
        if getattr(self, "swagger_fake_view", False):  # Schema generation has no client.
            return Transaction.objects.none()
        return selectors.transactions_visible_to(client_of(self.request), kind=self.kind)

    def list(self, request: Request) -> Response:
        client = client_of(request)
        page = self.paginate_queryset(self.get_queryset()) or []  # Always a page: the view paginates.
        return self.get_paginated_response([TRANSACTION.render(txn, client) for txn in page])

    def retrieve(self, request: Request, id: str) -> Response:
        client = client_of(request)
        txn = selectors.transaction_get(user=client, transaction_id=_uuid_or_404(id), kind=self.kind)
        return Response(TRANSACTION.render(txn, client))

    def post_idempotently(
        self, request: Request, input_serializer: type[serializers.Serializer[Any]], post: Post
    ) -> HttpResponse:
        """Validate ``input_serializer`` and call ``post(data, claim)`` under the request's key."""

        def perform(claim: IdempotencyClaim[Transaction]) -> Transaction:
            serializer = input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return post(serializer.validated_data, claim)

        return idempotent_post(request, render=posting_renderer(TRANSACTION, client_of(request)), perform=perform)


_READ_DOCS = {
    "list": extend_schema(responses={200: TransactionSerializer(many=True), **problems(*READ_ERRORS)}),
    "retrieve": extend_schema(responses={200: TransactionSerializer, **problems(*READ_ERRORS)}),
}


def _create_docs(request: type[serializers.Serializer[Any]], summary: str) -> Callable[[_View], _View]:
    """Return the schema decorator of a movement's ``create``: ``request`` in, the transaction or a problem out."""
    return extend_schema(
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TransactionSerializer, **problems(*WRITE_ERRORS)},
    )


@extend_schema_view(**_READ_DOCS)
class TransactionViewSet(_TransactionReadViewSet):
    """Every transaction the client may see, of any kind; staff may reverse one."""

    @extend_schema(
        summary="Reverse a transaction (staff only)",
        request=ReversalInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(TransactionSerializer, description="The reversal, of kind `reversal`."),
            **problems(*WRITE_ERRORS, 403),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated, IsStaff])
    def reverse(self, request: Request, id: str) -> HttpResponse:
        transaction_id = _uuid_or_404(id)
        staff = client_of(request)
        return self.post_idempotently(
            request,
            ReversalInputSerializer,
            lambda data, claim: services.transaction_reverse(
                actor=staff, transaction_id=transaction_id, reason=data["reason"], idempotency=claim
            ),
        )


class _MovementViewSet(_TransactionReadViewSet):
    """Lists, reads and posts one kind of money movement through its service function."""

    input_serializer_class: type[serializers.Serializer[Any]]
    post_movement: Callable[..., Transaction]  # A service of transactions.services: its keywords vary by kind.

    def create(self, request: Request) -> HttpResponse:
        client = client_of(request)
        return self.post_idempotently(
            request,
            self.input_serializer_class,
            lambda data, claim: self.post_movement(actor=client, idempotency=claim, **data),
        )


@extend_schema_view(**_READ_DOCS, create=_create_docs(DepositInputSerializer, "Deposit money into an account"))
class DepositViewSet(_MovementViewSet):
    kind = Transaction.Kind.DEPOSIT
    input_serializer_class = DepositInputSerializer
    post_movement = staticmethod(services.deposit_create)


@extend_schema_view(**_READ_DOCS, create=_create_docs(WithdrawalInputSerializer, "Withdraw money from an account"))
class WithdrawalViewSet(_MovementViewSet):
    kind = Transaction.Kind.WITHDRAWAL
    input_serializer_class = WithdrawalInputSerializer
    post_movement = staticmethod(services.withdrawal_create)


@extend_schema_view(**_READ_DOCS, create=_create_docs(TransferInputSerializer, "Transfer money between accounts"))
class TransferViewSet(_MovementViewSet):
    kind = Transaction.Kind.TRANSFER
    input_serializer_class = TransferInputSerializer
    post_movement = staticmethod(services.transfer_create)


class BatchViewSet(viewsets.GenericViewSet):
    """Up to 1000 movements in one database transaction, all or nothing."""

    serializer_class = BatchSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[Batch]:
        return Batch.objects.none()  # Reads go through selectors.batch_get.

    @extend_schema(
        summary="Post a batch of movements and holds atomically",
        description=(
            '1 to 1000 operations, each `{"kind": "deposit"|"withdrawal"|"transfer"|"hold", ...}` with the '
            "fields of that endpoint (`hold`: of `POST /api/v1/holds/`). All or nothing: a refusal posts nothing "
            "and its problem document carries `operation`, the index of the refused operation. The answer lists "
            "the transactions and the holds placed, each in the order of the operations."
        ),
        request=BatchInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: BatchSerializer, **problems(*WRITE_ERRORS)},
    )
    def create(self, request: Request) -> HttpResponse:
        client = client_of(request)

        def perform(claim: IdempotencyClaim[Batch]) -> Batch:
            return services.batch_post(actor=client, operations=batch_operations(request.data), idempotency=claim)

        return idempotent_post(request, render=posting_renderer(BATCH, client), perform=perform)

    @extend_schema(responses={200: BatchSerializer, **problems(*READ_ERRORS)})
    def retrieve(self, request: Request, id: str) -> Response:
        client = client_of(request)
        batch = selectors.batch_get(user=client, batch_id=_uuid_or_404(id))
        return Response(BATCH.render(batch, client))

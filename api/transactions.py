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
from rest_framework import permissions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import examples
from api.clients import client_of
from api.documents import BATCH, TRANSACTION, posting_renderer
from api.filters import MovementFilter, SchemaFilterBackend, TransactionFilter
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
from api.query import StrictQueryViewSet
from api.schema import (
    AUTHENTICATED,
    BATCH_REFUSALS,
    DEPOSIT_REFUSALS,
    IDEMPOTENCY_KEY,
    IDEMPOTENT,
    MONEY,
    PAGED,
    REVERSAL_REFUSALS,
    STAFF_ONLY,
    TRANSFER_REFUSALS,
    VISIBLE,
    WITHDRAWAL_REFUSALS,
    describe,
    read_errors,
    write_errors,
)
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


class _TransactionReadViewSet(StrictQueryViewSet):
    """Lists (newest first, filtered) and single transactions of ``kind``, as far as the client may see."""

    serializer_class = TransactionSerializer  # Describes the schema; TRANSACTION renders.
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    kind: str | None = None
    filter_backends = [SchemaFilterBackend]  # The schema's filters; the selector filters.
    filterset_class: type[MovementFilter] = MovementFilter
    query_inputs = {"list": MovementFilter}

    def get_queryset(self) -> QuerySet[Transaction]:
        if getattr(self, "swagger_fake_view", False):  # Schema generation has no client.
            return Transaction.objects.none()
        filters = {"kind": self.kind, **(self.query() if self.action == "list" else {})}  # /transactions/: ?kind=
        return selectors.transactions_visible_to(client_of(self.request), **filters)

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


def _read_docs(kind: str | None) -> dict[str, Callable[[_View], _View]]:
    """Return the schema decorators of a transaction list and read, of ``kind`` (``None``: every kind)."""
    what = f"{kind}s" if kind else "transactions of every kind (deposits, withdrawals, transfers, reversals)"
    one = kind or "transaction"
    example = examples.transaction(kind or "deposit")
    return {
        "list": extend_schema(
            summary=f"List your {kind + 's' if kind else 'transactions'}",
            description=describe(
                f"The {what} touching your accounts, newest first, each with the legs on accounts you may see.",
                AUTHENTICATED + " " + VISIBLE,
                "Filters combine (all must hold): see the query parameters. `account_id` must be one of your "
                "accounts; another client's matches nothing.",
                PAGED,
            ),
            responses={200: TransactionSerializer(many=True), **read_errors(paged=True, lookup=False)},
            examples=[examples.listed(f"A {one}", example)],
        ),
        "retrieve": extend_schema(
            summary=f"Read a {one}",
            description=describe(
                f"One {one} by its id, with its legs on accounts you may see, `reversed_by` once reversed.",
                AUTHENTICATED + " " + VISIBLE,
            ),
            responses={200: TransactionSerializer, **read_errors()},
            examples=[examples.answer(f"A {one}", example)],
        ),
    }


def _create_docs(
    request: type[serializers.Serializer[Any]],
    *,
    kind: str,
    summary: str,
    what: str,
    refusals: tuple[str, ...],
    body: dict[str, Any],
) -> Callable[[_View], _View]:
    """Return the schema decorator of a movement's ``create``: ``request`` in, the transaction or a problem out."""
    return extend_schema(
        summary=summary,
        description=describe(what, AUTHENTICATED, MONEY, IDEMPOTENT, "Answers 201 with the posted transaction."),
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TransactionSerializer, **write_errors(*refusals)},
        examples=[
            examples.request(f"A {kind}", body),
            examples.answer(f"The {kind} posted", examples.transaction(kind), 201),
        ],
    )


@extend_schema(tags=["Transactions"])
@extend_schema_view(**_read_docs(None))
class TransactionViewSet(_TransactionReadViewSet):
    """Every transaction the client may see, of any kind; staff may reverse one."""

    filterset_class = TransactionFilter
    query_inputs = {"list": TransactionFilter}

    @extend_schema(
        summary="Reverse a transaction (staff only)",
        description=describe(
            "Posts a transaction of kind `reversal` that undoes every leg of the original, which becomes "
            "`reversed` (its `reversed_by` names the reversal). A transaction is reversed at most once, and a "
            "reversal is never reversed. Refused like any movement if an account it debits holds too little "
            "or is frozen or closed.",
            STAFF_ONLY,
            'Send `{"reason": "..."}`.',
            IDEMPOTENT,
            "Answers 201 with the reversal.",
        ),
        request=ReversalInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(TransactionSerializer, description="The reversal, of kind `reversal`."),
            **write_errors(*REVERSAL_REFUSALS, staff_only=True),
        },
        examples=[
            examples.request("A reversal", {"reason": "Duplicate payroll run"}),
            examples.answer(
                "The reversal posted",
                examples.transaction(
                    "reversal",
                    id="9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
                    reverses="5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
                    description="Duplicate payroll run",
                ),
                201,
            ),
        ],
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


@extend_schema(tags=["Deposits"])
@extend_schema_view(
    **_read_docs(Transaction.Kind.DEPOSIT),
    create=_create_docs(
        DepositInputSerializer,
        kind="deposit",
        summary="Deposit money into an account",
        what="Credits one of your accounts with money from outside the ledger (a `deposit` transaction).",
        refusals=DEPOSIT_REFUSALS,
        body=examples.DEPOSIT_REQUEST,
    ),
)
class DepositViewSet(_MovementViewSet):
    kind = Transaction.Kind.DEPOSIT
    input_serializer_class = DepositInputSerializer
    post_movement = staticmethod(services.deposit_create)


@extend_schema(tags=["Withdrawals"])
@extend_schema_view(
    **_read_docs(Transaction.Kind.WITHDRAWAL),
    create=_create_docs(
        WithdrawalInputSerializer,
        kind="withdrawal",
        summary="Withdraw money from an account",
        what=(
            "Debits one of your accounts, paying the money out of the ledger (a `withdrawal` transaction). The "
            "amount must not exceed the account's `available_balance` (its balance less pending holds)."
        ),
        refusals=WITHDRAWAL_REFUSALS,
        body=examples.WITHDRAWAL_REQUEST,
    ),
)
class WithdrawalViewSet(_MovementViewSet):
    kind = Transaction.Kind.WITHDRAWAL
    input_serializer_class = WithdrawalInputSerializer
    post_movement = staticmethod(services.withdrawal_create)


@extend_schema(tags=["Transfers"])
@extend_schema_view(
    **_read_docs(Transaction.Kind.TRANSFER),
    create=_create_docs(
        TransferInputSerializer,
        kind="transfer",
        summary="Transfer money between accounts",
        what=(
            "Moves money from one of your accounts (`source_account_id`) to any active account of the same "
            "currency (`destination_account_id`, the payee's), in one `transfer` transaction. The amount must "
            "not exceed the source's `available_balance`."
        ),
        refusals=TRANSFER_REFUSALS,
        body=examples.TRANSFER_REQUEST,
    ),
)
class TransferViewSet(_MovementViewSet):
    kind = Transaction.Kind.TRANSFER
    input_serializer_class = TransferInputSerializer
    post_movement = staticmethod(services.transfer_create)


@extend_schema(tags=["Batches"])
class BatchViewSet(StrictQueryViewSet):
    """Up to 1000 movements in one database transaction, all or nothing."""

    serializer_class = BatchSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[Batch]:
        return Batch.objects.none()  # Reads go through selectors.batch_get.

    @extend_schema(
        summary="Post a batch of movements and holds atomically",
        description=describe(
            '1 to 1000 operations, each `{"kind": "deposit"|"withdrawal"|"transfer"|"hold", ...}` with the '
            "fields of that endpoint (`hold`: of `POST /api/v1/holds/`). All or nothing: a refusal posts nothing "
            "and its problem document carries `operation`, the index of the refused operation. The answer lists "
            "the transactions and the holds placed, each in the order of the operations.",
            AUTHENTICATED,
            MONEY,
            IDEMPOTENT,
        ),
        request=BatchInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: BatchSerializer, **write_errors(*BATCH_REFUSALS)},
        examples=[
            examples.request("A deposit and a transfer", examples.BATCH_REQUEST),
            examples.answer("The batch posted", examples.BATCH, 201),
        ],
    )
    def create(self, request: Request) -> HttpResponse:
        client = client_of(request)

        def perform(claim: IdempotencyClaim[Batch]) -> Batch:
            return services.batch_post(actor=client, operations=batch_operations(request.data), idempotency=claim)

        return idempotent_post(request, render=posting_renderer(BATCH, client), perform=perform)

    @extend_schema(
        summary="Read a batch",
        description=describe(
            "The batch's transactions and holds, as `POST /batches/` answered them.",
            "Only the client that posted the batch, and staff, may read it; others get `404 not_found`.",
        ),
        responses={200: BatchSerializer, **read_errors()},
        examples=[examples.answer("A batch", examples.BATCH)],
    )
    def retrieve(self, request: Request, id: str) -> Response:
        client = client_of(request)
        batch = selectors.batch_get(user=client, batch_id=_uuid_or_404(id))
        return Response(BATCH.render(batch, client))

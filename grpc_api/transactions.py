"""TransactionService: deposits, withdrawals, transfers and reversals, and reading transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse
from rest_framework import exceptions, serializers

from api.documents import TRANSACTION, posting_renderer
from api.ids import id_or_404
from api.inputs import (
    DepositInputSerializer,
    ReversalInputSerializer,
    TransferInputSerializer,
    WithdrawalInputSerializer,
)
from api.pagination import CommitOrderPagination
from grpc_api.accounts import valid
from grpc_api.calls import Call
from grpc_api.messages import as_json, from_document
from grpc_api.pages import page
from grpc_api.registry import method
from grpc_api.v1 import transactions_pb2 as pb
from grpc_api.writes import operation, write
from ledger.errors import ValidationFailed
from transactions import selectors, services
from transactions.engine.idempotency import IdempotencyClaim
from transactions.models import Transaction

# The REST list of each kind a client may list by (its path names the list a page token serves).
LISTS = {
    None: "transaction-list",
    "deposit": "deposit-list",
    "withdrawal": "withdrawal-list",
    "transfer": "transfer-list",
}


def _movement(
    call: Call,
    *,
    key: str,
    route: str,
    body: Any,
    input_serializer: type[serializers.Serializer[Any]],
    service: Callable[..., Transaction],
) -> pb.Transaction:
    """Post one movement as its REST endpoint ``route`` would, under the call's idempotency key."""
    payload = as_json(body)

    def perform(claim: IdempotencyClaim[Transaction]) -> Transaction:
        serializer = input_serializer(data=payload)
        serializer.is_valid(raise_exception=True)
        return service(actor=call.client, idempotency=claim, **serializer.validated_data)

    return write(
        call,
        key=key,
        operation=operation(route),
        payload=payload,
        render=posting_renderer(TRANSACTION, call.client),
        perform=perform,
        answer=pb.Transaction,
    )


@method("TransactionService", "CreateDeposit")
def create_deposit(request: pb.CreateDepositRequest, call: Call) -> pb.Transaction:
    return _movement(
        call,
        key=request.idempotency_key,
        route="deposit-list",
        body=request.deposit,
        input_serializer=DepositInputSerializer,
        service=services.deposit_create,
    )


@method("TransactionService", "CreateWithdrawal")
def create_withdrawal(request: pb.CreateWithdrawalRequest, call: Call) -> pb.Transaction:
    return _movement(
        call,
        key=request.idempotency_key,
        route="withdrawal-list",
        body=request.withdrawal,
        input_serializer=WithdrawalInputSerializer,
        service=services.withdrawal_create,
    )


@method("TransactionService", "CreateTransfer")
def create_transfer(request: pb.CreateTransferRequest, call: Call) -> pb.Transaction:
    return _movement(
        call,
        key=request.idempotency_key,
        route="transfer-list",
        body=request.transfer,
        input_serializer=TransferInputSerializer,
        service=services.transfer_create,
    )


@method("TransactionService", "ReverseTransaction")
def reverse_transaction(request: pb.ReverseTransactionRequest, call: Call) -> pb.Transaction:
    if not call.client.is_staff:
        raise exceptions.PermissionDenied("Only staff clients may reverse transactions.")
    transaction_id = id_or_404(request.transaction_id, what="transaction")
    payload = as_json(request, without=("idempotency_key", "transaction_id"))

    def perform(claim: IdempotencyClaim[Transaction]) -> Transaction:
        data = valid(ReversalInputSerializer, payload)
        return services.transaction_reverse(
            actor=call.client, transaction_id=transaction_id, reason=data["reason"], idempotency=claim
        )

    return write(
        call,
        key=request.idempotency_key,
        operation=operation("transaction-reverse", id=request.transaction_id),
        payload=payload,
        render=posting_renderer(TRANSACTION, call.client),
        perform=perform,
        answer=pb.Transaction,
    )


@method("TransactionService", "GetTransaction")
def get_transaction(request: pb.GetTransactionRequest, call: Call) -> pb.Transaction:
    found = selectors.transaction_get(
        user=call.client, transaction_id=id_or_404(request.transaction_id, what="transaction")
    )
    return from_document(TRANSACTION.render(found, call.client), pb.Transaction)


@method("TransactionService", "ListTransactions")
def list_transactions(request: pb.ListTransactionsRequest, call: Call) -> pb.ListTransactionsResponse:
    kind = request.kind if request.HasField("kind") else None
    if kind not in LISTS:
        raise ValidationFailed(errors={"kind": ["Use one of: deposit, withdrawal, transfer."]})
    found = page(
        CommitOrderPagination,
        selectors.transactions_visible_to(call.client, kind=kind),
        path=reverse(LISTS[kind]),
        size=request.page_size,
        token=request.page_token,
    )
    return pb.ListTransactionsResponse(
        transactions=[from_document(TRANSACTION.render(txn, call.client), pb.Transaction) for txn in found.rows],
        next_page_token=found.next_page_token,
        previous_page_token=found.previous_page_token,
    )

"""AccountService: open, read and list accounts, their balance and their history."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from accounts import selectors, services
from accounts.models import Account
from api.accounts import HistoryPagination, SystemHistoryPagination
from api.documents import ACCOUNT, BALANCE, HISTORY_ENTRY, BalanceAt
from api.ids import id_or_404
from api.inputs import AccountOpenInputSerializer, BalanceQuerySerializer, HistoryQuerySerializer
from api.pagination import CommitOrderPagination
from grpc_api.calls import Call
from grpc_api.messages import as_json, from_document
from grpc_api.pages import page
from grpc_api.registry import method
from grpc_api.v1 import accounts_pb2 as pb
from grpc_api.writes import operation, write
from transactions import selectors as transaction_selectors
from transactions.engine.idempotency import IdempotencyClaim


def valid(serializer_class: type[serializers.Serializer[Any]], data: dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` as ``serializer_class`` validates it; ``validation_error`` naming each invalid field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)  # Refused as REST refuses it (grpc_api.errors).
    return serializer.validated_data


@method("AccountService", "OpenAccount")
def open_account(request: pb.OpenAccountRequest, call: Call) -> pb.Account:
    payload = as_json(request, without=("idempotency_key",))

    def perform(claim: IdempotencyClaim[Account]) -> Account:
        data = valid(AccountOpenInputSerializer, payload)
        return services.account_open(owner=call.client, idempotency=claim, **data)

    return write(
        call,
        key=request.idempotency_key,
        operation=operation("account-list"),
        payload=payload,
        render=ACCOUNT.render_bytes,
        perform=perform,
        answer=pb.Account,
    )


def _account(call: Call, account_id: str) -> Any:
    return selectors.account_get(user=call.client, account_id=id_or_404(account_id, what="account"))


@method("AccountService", "GetAccount")
def get_account(request: pb.GetAccountRequest, call: Call) -> pb.Account:
    return from_document(ACCOUNT.render(_account(call, request.account_id)), pb.Account)


@method("AccountService", "ListAccounts")
def list_accounts(request: pb.ListAccountsRequest, call: Call) -> pb.ListAccountsResponse:
    found = page(
        CommitOrderPagination,
        selectors.accounts_visible_to(call.client),
        path=reverse("account-list"),
        size=request.page_size,
        token=request.page_token,
    )
    return pb.ListAccountsResponse(
        accounts=[from_document(ACCOUNT.render(account), pb.Account) for account in found.rows],
        next_page_token=found.next_page_token,
        previous_page_token=found.previous_page_token,
    )


@method("AccountService", "GetBalance")
def get_balance(request: pb.GetBalanceRequest, call: Call) -> pb.Balance:
    account = _account(call, request.account_id)
    query = valid(BalanceQuerySerializer, as_json(request, without=("account_id",)))
    found = transaction_selectors.balances_as_of(account, query.get("at"))
    document = BALANCE.render(BalanceAt(account, found.balance_minor, found.available_minor, found.as_of))
    return from_document(document, pb.Balance)


@method("AccountService", "ListHistory")
def list_history(request: pb.ListHistoryRequest, call: Call) -> pb.ListHistoryResponse:
    account = _account(call, request.account_id)
    query = valid(HistoryQuerySerializer, as_json(request, without=("account_id", "page_size", "page_token")))
    found = page(
        SystemHistoryPagination if account.is_system else HistoryPagination,
        transaction_selectors.account_history(account, **query),
        path=reverse("account-history", kwargs={"id": str(account.public_id)}),
        size=request.page_size,
        token=request.page_token,
    )
    return pb.ListHistoryResponse(
        entries=[from_document(HISTORY_ENTRY.render(row), pb.HistoryEntry) for row in found.rows],
        next_page_token=found.next_page_token,
        previous_page_token=found.previous_page_token,
    )

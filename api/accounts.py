"""The accounts endpoint: open, list and read accounts, their balance and their history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.models import Account
from api.clients import client_of
from api.documents import ACCOUNT, BALANCE, HISTORY_ENTRY, BalanceAt
from api.idempotency import HEADER, idempotent_post
from api.ids import id_or_404
from api.inputs import AccountOpenInputSerializer, BalanceQuerySerializer, HistoryQuerySerializer
from api.pagination import CommitOrderPagination, SignedCursorPagination
from api.schema import OPTIONAL_IDEMPOTENCY_KEY, PAGE_PARAMETERS, READ_ERRORS, problems
from ledger.errors import ValidationFailed
from transactions import selectors as transaction_selectors
from transactions.engine.idempotency import IdempotencyClaim

AccountSerializer = ACCOUNT.serializer
BalanceSerializer = BALANCE.serializer
HistoryEntrySerializer = HISTORY_ENTRY.serializer


class HistoryPagination(SignedCursorPagination):
    """Newest first by the account's own gap-free posting sequence."""

    ordering = "-sequence"


class SystemHistoryPagination(CommitOrderPagination):
    """Newest first in commit order: a system account's postings carry no sequence, and no lock orders them."""


def _query(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    """Return the query parameters ``serializer_class`` validates; ``validation_error`` if any is invalid."""
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise ValidationFailed(errors={field: [str(m) for m in msgs] for field, msgs in serializer.errors.items()})
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(responses={200: AccountSerializer(many=True), **problems(*READ_ERRORS)}),
    retrieve=extend_schema(responses={200: AccountSerializer, **problems(*READ_ERRORS)}),
    create=extend_schema(
        summary="Open an account",
        request=AccountOpenInputSerializer,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={
            201: AccountSerializer,
            **problems(400, 401, 413, 415, 422, 429, 503, descriptions={422: "`idempotency_key_reused`"}),
        },
    ),
)
class AccountViewSet(viewsets.GenericViewSet):
    """Accounts the client owns (staff: every account)."""

    serializer_class = AccountSerializer  # Describes the schema; ACCOUNT renders.
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):  # Schema generation has no client.
            return Account.objects.none()
        return selectors.accounts_visible_to(client_of(self.request))

    def get_object(self) -> Account:
        account_id = id_or_404(self.kwargs["id"], what="account")
        return selectors.account_get(user=client_of(self.request), account_id=account_id)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []  # Always a page: the view paginates.
        return self.get_paginated_response([ACCOUNT.render(account) for account in page])

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(ACCOUNT.render(self.get_object()))

    def create(self, request: Request) -> HttpResponseBase:
        client = client_of(request)
        if HEADER in request.headers:  # Optional here: a retry with the key answers the same account.

            def perform(claim: IdempotencyClaim[Account]) -> Account:
                serializer = AccountOpenInputSerializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                return services.account_open(owner=client, idempotency=claim, **serializer.validated_data)

            return idempotent_post(request, render=ACCOUNT.render_bytes, perform=perform)
        serializer = AccountOpenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_open(owner=client, **serializer.validated_data)
        return Response(ACCOUNT.render(account), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The account's balance and available balance, now or at an instant",
        description=(
            "With `at`, the balance as it stood at that instant (zero before the first posting), and the "
            "available balance then: the balance less what the account's pending holds reserved at that "
            "instant. `as_of` is the instant both are for: `at`, or now when `at` is omitted or in the future."
        ),
        parameters=[BalanceQuerySerializer],
        responses={200: BalanceSerializer, **problems(*READ_ERRORS)},
    )
    @action(detail=True, methods=["get"])
    def balance(self, request: Request, id: str) -> Response:
        account = self.get_object()
        found = transaction_selectors.balances_as_of(account, _query(BalanceQuerySerializer, request).get("at"))
        return Response(BALANCE.render(BalanceAt(account, found.balance_minor, found.available_minor, found.as_of)))

    @extend_schema(
        summary="The account's postings, newest first",
        parameters=[HistoryQuerySerializer, *PAGE_PARAMETERS],
        description="Signed amounts (positive in, negative out) with the balance after each posting.",
        responses={200: HistoryEntrySerializer(many=True), **problems(*READ_ERRORS)},
    )
    @action(detail=True, methods=["get"], pagination_class=HistoryPagination)
    def history(self, request: Request, id: str) -> Response:
        account = self.get_object()
        if account.is_system:
            self.pagination_class = SystemHistoryPagination
        postings = transaction_selectors.account_history(account, **_query(HistoryQuerySerializer, request))
        page = self.paginate_queryset(postings) or []  # Always a page: the view paginates.
        return self.get_paginated_response([HISTORY_ENTRY.render(row) for row in page])

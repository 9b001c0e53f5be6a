"""The accounts endpoint: open, list and read accounts, their balance and their history."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.models import Account
from api import examples
from api.clients import client_of
from api.documents import ACCOUNT, BALANCE, HISTORY_ENTRY, BalanceAt
from api.idempotency import HEADER, idempotent_post
from api.ids import id_or_404
from api.inputs import AccountOpenInputSerializer, BalanceQuerySerializer, HistoryQuerySerializer
from api.pagination import CommitOrderPagination, SignedCursorPagination
from api.query import StrictQueryViewSet
from api.schema import (
    AUTHENTICATED,
    OPTIONAL_IDEMPOTENCY_KEY,
    PAGE_PARAMETERS,
    PAGED,
    VISIBLE,
    describe,
    read_errors,
    write_errors,
)
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


@extend_schema(tags=["Accounts"])
@extend_schema_view(
    list=extend_schema(
        summary="List your accounts",
        description=describe(
            "Your accounts, newest first, each with its `balance` (what is posted) and `available_balance` "
            "(the balance less what pending holds reserve).",
            AUTHENTICATED + " Staff see every account.",
            PAGED,
        ),
        responses={200: AccountSerializer(many=True), **read_errors(paged=True, lookup=False)},
        examples=[examples.listed("An account", examples.ACCOUNT)],
    ),
    retrieve=extend_schema(
        summary="Read an account",
        description=describe("One account by its id, with its balances now.", AUTHENTICATED + " " + VISIBLE),
        responses={200: AccountSerializer, **read_errors()},
        examples=[examples.answer("An account", examples.ACCOUNT)],
    ),
    create=extend_schema(
        summary="Open an account",
        description=describe(
            "Opens an account of yours in `currency` (one of the ledger's currencies, e.g. `USD`), with an "
            "optional `name` and `metadata` (a JSON object kept as sent). It starts `active` with a zero balance.",
            AUTHENTICATED,
            "Opening moves no money, so `Idempotency-Key` is optional here; with it, a retry answers the "
            "account first opened instead of opening another.",
            "Answers 201 with the account.",
        ),
        request=AccountOpenInputSerializer,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={201: AccountSerializer, **write_errors("idempotency_key_reused", lookup=False)},
        examples=[
            examples.request(
                "A USD account", {"currency": "USD", "name": "Alice checking", "metadata": {"customer": "C-1042"}}
            ),
            examples.answer(
                "The account opened",
                {
                    **examples.ACCOUNT,
                    "balance": "0.00",
                    "available_balance": "0.00",
                    "updated_at": examples.ACCOUNT["created_at"],
                },
                201,
            ),
        ],
    ),
)
class AccountViewSet(StrictQueryViewSet):
    """Accounts the client owns (staff: every account)."""

    serializer_class = AccountSerializer  # Describes the schema; ACCOUNT renders.
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    query_inputs = {"balance": BalanceQuerySerializer, "history": HistoryQuerySerializer}

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
        summary="Read an account's balance, now or at an instant",
        description=describe(
            "The account's balance and available balance. With `at`, the balance as it stood at that instant "
            "(zero before the first posting), and the available balance then: the balance less what the "
            "account's pending holds reserved at that instant. `as_of` is the instant both are for: `at`, or now "
            "when `at` is omitted or in the future.",
            AUTHENTICATED + " " + VISIBLE,
        ),
        parameters=[BalanceQuerySerializer],
        responses={200: BalanceSerializer, **read_errors()},
        examples=[examples.answer("A balance", examples.BALANCE)],
    )
    @action(detail=True, methods=["get"])
    def balance(self, request: Request, id: str) -> Response:
        account = self.get_object()
        found = transaction_selectors.balances_as_of(account, self.query().get("at"))
        return Response(BALANCE.render(BalanceAt(account, found.balance_minor, found.available_minor, found.as_of)))

    @extend_schema(
        summary="List an account's postings, newest first",
        parameters=[HistoryQuerySerializer, *PAGE_PARAMETERS],
        description=describe(
            "The account's postings: signed amounts (positive in, negative out) with the balance after each "
            "posting, filtered by `kind` and the `created_after`/`created_before` window if given.",
            AUTHENTICATED + " " + VISIBLE,
            PAGED,
        ),
        responses={200: HistoryEntrySerializer(many=True), **read_errors(paged=True)},
        examples=[examples.listed("A posting", examples.HISTORY_ENTRY)],
    )
    @action(detail=True, methods=["get"], pagination_class=HistoryPagination)
    def history(self, request: Request, id: str) -> Response:
        account = self.get_object()
        if account.is_system:
            self.pagination_class = SystemHistoryPagination
        postings = transaction_selectors.account_history(account, **self.query())
        page = self.paginate_queryset(postings) or []  # Always a page: the view paginates.
        return self.get_paginated_response([HISTORY_ENTRY.render(row) for row in page])

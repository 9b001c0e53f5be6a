"""Query budgets: a money movement costs a fixed, small number of queries, and a list page
costs the same number of queries however many rows it shows.

The budgets are the numbers measured when these tests were written; a change that adds
queries fails here and must either be fixed or raise the budget deliberately. The tests run
without an enclosing test transaction (``transaction=True``), as a request runs in
production, so no test-only savepoints are counted. Run with ``-s`` to see the SQL.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from api.authentication import forget_tokens
from harness.books import assert_books_balance
from tests.clients import client_for
from tests.factories import AccountFactory
from transactions import holds, services

pytestmark = pytest.mark.django_db(transaction=True)

# Counted with the token looked up (a worker remembers a token for LEDGER_TOKEN_CACHE_SECONDS;
# then each request costs one query less, see the last tests). A movement is: the token, the
# idempotency lookup, BEGIN, the one locking SELECT, the write, COMMIT. The write is one
# statement on PostgreSQL (the transaction, its postings, the balances and the idempotency
# record, see transactions.engine.journal); four elsewhere (the transaction INSERT, the postings
# INSERT, the balances UPDATE, the idempotency record INSERT).
WRITE_QUERIES = 1 if connection.vendor == "postgresql" else 4
TRANSFER_BUDGET = 5 + WRITE_QUERIES
DEPOSIT_BUDGET = 5 + WRITE_QUERIES
# A replay: the token and the idempotency lookup.
REPLAY_BUDGET = 2
# A page: the token (plus the account, for a history), the rows, and their postings in one query.
LIST_PAGE_BUDGET = 3
HISTORY_PAGE_BUDGET = 3


def _count(label: str, call):
    forget_tokens()  # Count the token lookup every time, as a worker's first request pays it.
    with CaptureQueriesContext(connection) as queries:
        response = call()
    print(f"\n--- {label}: {len(queries)} queries ({connection.vendor})")
    for number, query in enumerate(queries.captured_queries, 1):
        print(f"{number:2}. {query['sql'][:400]}")
    return response, len(queries)


def _post(api, path: str, body: dict):
    return api.post(path, body, HTTP_IDEMPOTENCY_KEY=f"qc-{uuid.uuid4()}")


@pytest.fixture
def funded(user) -> tuple[Account, Account]:
    source = AccountFactory(owner=user, currency="USD")
    destination = AccountFactory(owner=user, currency="USD")
    services.deposit_create(actor=user, account_id=source.public_id, amount=Decimal("1000.00"))
    return source, destination


def test_a_transfer_costs_a_fixed_number_of_queries(user, funded):
    source, destination = funded
    api = client_for(user)
    body = {"source_account_id": str(source.public_id), "destination_account_id": str(destination.public_id)}
    counts = []
    for amount in ("1.00", "2.00"):  # the first and a later request cost the same
        response, queries = _count(
            f"POST /api/v1/transfers/ {amount}",
            lambda a=amount: _post(api, "/api/v1/transfers/", {**body, "amount": a}),
        )
        assert response.status_code == 201, response.content
        counts.append(queries)
    assert counts[0] == counts[1]
    assert counts[0] <= TRANSFER_BUDGET
    assert_books_balance()


def test_a_deposit_costs_a_fixed_number_of_queries(user, account):
    api = client_for(user)
    counts = []
    for amount in ("1.00", "2.00"):
        response, queries = _count(
            f"POST /api/v1/deposits/ {amount}",
            lambda a=amount: _post(api, "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": a}),
        )
        assert response.status_code == 201, response.content
        counts.append(queries)
    assert counts[0] == counts[1]
    assert counts[0] <= DEPOSIT_BUDGET
    assert_books_balance()


def test_a_replay_costs_two_queries_and_writes_nothing(user, account):
    api = client_for(user)
    body = {"account_id": str(account.public_id), "amount": "3.00"}
    first = api.post("/api/v1/deposits/", body, HTTP_IDEMPOTENCY_KEY="qc-replay")
    assert first.status_code == 201, first.content

    replay, queries = _count(
        "POST /api/v1/deposits/ replayed", lambda: api.post("/api/v1/deposits/", body, HTTP_IDEMPOTENCY_KEY="qc-replay")
    )

    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert queries <= REPLAY_BUDGET


def _post_transactions(user, staff, mine: Account, payee: Account, count: int) -> None:
    """Post ``count`` transactions touching ``mine``, of every kind in turn: a deposit, a
    withdrawal, a transfer out, a transfer in, and a deposit with its reversal (two rows)."""
    posted = 0
    step = 0
    while posted < count:
        kind = step % 5
        step += 1
        if kind == 0 or (kind == 4 and count - posted < 2):
            services.deposit_create(actor=user, account_id=mine.public_id, amount=Decimal("10.00"))
            posted += 1
        elif kind == 1:
            services.withdrawal_create(actor=user, account_id=mine.public_id, amount=Decimal("1.00"))
            posted += 1
        elif kind == 2:
            services.transfer_create(
                actor=user, source_account_id=mine.public_id, destination_account_id=payee.public_id, amount=Decimal(2)
            )
            posted += 1
        elif kind == 3:
            services.transfer_create(
                actor=payee.owner,
                source_account_id=payee.public_id,
                destination_account_id=mine.public_id,
                amount=Decimal(1),
            )
            posted += 1
        else:
            deposit = services.deposit_create(actor=user, account_id=mine.public_id, amount=Decimal("3.00"))
            services.transaction_reverse(actor=staff, transaction_id=deposit.public_id, reason="test")
            posted += 2


def _list_queries(api, path: str, rows: int) -> int:
    response, queries = _count(f"GET {path} ({rows} rows)", lambda: api.get(path))
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == rows
    return queries


@pytest.mark.parametrize("viewer", ["client", "staff"])
def test_a_transactions_page_costs_the_same_queries_for_5_or_50_rows(user, other_user, staff, viewer):
    mine = AccountFactory(owner=user, currency="USD")
    payee = AccountFactory(owner=other_user, currency="USD")
    api = client_for(user if viewer == "client" else staff)
    path = "/api/v1/transactions/"

    _post_transactions(user, staff, mine, payee, 5)
    few = _list_queries(api, path, 5)
    _post_transactions(user, staff, mine, payee, 45)
    many = _list_queries(api, path, 50)

    assert few == many, f"the list costs {few} queries for 5 rows but {many} for 50"
    assert many <= LIST_PAGE_BUDGET


def _place_holds(user, account: Account, count: int) -> None:
    """Place ``count`` holds on ``account``, every other one captured in part (so it has a capture to list)."""
    for number in range(count):
        hold = holds.hold_create(actor=user, account_id=account.public_id, amount=Decimal("1.00"))
        if number % 2:
            holds.hold_capture(actor=user, hold_id=hold.public_id, amount=Decimal("0.50"))


@pytest.mark.parametrize("viewer", ["client", "staff"])
def test_a_holds_page_costs_the_same_queries_for_5_or_50_rows(user, staff, viewer):
    mine = AccountFactory(owner=user, currency="USD")
    services.deposit_create(actor=user, account_id=mine.public_id, amount=Decimal("1000.00"))
    api = client_for(user if viewer == "client" else staff)
    path = "/api/v1/holds/"

    _place_holds(user, mine, 5)
    few = _list_queries(api, path, 5)
    _place_holds(user, mine, 45)
    many = _list_queries(api, path, 50)

    assert few == many, f"the holds list costs {few} queries for 5 rows but {many} for 50"
    assert many <= LIST_PAGE_BUDGET


def test_a_batch_with_holds_is_read_in_a_fixed_number_of_queries(user, account):
    api = client_for(user)
    counts = []
    for size in (2, 20):
        operations = [{"kind": "deposit", "account_id": str(account.public_id), "amount": "100"}] + [
            {"kind": "hold", "account_id": str(account.public_id), "amount": "1"} for _ in range(size)
        ]
        created = _post(api, "/api/v1/batches/", {"operations": operations})
        assert created.status_code == 201, created.content
        path = f"/api/v1/batches/{created.json()['id']}/"
        response, queries = _count(f"GET {path} ({size} holds)", lambda p=path: api.get(p))
        assert response.status_code == 200
        assert len(response.json()["holds"]) == size
        counts.append(queries)
    assert counts[0] == counts[1]


def test_a_history_page_costs_the_same_queries_for_5_or_50_rows(user, other_user, staff):
    mine = AccountFactory(owner=user, currency="USD")
    payee = AccountFactory(owner=other_user, currency="USD")
    api = client_for(user)
    path = f"/api/v1/accounts/{mine.public_id}/history/"

    _post_transactions(user, staff, mine, payee, 5)
    few = _list_queries(api, path, 5)
    _post_transactions(user, staff, mine, payee, 45)
    many = _list_queries(api, path, 50)

    assert few == many, f"the history costs {few} queries for 5 rows but {many} for 50"
    assert many <= HISTORY_PAGE_BUDGET


def test_a_known_token_is_not_looked_up_again_for_a_while(user, account, settings):
    settings.LEDGER_TOKEN_CACHE_SECONDS = 60
    api = client_for(user)
    path = f"/api/v1/accounts/{account.public_id}/"
    first, cold = _count("GET account, token looked up", lambda: api.get(path))
    with CaptureQueriesContext(connection) as queries:
        second = api.get(path)
    assert first.status_code == second.status_code == 200
    assert len(queries) == cold - 1
    assert not any("authtoken_token" in query["sql"] for query in queries.captured_queries)


def test_a_deactivated_client_or_a_deleted_token_is_refused_at_once(user, account, settings):
    settings.LEDGER_TOKEN_CACHE_SECONDS = 60
    api = client_for(user)
    path = f"/api/v1/accounts/{account.public_id}/"
    assert api.get(path).status_code == 200
    user.is_active = False
    user.save()
    assert api.get(path).status_code == 401
    user.is_active = True
    user.save()
    assert api.get(path).status_code == 200
    user.auth_token.delete()
    assert api.get(path).status_code == 401


def test_the_token_cache_can_be_turned_off(user, account, settings):
    settings.LEDGER_TOKEN_CACHE_SECONDS = 0
    api = client_for(user)
    path = f"/api/v1/accounts/{account.public_id}/"
    api.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path).status_code == 200
    assert any("authtoken_token" in query["sql"] for query in queries.captured_queries)

"""POST /api/v1/batches/ and GET /api/v1/batches/{id}/: many movements, all or nothing."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from harness.books import assert_books_balance
from tests.api.helpers import (
    assert_json,
    assert_problem,
    balance_of,
    body_of,
    deposited,
    ledger_snapshot,
    new_key,
)
from tests.clients import client_for
from tests.factories import AccountFactory
from transactions.models import Batch, Transaction


def post_batch(client, operations, *, key=None):
    return client.post("/api/v1/batches/", {"operations": operations}, HTTP_IDEMPOTENCY_KEY=key or new_key())


def test_a_batch_posts_its_movements_in_order_each_seeing_the_ones_before(api, account, other_user):
    payee = AccountFactory(owner=other_user)
    operations = [
        {"kind": "deposit", "account_id": str(account.public_id), "amount": "100.00", "reference": "in"},
        {"kind": "transfer", "source_account_id": str(account.public_id),
         "destination_account_id": str(payee.public_id), "amount": "60.00"},
        {"kind": "withdrawal", "account_id": str(account.public_id), "amount": "40.00"},
    ]  # fmt: skip
    batch = assert_json(post_batch(api, operations), 201)
    assert [txn["kind"] for txn in batch["transactions"]] == ["deposit", "transfer", "withdrawal"]
    assert [txn["amount"] for txn in batch["transactions"]] == ["100.00", "60.00", "40.00"]
    assert batch["transactions"][0]["reference"] == "in"
    assert balance_of(api, account.public_id) == "0.00"
    assert Account.objects.get(pk=payee.pk).balance_minor == 6000
    assert set(Transaction.objects.filter(batch__public_id=batch["id"]).values_list("kind", flat=True)) == {
        "deposit",
        "transfer",
        "withdrawal",
    }
    assert assert_json(api.get(f"/api/v1/batches/{batch['id']}/"), 200) == batch
    assert_books_balance()


def test_a_refused_operation_posts_nothing_and_is_named_by_its_index(api, account):
    deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    operations = [
        {"kind": "deposit", "account_id": str(account.public_id), "amount": "5.00"},
        {"kind": "withdrawal", "account_id": str(account.public_id), "amount": "15.00"},
        {"kind": "withdrawal", "account_id": str(account.public_id), "amount": "1.00"},  # would overdraw
    ]
    problem = assert_problem(post_batch(api, operations), 422, "insufficient_funds")
    assert problem["operation"] == 2
    assert ledger_snapshot() == before
    assert not Batch.objects.exists()


def test_an_invalid_operation_is_a_validation_error_naming_its_index(api, account):
    operations = [
        {"kind": "deposit", "account_id": str(account.public_id), "amount": "5.00"},
        {"kind": "deposit", "account_id": str(account.public_id), "amount": "1.005"},
    ]
    problem = assert_problem(post_batch(api, operations), 400, "validation_error")
    assert problem["operation"] == 1
    assert problem["errors"] == {"operations.1.amount": ["USD amounts have at most 2 decimal places."]}
    malformed = [operations[0], {"kind": "refund", "account_id": str(account.public_id), "amount": "1"}]
    problem = assert_problem(post_batch(api, malformed), 400, "validation_error", fields=("operations.1.kind",))
    assert problem["operation"] == 1
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("count", [0, 1001])
def test_a_batch_has_1_to_1000_operations(api, account, count):
    operations = [{"kind": "deposit", "account_id": str(account.public_id), "amount": "1"}] * count
    assert_problem(post_batch(api, operations), 400, "validation_error", fields=("operations",))


def test_a_batch_over_the_limit_is_refused_as_a_whole_before_any_operation_is_read(api):
    problem = assert_problem(post_batch(api, [{}] * 50_000), 400, "validation_error", fields=("operations",))
    assert list(problem["errors"]) == ["operations"]  # Not 50,000 errors, one an operation.


def test_another_clients_account_is_not_found_in_a_batch(api, account, other_user):
    stranger = AccountFactory(owner=other_user)
    operations = [
        {"kind": "deposit", "account_id": str(account.public_id), "amount": "1"},
        {"kind": "withdrawal", "account_id": str(stranger.public_id), "amount": "1"},
    ]
    assert assert_problem(post_batch(api, operations), 404, "not_found")["operation"] == 1


def test_a_batch_is_idempotent_like_every_write(api, account):
    operations = [{"kind": "deposit", "account_id": str(account.public_id), "amount": "3.00"}]
    first = post_batch(api, operations, key="batch-key")
    again = post_batch(api, operations, key="batch-key")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1
    other = [{"kind": "deposit", "account_id": str(account.public_id), "amount": "4.00"}]
    assert_problem(post_batch(api, other, key="batch-key"), 422, "idempotency_key_reused")


def test_a_batch_is_seen_by_its_client_and_staff_only(api, other_api, staff_api, account):
    operations = [{"kind": "deposit", "account_id": str(account.public_id), "amount": "1"}]
    batch = assert_json(post_batch(api, operations), 201)
    assert_problem(other_api.get(f"/api/v1/batches/{batch['id']}/"), 404, "not_found")
    assert assert_json(staff_api.get(f"/api/v1/batches/{batch['id']}/"), 200)["id"] == batch["id"]
    assert_problem(api.get("/api/v1/batches/not-a-uuid/"), 404, "not_found")


def test_a_batch_of_1000_transfers_posts_in_a_fixed_number_of_queries(api, account, user):
    accounts = [account, *(AccountFactory(owner=user) for _ in range(9))]
    deposited(api, account.public_id, "10000.00")
    operations = [
        {"kind": "transfer", "source_account_id": str(accounts[i % 10].public_id),
         "destination_account_id": str(accounts[(i + 1) % 10].public_id), "amount": "1.00"}
        for i in range(1000)
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        response = post_batch(api, operations)
    batch = assert_json(response, 201)
    assert len(batch["transactions"]) == 1000
    # token, key lookup, savepoint, lock, batch, transactions, postings, balances, key record, release
    assert len(queries) <= 12, [q["sql"][:120] for q in queries]
    assert balance_of(api, account.public_id) == "10000.00"
    assert_books_balance()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_crossing_each_others_accounts_never_deadlock(user):
    accounts = [AccountFactory(owner=user) for _ in range(6)]
    client = client_for(user)
    for account in accounts:
        deposited(client, account.public_id, "1000.00")
    start = threading.Barrier(8)

    def post(seed: int):
        rng = random.Random(seed)
        api = client_for(user)
        try:
            start.wait(timeout=30)
            statuses = []
            for _ in range(5):
                operations = []
                for _ in range(20):
                    source, destination = rng.sample(accounts, 2)
                    operations.append(
                        {"kind": "transfer", "source_account_id": str(source.public_id),
                         "destination_account_id": str(destination.public_id), "amount": "1.00"}
                    )  # fmt: skip
                statuses.append(post_batch(api, operations).status_code)
            return statuses
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [status for statuses in pool.map(post, range(8)) for status in statuses]
    assert results == [201] * 40
    total = sum(Account.objects.get(pk=a.pk).balance_minor for a in accounts)
    assert total == 6 * 100000  # transfers only move money around
    assert_books_balance()


def test_batch_errors_follow_the_problem_format(api):
    response = api.post("/api/v1/batches/", {"operations": "nope"}, HTTP_IDEMPOTENCY_KEY=new_key())
    assert_problem(response, 400, "validation_error", fields=("operations",))
    missing_key = api.post("/api/v1/batches/", {"operations": []})
    assert_problem(missing_key, 400, "idempotency_key_required")
    assert body_of(missing_key)["status"] == 400

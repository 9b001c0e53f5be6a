"""Racing requests on PostgreSQL: real threads, one database connection each.

Each thread makes its request through its own API client, so Django gives it its own
connection; the requests meet at a barrier so that they really hit the database together.
Every thread closes its connection when done, so that the test database can be dropped.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection

from accounts.models import Account
from harness.books import assert_books_balance
from tests.clients import client_for
from tests.factories import AccountFactory
from transactions.models import IdempotencyRecord, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BARRIER_TIMEOUT = 30  # seconds; a thread that never arrives breaks the barrier instead of hanging the test


@dataclass(frozen=True)
class Answer:
    """What a client sees of one response, taken inside the thread that made the request."""

    status: int
    headers: dict[str, str]
    content: bytes

    @property
    def data(self) -> Any:
        return json.loads(self.content)

    @property
    def code(self) -> str | None:
        return self.data.get("code") if self.status >= 400 else None


def _answer(response) -> Answer:
    return Answer(status=response.status_code, headers=dict(response.headers.items()), content=response.content)


def race(count: int, request: Callable[[int], Any]) -> list[Answer]:
    """Run ``request(i)`` for i in 0..count-1 in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT)
    answers: list[Answer | None] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier, so the requests race, not the connects
            barrier.wait()
            answers[index] = _answer(request(index))
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    if errors:
        raise errors[0]
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def key() -> str:
    return f"race-{uuid.uuid4()}"


def balance_of(api, account: Account) -> str:
    response = api.get(f"/api/v1/accounts/{account.public_id}/balance/")
    assert response.status_code == 200, response.content
    return response.json()["balance"]


def deposit(api, account: Account, amount: str) -> dict:
    response = api.post(
        "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": amount}, HTTP_IDEMPOTENCY_KEY=key()
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_racing_withdrawals_never_overdraw(user, account):
    api = client_for(user)
    deposit(api, account, "100.00")

    answers = race(
        40,
        lambda i: client_for(user).post(
            "/api/v1/withdrawals/",
            {"account_id": str(account.public_id), "amount": "10.00"},
            HTTP_IDEMPOTENCY_KEY=key(),
        ),
    )

    assert Counter((a.status, a.code) for a in answers) == {(201, None): 10, (422, "insufficient_funds"): 30}
    assert balance_of(api, account) == "0.00"
    assert Transaction.objects.filter(kind="withdrawal").count() == 10
    assert_books_balance()


def test_crossing_transfers_between_two_accounts_never_deadlock(user):
    a = AccountFactory(owner=user, currency="USD")
    b = AccountFactory(owner=user, currency="USD")
    api = client_for(user)
    deposit(api, a, "1000.00")
    deposit(api, b, "1000.00")
    # The same 100 amounts each way (at most 7.99 each, 800 at most in all), so every
    # transfer can succeed in any order and the balances end where they started.
    amounts = [f"{i % 7 + 1}.{i % 100:02d}" for i in range(100)]
    jobs = [(a, b, amount) for amount in amounts] + [(b, a, amount) for amount in amounts]
    jobs = [job for pair in zip(jobs[:100], jobs[100:], strict=True) for job in pair]  # interleave directions
    workers = 16
    barrier = threading.Barrier(workers, timeout=BARRIER_TIMEOUT)

    def transfer(job: tuple[Account, Account, str]) -> Answer:
        source, destination, amount = job
        try:
            return _answer(
                client_for(user).post(
                    "/api/v1/transfers/",
                    {
                        "source_account_id": str(source.public_id),
                        "destination_account_id": str(destination.public_id),
                        "amount": amount,
                    },
                    HTTP_IDEMPOTENCY_KEY=key(),
                )
            )
        finally:
            connection.close()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, initializer=barrier.wait) as pool:
        answers = list(pool.map(transfer, jobs, timeout=120))
    elapsed = time.monotonic() - started
    print(f"\n200 crossing transfers from {workers} threads: {elapsed:.2f}s")

    assert Counter(a.status for a in answers) == {201: 200}, [a.content for a in answers if a.status != 201][:3]
    assert balance_of(api, a) == "1000.00"
    assert balance_of(api, b) == "1000.00"
    assert Transaction.objects.filter(kind="transfer").count() == 200
    assert_books_balance()


def test_racing_requests_with_one_key_post_once_and_replay_the_same_answer(user, account):
    api = client_for(user)
    idempotency_key = key()
    body = {"account_id": str(account.public_id), "amount": "25.00", "reference": "one-key"}

    answers = race(10, lambda i: client_for(user).post("/api/v1/deposits/", body, HTTP_IDEMPOTENCY_KEY=idempotency_key))

    assert [a.status for a in answers] == [201] * 10, [a.content for a in answers]
    assert len({a.content for a in answers}) == 1, "replays must be byte-identical to the first answer"
    replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
    assert Counter(replayed) == {"true": 9, None: 1}
    posted = Transaction.objects.filter(kind="deposit")
    assert posted.count() == 1
    assert answers[0].data["id"] == str(posted.get().public_id)
    assert IdempotencyRecord.objects.filter(client=user, key=idempotency_key).count() == 1
    assert balance_of(api, account) == "25.00"
    assert_books_balance()


def test_racing_reversals_reverse_once(user, account, staff):
    original = deposit(client_for(user), account, "50.00")

    answers = race(
        8,
        lambda i: client_for(staff).post(
            f"/api/v1/transactions/{original['id']}/reverse/", {"reason": f"racer {i}"}, HTTP_IDEMPOTENCY_KEY=key()
        ),
    )

    assert Counter((a.status, a.code) for a in answers) == {(201, None): 1, (422, "already_reversed"): 7}
    (reversal,) = [a.data for a in answers if a.status == 201]
    assert reversal["kind"] == "reversal"
    assert reversal["reverses"] == original["id"]
    after = client_for(staff).get(f"/api/v1/transactions/{original['id']}/").json()
    assert after["status"] == "reversed"
    assert after["reversed_by"] == reversal["id"]
    assert Transaction.objects.filter(kind="reversal").count() == 1
    assert balance_of(client_for(user), account) == "0.00"
    assert_books_balance()


@contextlib.contextmanager
def lock_timeout_of_300ms() -> Iterator[None]:
    """Bound this thread's lock waits at 300 ms (the service's own is 5 s) while the block runs."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def _raw_connection() -> psycopg.Connection:
    """A second connection to the test database, outside Django."""
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "user": settings.get("USER"),
        "password": settings.get("PASSWORD"),
        "host": settings.get("HOST"),
        "port": settings.get("PORT"),
    }
    return psycopg.connect(**{k: str(v) for k, v in params.items() if v}, connect_timeout=5)


def test_a_lock_wait_that_runs_out_answers_503_and_posts_nothing(user, account):
    api = client_for(user)
    deposit(api, account, "30.00")
    transactions_before = Transaction.objects.count()
    idempotency_key = key()
    body = {"account_id": str(account.public_id), "amount": "5.00"}

    holder = _raw_connection()
    try:
        holder.execute("SELECT id FROM accounts_account WHERE id = %s FOR UPDATE", [account.pk])  # opens a transaction
        with lock_timeout_of_300ms():
            started = time.monotonic()
            response = api.post("/api/v1/withdrawals/", body, HTTP_IDEMPOTENCY_KEY=idempotency_key)
            elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unavailable"
    assert int(response["Retry-After"]) >= 1
    assert elapsed < 5, f"the request waited {elapsed:.1f}s for a lock bounded at 300ms"
    assert Transaction.objects.count() == transactions_before
    assert not IdempotencyRecord.objects.filter(client=user, key=idempotency_key).exists()
    assert balance_of(api, account) == "30.00"

    # Nothing was bound to the key: once the lock is gone, the same request succeeds.
    retry = api.post("/api/v1/withdrawals/", body, HTTP_IDEMPOTENCY_KEY=idempotency_key)
    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry
    assert balance_of(api, account) == "25.00"
    assert_books_balance()


def test_deposits_and_withdrawals_of_one_currency_do_not_wait_for_each_other(user):
    """No lane per currency: while another transaction holds the currency's system account and one
    customer account locked, as a writer would (FOR NO KEY UPDATE), deposits and a withdrawal on
    other accounts of that currency answer 201 in normal time; the locked customer's own deposit
    waits for that lock and, when its wait is bounded, answers 503 and posts nothing."""
    held, *free = [AccountFactory(owner=user, currency="USD") for _ in range(4)]
    api = client_for(user)
    for account in free:
        deposit(api, account, "10.00")
    system = Account.objects.get(is_system=True, currency="USD")
    before = Transaction.objects.count()

    holder = _raw_connection()
    try:
        holder.execute(
            "SELECT id FROM accounts_account WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [[system.pk, held.pk]]
        )
        clients = [client_for(user) for _ in range(3)]
        paths = ["/api/v1/deposits/", "/api/v1/deposits/", "/api/v1/withdrawals/"]
        started = time.monotonic()
        answers = race(
            3,
            lambda i: clients[i].post(
                paths[i], {"account_id": str(free[i].public_id), "amount": "2.50"}, HTTP_IDEMPOTENCY_KEY=key()
            ),
        )
        elapsed = time.monotonic() - started
        with lock_timeout_of_300ms():
            blocked = api.post(
                "/api/v1/deposits/", {"account_id": str(held.public_id), "amount": "1.00"}, HTTP_IDEMPOTENCY_KEY=key()
            )
    finally:
        holder.rollback()
        holder.close()

    assert [a.status for a in answers] == [201, 201, 201], [a.content for a in answers]
    # The engine's lock timeout is 5 s: an answer that had waited for the held rows would take that long.
    assert elapsed < 3, f"the three movements took {elapsed:.1f}s while unrelated rows were locked"
    assert blocked.status_code == 503, blocked.content
    assert Transaction.objects.count() == before + 3
    assert [balance_of(api, account) for account in free] == ["12.50", "12.50", "7.50"]
    assert balance_of(api, held) == "0.00"
    assert_books_balance()


def test_a_storm_of_mixed_movements_keeps_every_balance_exact(user, staff):
    """Deposits, withdrawals, transfers every way between four accounts, and reversals, all at
    once: no request fails for a lost race, and each balance is the start plus every 201's legs."""
    accounts = [AccountFactory(owner=user, currency="USD") for _ in range(4)]
    api = client_for(user)
    reversible = []
    for account in accounts:
        deposit(api, account, "40.00")
        reversible += [deposit(api, account, "1.00")["id"] for _ in range(5)]
    start = {str(account.public_id): Decimal(balance_of(api, account)) for account in accounts}
    ids = list(start)
    rng = random.Random(20261121)
    jobs: list[tuple[str, dict[str, Any]]] = [(f"/api/v1/transactions/{txn}/reverse/", {}) for txn in reversible]
    for _ in range(220):
        amount = f"{rng.randint(1, 1500) / 100:.2f}"
        match rng.choice(["deposit", "withdrawal", "transfer", "transfer"]):
            case "deposit":
                jobs.append(("/api/v1/deposits/", {"account_id": rng.choice(ids), "amount": amount}))
            case "withdrawal":
                jobs.append(("/api/v1/withdrawals/", {"account_id": rng.choice(ids), "amount": amount}))
            case "transfer":
                source, destination = rng.sample(ids, 2)
                jobs.append(
                    (
                        "/api/v1/transfers/",
                        {"source_account_id": source, "destination_account_id": destination, "amount": amount},
                    )
                )
    rng.shuffle(jobs)
    workers = 16
    barrier = threading.Barrier(workers, timeout=BARRIER_TIMEOUT)

    def post(job: tuple[str, dict[str, Any]]) -> Answer:
        path, body = job
        try:
            if path.endswith("/reverse/"):
                return _answer(client_for(staff).post(path, {"reason": "storm"}, HTTP_IDEMPOTENCY_KEY=key()))
            return _answer(client_for(user).post(path, body, HTTP_IDEMPOTENCY_KEY=key()))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers, initializer=barrier.wait) as pool:
        answers = list(pool.map(post, jobs, timeout=180))

    outcomes = Counter((a.status, a.code) for a in answers)
    print(f"\nstorm of {len(jobs)} movements: {dict(outcomes)}")
    assert set(outcomes) <= {(201, None), (422, "insufficient_funds")}, outcomes
    assert outcomes[(201, None)] >= len(jobs) // 2, "the workload should mostly succeed, or it proves little"
    expected = dict(start)
    for answer in answers:
        if answer.status == 201:
            for leg in answer.data["postings"]:
                if leg["account_id"] in expected:
                    expected[leg["account_id"]] += Decimal(leg["amount"])
    actual = {str(account.public_id): Decimal(balance_of(api, account)) for account in accounts}
    assert actual == expected
    assert_books_balance()

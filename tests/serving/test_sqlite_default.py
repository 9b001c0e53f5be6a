"""The embedded default: the real project commands on a SQLite file, served over HTTP.

``migrate``, ``create_api_client`` and a real server (``runserver`` as ``make run`` starts
it, and gunicorn with several processes and threads) run as subprocesses on a fresh SQLite
database in a temporary folder. A client then opens accounts and moves money over HTTP,
and racing withdrawals show that SQLite writers are serialized (``BEGIN IMMEDIATE``, WAL,
a busy timeout): none overdraws, none is refused as busy.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from harness.books import assert_books_balance
from harness.commands import manage
from harness.environment import project_env
from harness.ports import free_port
from harness.servers import REQUEST_TIMEOUT, Answer, http, serve, server_command


def key() -> str:
    return f"sqlite-{uuid.uuid4()}"


@pytest.mark.parametrize("server", ["runserver", "gunicorn"])
def test_the_embedded_sqlite_default_serves_the_api(tmp_path, server):
    database = tmp_path / "db.sqlite3"
    env = project_env(DATABASE_URL=f"sqlite:///{database}", DJANGO_DEBUG="True", LOG_LEVEL="WARNING")

    manage(env, "migrate", "--noinput")
    token = manage(env, "create_api_client", "smoke").stdout
    assert re.fullmatch(r"[0-9a-f]{40}\n?", token), f"stdout must be the token alone, got {token!r}"
    token = token.strip()
    assert manage(env, "create_api_client", "smoke").stdout.strip() == token, "a second run prints the same token"

    port = free_port()
    started = time.monotonic()
    with serve(server_command(server, port), env, port, tmp_path / "server.log") as base:
        print(f"\n{server} on SQLite answered after {time.monotonic() - started:.1f}s")

        def call(method: str, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Answer:
            return http(base, method, path, body, token=token, key=idempotency_key)

        # Open two accounts and move money between them.
        a = call("POST", "/api/v1/accounts/", {"currency": "USD", "name": "a"})
        b = call("POST", "/api/v1/accounts/", {"currency": "USD", "name": "b"})
        assert (a.status, b.status) == (201, 201), (a.body, b.body)
        a_id, b_id = a.body["id"], b.body["id"]
        assert a.body["balance"] == "0.00"

        deposit_key = key()
        deposit = call(
            "POST", "/api/v1/deposits/", {"account_id": a_id, "amount": "100.00"}, idempotency_key=deposit_key
        )
        assert deposit.status == 201, deposit.body
        assert deposit.body["amount"] == "100.00"
        replay = call(
            "POST", "/api/v1/deposits/", {"account_id": a_id, "amount": "100.00"}, idempotency_key=deposit_key
        )
        assert (replay.status, replay.header("Idempotent-Replayed"), replay.body) == (201, "true", deposit.body)

        withdrawal = call(
            "POST", "/api/v1/withdrawals/", {"account_id": a_id, "amount": "30.00"}, idempotency_key=key()
        )
        assert withdrawal.status == 201, withdrawal.body
        transfer = call(
            "POST",
            "/api/v1/transfers/",
            {"source_account_id": a_id, "destination_account_id": b_id, "amount": "20.00"},
            idempotency_key=key(),
        )
        assert transfer.status == 201, transfer.body
        overdraft = call("POST", "/api/v1/withdrawals/", {"account_id": b_id, "amount": "20.01"}, idempotency_key=key())
        assert (overdraft.status, overdraft.body["code"]) == (422, "insufficient_funds")

        assert call("GET", f"/api/v1/accounts/{a_id}/balance/").body["balance"] == "50.00"
        assert call("GET", f"/api/v1/accounts/{b_id}/balance/").body["balance"] == "20.00"
        history = call("GET", f"/api/v1/accounts/{a_id}/history/")
        assert history.status == 200, history.body
        rows = [(r["kind"], r["amount"], r["balance_after"]) for r in history.body["results"]]
        assert rows == [
            ("transfer", "-20.00", "50.00"),
            ("withdrawal", "-30.00", "70.00"),
            ("deposit", "100.00", "100.00"),
        ]

        # Racing withdrawals against exactly enough for ten of them.
        c = call("POST", "/api/v1/accounts/", {"currency": "USD", "name": "c"}).body["id"]
        funded = call("POST", "/api/v1/deposits/", {"account_id": c, "amount": "100.00"}, idempotency_key=key())
        assert funded.status == 201, funded.body
        racers = 20
        barrier = threading.Barrier(racers, timeout=30)
        answers: list[Answer | BaseException | None] = [None] * racers

        def withdraw(index: int) -> None:
            try:
                barrier.wait()
                answers[index] = call(
                    "POST", "/api/v1/withdrawals/", {"account_id": c, "amount": "10.00"}, idempotency_key=key()
                )
            except BaseException as exc:  # reported below
                answers[index] = exc

        threads = [threading.Thread(target=withdraw, args=(i,)) for i in range(racers)]
        race_started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 35)
        assert not any(thread.is_alive() for thread in threads), "a racing withdrawal hung"
        print(f"{racers} racing withdrawals took {time.monotonic() - race_started:.2f}s")
        failures = [answer for answer in answers if not isinstance(answer, Answer)]
        assert not failures, failures
        outcomes = Counter((answer.status, (answer.body or {}).get("code")) for answer in answers)  # type: ignore[union-attr]
        assert outcomes == {(201, None): 10, (422, "insufficient_funds"): 10}, outcomes
        assert call("GET", f"/api/v1/accounts/{c}/balance/").body["balance"] == "0.00"

    # The books, read straight from the file the server wrote.
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert_books_balance(db)
        assert db.execute("SELECT COUNT(*) FROM transactions_transaction").fetchone()[0] == 14  # 3 + 1 + 10

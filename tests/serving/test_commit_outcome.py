"""A connection lost during COMMIT: the answer says the outcome is unknown, and a retry tells.

gunicorn (production settings, one worker thread) reaches PostgreSQL through a proxy
(:mod:`tests.serving.pgproxy`) that drops the connection at an exact point:

- after forwarding ``COMMIT`` and letting the server finish it (the deposit committed; only the
  answer is lost): 503 ``unavailable`` with ``"outcome": "unknown"``, and the retry with the same
  ``Idempotency-Key`` replays the committed 201;
- instead of forwarding ``COMMIT`` (nothing committed, but the client cannot know): the same 503,
  and the retry posts the deposit, once;
- before the write itself: a plain 503 that says nothing was posted, and the retry posts.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from harness.books import assert_books_balance
from harness.ports import free_port
from harness.servers import gunicorn_command, http, serve
from tests.factories import AccountFactory, UserFactory
from tests.serving.helpers import production_env
from tests.serving.pgproxy import AFTER_COMMIT, INSTEAD_OF_COMMIT, Fault, postgres_proxy
from transactions.models import IdempotencyRecord, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE_WRITE = Fault(b"INSERT INTO transactions_transaction", forward=False)


def _proxied_url(port: int) -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@127.0.0.1:{port}/{db['NAME']}?sslmode=disable&gssencmode=disable"


def _deposits(account) -> int:
    return Transaction.objects.filter(kind="deposit", destination_account=account).count()


def test_a_commit_whose_answer_is_lost_says_outcome_unknown_and_the_retry_replays_it(tmp_path):
    client = UserFactory()
    account = AccountFactory(owner=client, currency="USD")
    db = connection.settings_dict
    with postgres_proxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)) as proxy:
        env = production_env(DATABASE_URL=_proxied_url(proxy.port), WEB_CONCURRENCY="1", GUNICORN_THREADS="1")
        port = free_port()
        with serve(gunicorn_command(port), env, port, tmp_path / "server.log") as base:

            def deposit(key: str, amount: str = "5.00"):
                body = {"account_id": str(account.public_id), "amount": amount}
                return http(base, "POST", "/api/v1/deposits/", body, token=client.auth_token.key, key=key)

            assert deposit(f"warm-{uuid.uuid4()}", "10.00").status == 201

            # 1. COMMIT reached the server and committed; its answer never came back.
            key = f"lost-answer-{uuid.uuid4()}"
            proxy.arm(AFTER_COMMIT)
            lost = deposit(key)
            assert proxy.tripped.is_set()
            assert lost.status == 503, lost.body
            assert lost.body["code"] == "unavailable"
            assert lost.body["outcome"] == "unknown"
            assert "same Idempotency-Key" in lost.body["detail"]
            assert int(lost.header("Retry-After")) >= 1
            committed = IdempotencyRecord.objects.get(client=client, key=key).transaction
            assert _deposits(account) == 2
            replay = deposit(key)
            assert replay.status == 201
            assert replay.header("Idempotent-Replayed") == "true"
            assert replay.body["id"] == str(committed.public_id)
            assert _deposits(account) == 2

            # 2. COMMIT never reached the server: the client cannot tell this from 1.
            key = f"never-committed-{uuid.uuid4()}"
            proxy.arm(INSTEAD_OF_COMMIT)
            unsure = deposit(key)
            assert proxy.tripped.is_set()
            assert (unsure.status, unsure.body["outcome"]) == (503, "unknown")
            assert not IdempotencyRecord.objects.filter(client=client, key=key).exists()
            retried = deposit(key)
            assert retried.status == 201
            assert retried.header("Idempotent-Replayed") is None
            assert _deposits(account) == 3

            # 3. The connection failed before the write: nothing was posted, and the answer says so.
            key = f"before-write-{uuid.uuid4()}"
            proxy.arm(BEFORE_WRITE)
            failed = deposit(key)
            assert proxy.tripped.is_set()
            assert failed.status == 503
            assert "outcome" not in failed.body
            assert "nothing was posted" in failed.body["detail"]
            assert _deposits(account) == 3
            assert deposit(key).status == 201
            assert _deposits(account) == 4

    account.refresh_from_db()
    assert account.balance_minor == 10_00 + 3 * 5_00
    assert_books_balance()

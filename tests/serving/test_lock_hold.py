"""No input holds another client's row lock longer than normal work does (real gunicorn, real clients).

A hostile client floods the service with bodies that are slow to normalise: a deposit whose
amount is ``1`` followed by 150,000 zeros and ``e-150000`` (exactly 1), which used to be
normalised one zero at a time *after* the accounts were locked (13-40 s with the rows locked),
and oversized but valid bodies. Meanwhile an honest client transfers money to the hostile
client's account, so its postings need the very row lock the hostile deposits would take. With
the lock timeout at one second, a hostile request that held that lock for longer would turn the
honest client's transfers into 503s; every one of them must post.
"""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import pytest

from harness.books import assert_books_balance
from harness.ports import free_port
from harness.servers import gunicorn_command, http, serve
from tests.factories import AccountFactory, UserFactory
from tests.serving.helpers import production_env
from transactions.models import Transaction
from transactions.services import deposit_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LOCK_TIMEOUT_MS = 1000
FLOOD_SECONDS = 6
HOSTILE_THREADS = 3


def _hostile_bodies(account_id: str) -> list[bytes]:
    padding = b" " * 200_000  # JSON whitespace: a 200 kB body that is valid, and posts
    return [
        b'{"account_id": "%s", "amount": 1%se-150000}' % (account_id.encode(), b"0" * 150_000),
        b'{"account_id": "%s", "amount": "1.%s"}' % (account_id.encode(), b"0" * 150_000),
        b'{"account_id": "%s",%s"amount": "1.00"}' % (account_id.encode(), padding),
    ]


def test_a_flood_of_slow_to_parse_bodies_never_holds_another_clients_lock(tmp_path):
    hostile, honest = UserFactory(), UserFactory()
    target = AccountFactory(owner=hostile, currency="USD")  # The row both clients' postings lock.
    payer = AccountFactory(owner=honest, currency="USD")
    deposit_create(actor=honest, account_id=payer.public_id, amount=Decimal("1000000.00"))

    env = production_env(LEDGER_LOCK_TIMEOUT_MS=str(LOCK_TIMEOUT_MS), LEDGER_THROTTLE_RATE="", LOG_LEVEL="WARNING")
    port = free_port()
    with serve(gunicorn_command(port), env, port, tmp_path / "server.log") as base:
        stop = threading.Event()
        hostile_answers: list[int] = []

        def flood() -> None:
            import urllib.request

            bodies = _hostile_bodies(str(target.public_id))
            n = 0
            while not stop.is_set():
                request = urllib.request.Request(
                    f"{base}/api/v1/deposits/",
                    data=bodies[n % len(bodies)],
                    method="POST",
                    headers={
                        "Authorization": f"Token {hostile.auth_token.key}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": f"hostile-{uuid.uuid4()}",
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        hostile_answers.append(answer.status)
                except urllib.error.HTTPError as error:
                    hostile_answers.append(error.code)
                n += 1

        flooders = [threading.Thread(target=flood) for _ in range(HOSTILE_THREADS)]
        for thread in flooders:
            thread.start()
        honest_answers = []
        deadline = time.monotonic() + FLOOD_SECONDS
        try:
            while time.monotonic() < deadline:
                body = {"source_account_id": str(payer.public_id), "destination_account_id": str(target.public_id)}
                answer = http(
                    base,
                    "POST",
                    "/api/v1/transfers/",
                    {**body, "amount": "0.01"},
                    token=honest.auth_token.key,
                    key=f"honest-{uuid.uuid4()}",
                )
                honest_answers.append((answer.status, answer.elapsed, (answer.body or {}).get("code")))
        finally:
            stop.set()
            for thread in flooders:
                thread.join(timeout=90)

    slowest = max(elapsed for _, elapsed, _ in honest_answers)
    print(
        f"\n{len(hostile_answers)} hostile requests ({sorted(set(hostile_answers))}), "
        f"{len(honest_answers)} honest transfers, slowest {slowest * 1000:.0f} ms"
    )
    assert len(hostile_answers) >= HOSTILE_THREADS, "the flood did not run"
    assert set(hostile_answers) <= {201, 400}, hostile_answers  # refused as malformed, or posted (valid padding)
    assert honest_answers, "the honest client made no request"
    refused = [(status, code) for status, _, code in honest_answers if status != 201]
    assert refused == [], f"honest transfers refused while the flood ran (a lock held past its timeout): {refused}"
    assert Transaction.objects.filter(kind="transfer", source_account=payer).count() == len(honest_answers)
    assert_books_balance()

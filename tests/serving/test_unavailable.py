"""A database that cannot be reached: the API answers 503 ``unavailable``, quickly, never 500.

The app runs under gunicorn as in production (debug off) against a PostgreSQL that is not
there: one port where nothing listens (the connection is refused at once), and one that
accepts TCP connections but never says a word (only the connect timeout ends the wait).
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator

import pytest

from harness.environment import production_env
from harness.ports import free_port
from harness.servers import http, serve, server_command

CONNECT_TIMEOUT = 2  # seconds, DB_CONNECT_TIMEOUT
ANSWER_WITHIN = 10  # seconds a client may wait for the 503


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections (the kernel completes the handshake) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@contextlib.contextmanager
def unreachable_database(kind: str) -> Iterator[int]:
    if kind == "refused":
        yield 1  # nothing listens on port 1
    else:
        with silent_listener() as port:
            yield port


@pytest.mark.parametrize("database", ["refused", "silent"])
def test_an_unreachable_database_answers_503_unavailable(tmp_path, database):
    with unreachable_database(database) as db_port:
        env = production_env(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{db_port}/ledger",
            DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
            LOG_LEVEL="ERROR",
        )
        port = free_port()
        with serve(server_command("gunicorn", port), env, port, tmp_path / "server.log") as base:
            token = "0123456789abcdef0123456789abcdef01234567"
            answers = {
                "POST /api/v1/deposits/": http(
                    base,
                    "POST",
                    "/api/v1/deposits/",
                    {"account_id": str(uuid.uuid4()), "amount": "10.00"},
                    token=token,
                    key=f"unavailable-{uuid.uuid4()}",
                ),
                "GET /api/v1/accounts/": http(base, "GET", "/api/v1/accounts/", token=token),
                # A later request, on a worker that already failed to connect, fails just as cleanly.
                "GET /api/v1/accounts/ again": http(base, "GET", "/api/v1/accounts/", token=token),
            }
            print(f"\n{database}: " + ", ".join(f"{k} {a.status} in {a.elapsed:.2f}s" for k, a in answers.items()))

    for request, answer in answers.items():
        assert answer.status == 503, f"{request}: {answer.status} {answer.body}"
        assert answer.header("Content-Type") == "application/problem+json", request
        assert answer.body["code"] == "unavailable", request
        assert answer.body["status"] == 503, request
        assert int(answer.header("Retry-After")) >= 1, request
        assert answer.header("X-Request-ID"), request
        assert answer.elapsed < ANSWER_WITHIN, f"{request} took {answer.elapsed:.1f}s"

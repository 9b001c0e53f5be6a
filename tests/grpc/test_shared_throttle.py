"""A client's REST requests and gRPC calls spend one budget, shared through Redis by every instance.

A gunicorn instance and a gRPC server on the same database and Redis, at 4 requests a minute:
four in all, alternating between the interfaces, then both refuse the client (429 over REST,
RESOURCE_EXHAUSTED ``throttled`` over gRPC), and the same for an address's failed
authentications.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack

import grpc
import pytest

from grpc_api.v1 import accounts_pb2
from harness.grpc_servers import Ledger, serve_grpc
from harness.ports import free_port
from harness.servers import gunicorn_command, http, serve
from tests.grpc.conftest import grpc_env
from tests.grpc.helpers import refusal
from tests.redis_server import REDIS_URL, redis_or_skip

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _both(tmp_path, **settings: str):
    """Start a gunicorn instance and a gRPC server sharing one Redis with ``settings``; yield (REST base, target)."""
    env = grpc_env(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex}", LEDGER_METRICS_BIND="", **settings)
    stack = ExitStack()
    rest_port, grpc_port = free_port(), free_port()
    base = stack.enter_context(serve(gunicorn_command(rest_port), env, rest_port, tmp_path / "gunicorn.log"))
    stack.enter_context(serve_grpc(env, grpc_port, tmp_path / "grpc.log"))
    return stack, base, f"127.0.0.1:{grpc_port}"


def _grpc_answer(ledger: Ledger) -> str:
    try:
        ledger.call(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest())
    except grpc.RpcError as error:
        found = refusal(error)
        return f"{found.code.name} {found.reason}"
    return "OK"


def test_rest_requests_and_grpc_calls_spend_one_budget(tmp_path, user):
    redis_or_skip()
    stack, base, target = _both(tmp_path, LEDGER_THROTTLE_RATE="4/min")
    with stack, Ledger(target, user.auth_token.key) as ledger:
        answers = []
        for turn in range(6):
            if turn % 2 == 0:
                answers.append(str(http(base, "GET", "/api/v1/accounts/", token=user.auth_token.key).status))
            else:
                answers.append(_grpc_answer(ledger))
    # Four in all, wherever they went; then both interfaces refuse.
    assert answers == ["200", "OK", "200", "OK", "429", "RESOURCE_EXHAUSTED throttled"]


def test_failed_authentications_over_either_interface_count_together(tmp_path, user):
    redis_or_skip()
    stack, base, target = _both(tmp_path, LEDGER_AUTH_FAILURE_RATE="3/min")
    with stack, Ledger(target, "0" * 40) as guesser, Ledger(target, user.auth_token.key) as right:
        guesses = [
            str(http(base, "GET", "/api/v1/accounts/", token="0" * 40).status),
            _grpc_answer(guesser),
            str(http(base, "GET", "/api/v1/accounts/", token="0" * 40).status),
            _grpc_answer(guesser),
        ]
        after = _grpc_answer(right)
    assert guesses == ["401", "UNAUTHENTICATED authentication_failed", "401", "RESOURCE_EXHAUSTED throttled"]
    assert after == "RESOURCE_EXHAUSTED throttled"  # Past the limit the address is refused, even a right token.

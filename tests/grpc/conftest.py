"""A real ``manage.py grpcserver`` on the test database, and channels to it as a given client.

The server is started once per module (``grpc_server``) with production settings; tests write
through it (``transaction=True``: the server's own connections must see what a test committed)
and read the books back with the ORM.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.environment import database_url, production_env
from harness.grpc_servers import Ledger, serve_grpc
from harness.ports import free_port


def grpc_env(**overrides: str) -> dict[str, str]:
    """Return the production settings of a gRPC server on the test database, plus ``overrides``."""
    return production_env(**{"DATABASE_URL": database_url(), "LEDGER_GRPC_WORKERS": "8", **overrides})


@pytest.fixture(scope="module")
def grpc_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """The address of a gRPC server on the test database, for the whole module."""
    port = free_port()
    log = tmp_path_factory.mktemp("grpc") / "grpcserver.log"
    with django_db_blocker.unblock(), serve_grpc(grpc_env(), port, log):
        yield f"127.0.0.1:{port}"


@pytest.fixture
def ledger_as(grpc_server) -> Iterator:
    """``ledger_as(user)``: a :class:`Ledger` calling as ``user`` (``None``: with no token)."""
    opened: list[Ledger] = []

    def connect(user, token: str | None = None) -> Ledger:
        ledger = Ledger(grpc_server, token if token is not None else (user.auth_token.key if user else None))
        opened.append(ledger)
        return ledger

    yield connect
    for ledger in opened:
        ledger.close()

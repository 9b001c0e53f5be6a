"""A real gunicorn (the production command) on the test database, and the generated client calling it as a user.

The server is started once per module (``rest_server``) with production settings; tests create
their users and tokens with the factories (``transaction=True``: the server's own connections
must see what a test committed) and then speak to the server only through ``ledger_client``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from ledger_client import AuthenticatedClient

from harness.environment import database_url, production_env
from harness.ports import free_port
from harness.servers import REQUEST_TIMEOUT, gunicorn_command, serve

TIMEOUT = httpx.Timeout(REQUEST_TIMEOUT)


@pytest.fixture(scope="module")
def rest_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """The base URL of gunicorn serving the API on the test database, for the whole module."""
    port = free_port()
    log = tmp_path_factory.mktemp("client") / "gunicorn.log"
    env = production_env(DATABASE_URL=database_url())
    with django_db_blocker.unblock(), serve(gunicorn_command(port), env, port, log) as base:
        yield base


@pytest.fixture
def client_as(rest_server) -> Iterator:
    """``client_as(user)``: a :class:`ledger_client.AuthenticatedClient` with ``user``'s token (``Token <key>``)."""
    opened: list[AuthenticatedClient] = []

    def connect(user) -> AuthenticatedClient:
        client = AuthenticatedClient(base_url=rest_server, token=user.auth_token.key, prefix="Token", timeout=TIMEOUT)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.get_httpx_client().close()

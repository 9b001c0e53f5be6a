"""With a certificate and its key the server speaks TLS only: a client trusting it is served, plaintext is not."""

from __future__ import annotations

import subprocess

import grpc
import pytest

from grpc_api.v1 import accounts_pb2, accounts_pb2_grpc
from harness.commands import REPO
from harness.grpc_servers import grpc_command, serving
from harness.ports import free_port
from harness.processes import terminate
from harness.servers import wait_until_ready
from tests.grpc.conftest import grpc_env
from tests.webhooks.receiver import make_certificate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _secure_serving(target: str, certificate: bytes) -> bool:
    with grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=certificate)) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=1)
        except grpc.FutureTimeoutError:
            return False
    return True


def test_a_tls_server_serves_a_client_that_trusts_its_certificate_and_refuses_plaintext(tmp_path, user):
    cert, key = make_certificate(tmp_path)
    port = free_port()
    target = f"127.0.0.1:{port}"
    log = tmp_path / "grpc.log"
    env = grpc_env(LEDGER_GRPC_TLS_CERT=str(cert), LEDGER_GRPC_TLS_KEY=str(key))
    with log.open("wb") as output:
        process = subprocess.Popen(grpc_command(port), cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(process, lambda: _secure_serving(target, cert.read_bytes()), name="grpc", log=log)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(target, credentials) as channel:
            page = accounts_pb2_grpc.AccountServiceStub(channel).ListAccounts(
                accounts_pb2.ListAccountsRequest(), metadata=[("authorization", f"Token {user.auth_token.key}")]
            )
        assert list(page.accounts) == []
        assert not serving(target)  # Plaintext HTTP/2 is not answered.
    finally:
        terminate(process)
    assert "TLS" in log.read_text()

"""docker-compose.yml's ``grpc`` service, run as written (no Docker engine here): its command and health check.

The service's command starts the server with production settings on the test database; its
health check, run as the container would run it, exits 0 while the server is SERVING and fails once
it is gone; SIGTERM, what ``docker compose stop`` sends, stops the server with status 0.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from harness.commands import REPO
from harness.environment import database_url, production_env
from harness.grpc_servers import serving
from harness.ports import free_port
from harness.processes import terminate
from harness.servers import wait_until_ready

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _service() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grpc"]


def _local(argument: str, ports: dict[str, int]) -> str:
    """Return a compose argument with the container's addresses replaced by free ports on loopback."""
    for shown, port in ports.items():
        argument = argument.replace(f"0.0.0.0:{shown}", f"127.0.0.1:{port}").replace(
            f"127.0.0.1:{shown}", f"127.0.0.1:{port}"
        )
    return argument


def test_the_grpc_service_serves_answers_its_health_check_and_stops_on_sigterm(tmp_path):
    service = _service()
    ports = {"50051": free_port(), "9101": free_port()}
    command = [sys.executable if part == "python" else _local(part, ports) for part in service["command"]]
    health = [
        sys.executable if part == "python" else _local(part, ports) for part in service["healthcheck"]["test"][1:]
    ]
    env = production_env(DATABASE_URL=database_url())
    log = tmp_path / "grpc.log"

    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(server, lambda: serving(f"127.0.0.1:{ports['50051']}"), name="grpc", log=log)
            check = subprocess.run(health, cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False)
            assert check.returncode == 0, check.stderr
            server.terminate()
            assert server.wait(timeout=30) == 0
        finally:
            terminate(server)
    assert "gRPC server stopped" in log.read_text()
    after = subprocess.run(health, cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert after.returncode != 0  # Nothing serves: the check fails, and the container would be restarted.

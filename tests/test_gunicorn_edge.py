"""gunicorn at the edge, as a hostile client meets it: forwarded headers, the metrics listener.

Every test runs the production configuration (``gunicorn.conf.py``, production settings) as a
real process and speaks raw HTTP/1.1 over a socket: urllib follows redirects and cannot send
some of these requests.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import REPO, START_TIMEOUT, free_port, gunicorn, http, production_env

# The servers use the test database; the tests themselves only talk HTTP.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PROBE = "/api/v1/problems/unavailable/"  # needs neither a token nor the database


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def raw(port: int, request: bytes) -> RawAnswer:
    """Send ``request`` as it is and read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return RawAnswer(status=int(status_line.split()[1]), headers=headers, body=body)


def get(port: int, path: str, *headers: str) -> RawAnswer:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close", *headers]
    return raw(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


@contextlib.contextmanager
def gunicorn_process(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    """gunicorn until ``/healthz`` answers (never redirected to HTTPS); then SIGTERM, and a clean exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(gunicorn(port), cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert process.poll() is None, f"gunicorn exited with {process.returncode}:\n{log.read_text()}"
                with contextlib.suppress(OSError):
                    if get(port, "/healthz").status == 200:
                        break
                assert time.monotonic() < deadline, f"gunicorn did not answer in time:\n{log.read_text()}"
                time.sleep(0.2)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                returncode = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
                raise AssertionError(f"gunicorn did not stop on SIGTERM:\n{log.read_text()}") from None
    assert returncode == 0, f"gunicorn exited with {returncode}:\n{log.read_text()}"


# --- 10. Forwarded headers follow DJANGO_TRUST_X_FORWARDED_PROTO ------------------------------


@pytest.mark.parametrize("trusted", [False, True], ids=["trust-off", "trust-on"])
def test_forwarded_headers_are_trusted_only_as_django_trust_x_forwarded_proto_says(tmp_path, trusted):
    port = free_port()
    env = production_env(DJANGO_TRUST_X_FORWARDED_PROTO=str(trusted), LEDGER_METRICS_BIND="")
    env["DJANGO_SECURE_SSL_REDIRECT"] = "True"
    https = f"https://127.0.0.1:{port}{PROBE}"

    with gunicorn_process(env, port, tmp_path / "gunicorn.log"):
        # Plain HTTP from 127.0.0.1, as every caller looks behind a proxy on the same host.
        plain = get(port, PROBE)
        assert (plain.status, plain.headers["location"]) == (301, https)

        claimed = get(port, PROBE, "X-Forwarded-Proto: https")
        if trusted:
            assert claimed.status == 200, claimed
            assert claimed.json()["type"] == https
        else:
            assert (claimed.status, claimed.headers["location"]) == (301, https)

        # gunicorn's other scheme headers are never the proxy's contract.
        for header in ("X-Forwarded-Ssl: on", "X-Forwarded-Protocol: ssl"):
            other = get(port, PROBE, header)
            assert (other.status, other.headers.get("location")) == (301, https), header

        # Nor may anyone move the application under another prefix (gunicorn's forwarder_headers),
        # or name another host.
        proto = ["X-Forwarded-Proto: https"] if trusted else []
        prefixed = get(port, PROBE, "SCRIPT_NAME: /elsewhere", "X-Forwarded-Host: evil.example", *proto)
        assert prefixed.status == (200 if trusted else 301), prefixed
        assert (prefixed.json()["type"] if trusted else prefixed.headers["location"]) == https


# --- 11. The metrics listener lives in the master only ------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = fd.readlink().as_posix()
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _children(pid: int, expected: int) -> list[int]:
    """The child processes of ``pid`` once there are ``expected`` of them (workers boot one by one)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        if len(children) == expected or time.monotonic() > deadline:
            assert len(children) == expected, children
            return children
        time.sleep(0.2)


def _listening_inode(port: int) -> str | None:
    """The inode of the socket listening on 127.0.0.1:``port``, if any (Linux's /proc/net/tcp)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
            return fields[9]
    return None


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads Linux's /proc")
def test_the_metrics_listener_is_held_by_the_master_alone_and_stops_with_it(tmp_path):
    port, metrics_port = free_port(), free_port()
    env = production_env(LEDGER_METRICS_BIND=f"127.0.0.1:{metrics_port}")

    with gunicorn_process(env, port, tmp_path / "gunicorn.log") as master:
        scrape = http(f"http://127.0.0.1:{metrics_port}", "GET", "/metrics")
        assert scrape.status == 200
        assert "ledger_http_requests_total" in scrape.body  # /healthz, counted by a worker

        listener = _listening_inode(metrics_port)
        workers = _children(master.pid, expected=2)
        assert listener is not None
        assert listener in _socket_inodes(master.pid)
        for worker in workers:
            assert listener not in _socket_inodes(worker), f"worker {worker} inherited the metrics listener"

    assert _listening_inode(metrics_port) is None  # gone with the master: no process kept a copy

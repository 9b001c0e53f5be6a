"""gunicorn at the edge, as a hostile client meets it: forwarded headers, the metrics listener,
and the requests gunicorn refuses before the application runs.

Every test runs the production configuration (``gunicorn.conf.py``, production settings) as a
real process and speaks raw HTTP/1.1 over a socket: urllib follows redirects and cannot send
most of these requests.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.commands import REPO
from harness.ports import free_port
from harness.servers import START_TIMEOUT, gunicorn_command, http, serve
from tests.serving.helpers import production_env

# The servers use the test database; the tests themselves only talk HTTP.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
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
        process = subprocess.Popen(gunicorn_command(port), cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
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


# --- 12. gunicorn's own refusals are problem documents ------------------------------------------


@pytest.fixture(scope="module")
def edge_server(django_db_setup, tmp_path_factory) -> Iterator[tuple[str, int, Path]]:
    """One gunicorn for the refusal tests: its base URL, port and log."""
    port, log = free_port(), tmp_path_factory.mktemp("edge") / "gunicorn.log"
    with serve(gunicorn_command(port), production_env(LEDGER_METRICS_BIND=""), port, log) as base:
        yield base, port, log


def _headers(count: int) -> bytes:
    return b"".join(b"X-Header-%d: value\r\n" % n for n in range(count))


ACCOUNTS = b"/api/v1/accounts/"
REFUSALS = {
    "header-over-8-KB": (ACCOUNTS, b"X-Padding: " + b"a" * 9000 + b"\r\n", 431, "request_header_fields_too_large"),
    "too-many-headers": (ACCOUNTS, _headers(101), 431, "request_header_fields_too_large"),
    "request-line-over-4-KB": (ACCOUNTS + b"?q=" + b"a" * 5000, b"", 414, "uri_too_long"),
    "control-character-in-a-header-value": (ACCOUNTS, b"X-Note: a\x01b\r\n", 400, "parse_error"),
    "unsupported-expectation": (ACCOUNTS, b"Expect: 200-ok\r\n", 417, "expectation_failed"),
    "unsupported-transfer-coding": (ACCOUNTS, b"Transfer-Encoding: br, chunked\r\n", 501, "not_implemented"),
}


def _assert_problem(answer: RawAnswer, status: int, code: str) -> dict:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["connection"] == "close"
    body = answer.json()
    assert body.keys() == PROBLEM_KEYS
    assert (body["status"], body["code"], body["type"]) == (status, code, f"/api/v1/problems/{code}/")
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
    assert body["request_id"] == answer.headers["x-request-id"]
    return body


@pytest.mark.parametrize(("target", "headers", "status", "code"), list(REFUSALS.values()), ids=list(REFUSALS))
def test_a_request_gunicorn_refuses_is_answered_with_a_problem_document(edge_server, target, headers, status, code):
    base, port, _ = edge_server
    request = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n"
    body = _assert_problem(raw(port, request), status, code)

    described = http(base, "GET", body["type"])  # the type resolves, with the same title
    assert (described.status, described.body["code"], described.body["title"]) == (200, code, body["title"])


@pytest.mark.parametrize("line", [b"GARBAGE", b"GET /api/v1/accounts/ HTTP/9.9", b"GET  / HTTP/1.1"])
def test_a_malformed_request_line_is_answered_with_a_problem_document(edge_server, line):
    _, port, _ = edge_server
    _assert_problem(raw(port, line + b"\r\nHost: 127.0.0.1\r\n\r\n"), 400, "parse_error")


def test_a_refusal_is_logged_with_its_request_id_but_not_the_refused_header(edge_server):
    base, port, log = edge_server
    secret = "refused-" + "s" * 9000
    answer = raw(port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret: {secret}\r\n\r\n".encode())
    request_id = _assert_problem(answer, 431, "request_header_fields_too_large")["request_id"]

    assert http(base, "GET", PROBE).status == 200  # the worker goes on serving
    # JSON lines, and WhiteNoise's warning that collectstatic has not run.
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    refused = next(r for r in records if r.get("request_id") == request_id)
    assert (refused["level"], refused["status"], refused["code"]) == ("WARNING", 431, "request_header_fields_too_large")
    assert "refused-" not in log.read_text()

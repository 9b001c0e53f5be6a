"""The project served by real processes on 127.0.0.1, and an HTTP client to talk to them.

:func:`gunicorn_command` is the production command (``gunicorn.conf.py``, as ``make serve``
and the Dockerfile run it); :func:`server_command` the development server or a plain
gunicorn. :func:`serve` runs one until it answers and always stops it; :func:`wait_until_ready`
is its wait, for servers that other tools manage themselves. :func:`http` sends one request
and returns the whole :class:`Answer`, never following a proxy.
"""

# ruff: noqa: S310, S603 -- loopback URLs and commands built here, with this interpreter.
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.commands import REPO
from harness.processes import log_tail, terminate

START_TIMEOUT = 60  # seconds for a server to answer its first request
REQUEST_TIMEOUT = 20  # seconds for any one HTTP request
PROBE = "/api/v1/problems/unavailable/"  # answers without a token or the database

# No proxy, whatever the environment says: the servers are on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerFailed(RuntimeError):
    """A server exited, or did not become ready in time."""


def gunicorn_command(port: int, app: str = "ledger_project.wsgi") -> list[str]:
    """Return the production command (``gunicorn -c gunicorn.conf.py``) serving ``app``, bound to 127.0.0.1:``port``."""
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", app]


def server_command(kind: str, port: int) -> list[str]:
    """Return the command of ``runserver`` (as ``make run`` starts it) or of a plain gunicorn on ``port``."""
    if kind == "runserver":
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "ledger_project.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--timeout",
        "60",
    ]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status, headers, body (parsed as JSON where it is JSON) and how long it took."""

    status: int
    headers: dict[str, str]
    body: Any
    elapsed: float

    def header(self, name: str) -> str | None:
        """Return the value of the header ``name`` (any case), if the answer has it."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def http(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Answer:
    """Send one request (``body`` as JSON, with an API ``token`` and an ``Idempotency-Key`` if given).

    An error status is an answer like any other; a server that does not answer raises
    ``urllib.error.URLError`` or ``OSError``.
    """
    headers = {"Accept": "application/json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Token {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw, response_headers = response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), dict(error.headers.items())
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status=status, headers=response_headers, body=parsed, elapsed=elapsed)


def status_of(base: str, path: str, *, timeout: float = 5) -> int | None:
    """Return the status ``GET path`` answers, or None if nothing answers."""
    try:
        return http(base, "GET", path, timeout=timeout).status
    except (urllib.error.URLError, OSError):
        return None


def wait_until_ready(
    process: subprocess.Popen, ready: Callable[[], bool], *, name: str, log: Path, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``ready()`` until it is true; raise :class:`ServerFailed` (with the log's end) if ``process``
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise ServerFailed(f"{name} exited with {process.returncode}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise ServerFailed(f"{name} was not ready in {timeout:.0f} s:\n{log_tail(log)}")
        time.sleep(0.2)


@contextlib.contextmanager
def serve(command: list[str], env: Mapping[str, str], port: int, log: Path) -> Iterator[str]:
    """Run a server subprocess until it answers HTTP on ``port`` and yield its base URL; always stop it afterwards.

    Any HTTP answer means the server is up: the probe needs neither a token nor the database.
    """
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
        try:
            probe = lambda: status_of(base, PROBE, timeout=REQUEST_TIMEOUT) is not None  # noqa: E731
            wait_until_ready(process, probe, name="the server", log=log)
            yield base
        finally:
            terminate(process, timeout=15)

"""Running the project as real server subprocesses, and talking to them over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60  # seconds for a server to answer its first request
REQUEST_TIMEOUT = 20  # seconds for any one HTTP request

# No proxy, whatever the environment says: the server is on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project_env(**overrides: str) -> dict[str, str]:
    """The environment of this process without any settings of the project's own, plus ``overrides``."""
    own = ("DJANGO_", "LEDGER_", "DB_", "GUNICORN_", "CACHE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own) and k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    elapsed: float

    def header(self, name: str) -> str | None:
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
) -> Answer:
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
        with _OPENER.open(request, timeout=REQUEST_TIMEOUT) as response:
            status, raw, response_headers = response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), dict(error.headers.items())
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status=status, headers=response_headers, body=parsed, elapsed=elapsed)


@contextlib.contextmanager
def serve(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Run a server subprocess until it answers HTTP on ``port``; always stop it afterwards."""
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert process.poll() is None, f"the server exited with {process.returncode}:\n{log.read_text()}"
                try:
                    # Any HTTP answer means the server is up; this path needs neither a token nor the database.
                    http(base, "GET", "/api/v1/problems/unavailable/")
                    break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    assert time.monotonic() < deadline, f"the server did not answer in time:\n{log.read_text()}"
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def server_command(kind: str, port: int) -> list[str]:
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


METRICS_TOKEN = "metrics-" + secrets.token_hex(16)


def database_url() -> str:
    """The test database pytest-django created, for the server subprocesses."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(**overrides: str) -> dict[str, str]:
    defaults = {
        "DATABASE_URL": database_url(),
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "False",  # plain HTTP on loopback; TLS is the proxy's job
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "LEDGER_METRICS_TOKEN": METRICS_TOKEN,
        "LEDGER_METRICS_ALLOWED_NETWORKS": "",  # the token is the only way in
    }
    return project_env(**{**defaults, **overrides})


def gunicorn(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
            "ledger_project.wsgi"]  # fmt: skip

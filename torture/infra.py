"""Real processes for the scenarios: PostgreSQL databases, gunicorn instances and gRPC servers of the ledger.

Everything runs on this machine and listens on 127.0.0.1 only. A :class:`Server` creates and
drops databases on a PostgreSQL server (a template migrated once with ``manage.py migrate``,
then one clone per scenario); an :class:`Instance` is the production configuration
(``gunicorn -c gunicorn.conf.py``, debug off) that can be started, SIGKILLed worker by worker
or as a whole, and restarted; a :class:`GrpcInstance` is ``manage.py grpcserver`` with the same
production settings, ready once its health service answers ``SERVING``. Both run in a process
group of their own, stopped with SIGTERM and then SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from harness.commands import manage
from harness.daemons import Daemon
from harness.environment import production_env
from harness.grpc_servers import grpc_command, serving
from harness.ports import free_port
from harness.processes import children_of
from harness.servers import gunicorn_command, status_of

START_TIMEOUT = 90.0  # seconds for an instance to answer /healthz (Django boots in every worker)
SECRET_KEY = secrets.token_urlsafe(50)  # one per run: every instance signs cursors alike
MANAGE_TIMEOUT = 300  # seconds for a manage.py command (migrate, reconcile)


def with_database(url: str, name: str) -> str:
    """``url`` (postgres://user@host:port/whatever) pointing at the database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def ledger_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of this run's ledger processes on ``database_url``: production settings, with the run's
    one secret key and warnings only in the logs, plus ``overrides``."""
    return production_env(secret_key=SECRET_KEY, **{"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **overrides})


_CLIENTS_SCRIPT = """
import json
from api.clients import api_client_ensure
print(json.dumps({name: api_client_ensure(name=name, staff=staff)[0] for name, staff in %s}))
"""


def create_clients(database_url: str, clients: dict[str, bool]) -> dict[str, str]:
    """Create API clients ``{username: is_staff}`` in one process; returns ``{username: token}``."""
    pairs = sorted(clients.items())
    result = manage(ledger_env(database_url), "shell", "-c", _CLIENTS_SCRIPT % repr(pairs), timeout=MANAGE_TIMEOUT)
    return json.loads(result.stdout.strip().splitlines()[-1])


class Server:
    """A PostgreSQL server on which this run creates (and always drops) its own databases."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(with_database(self.url, "postgres"), autocommit=True, connect_timeout=10)

    def create(self, name: str, template: str | None = None) -> str:
        with self._admin() as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(statement)
        self.created.append(name)
        return with_database(self.url, name)

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in reversed(list(self.created)):
            with contextlib.suppress(psycopg.Error):
                self.drop(name)

    def version(self) -> str:
        with self._admin() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]


class Databases:
    """A migrated template on ``server``, cloned (in well under a second) for each scenario."""

    def __init__(self, server: Server, prefix: str = "ledger_torture") -> None:
        self.server = server
        self.prefix = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.template: str | None = None

    def template_url(self) -> str:
        if self.template is None:
            name = f"{self.prefix}_template"
            url = self.server.create(name)
            manage(ledger_env(url), "migrate", "--noinput", "-v0", timeout=MANAGE_TIMEOUT)
            self.template = name
        return with_database(self.server.url, self.template)

    def clone(self, label: str) -> str:
        self.template_url()
        return self.server.create(f"{self.prefix}_{label}", template=self.template)

    def drop_clones(self) -> None:
        """Drop every clone made so far (the template stays for the next scenario)."""
        for name in list(self.server.created):
            if name != self.template:
                with contextlib.suppress(psycopg.Error):
                    self.server.drop(name)

    def close(self) -> None:
        self.server.drop_all()


class _Process:
    """A server of the ledger in a session of its own (:class:`harness.daemons.Daemon`): started by a subclass,
    SIGKILLed or stopped here."""

    def __init__(self, name: str, database_url: str, workdir: Path) -> None:
        self.name = name
        self.database_url = database_url
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.daemon: Daemon | None = None
        self.starts = 0

    @property
    def master(self) -> int | None:
        return self.daemon.pid if self.daemon is not None else None

    @property
    def alive(self) -> bool:
        return self.master is not None

    def _launch(self, command: list[str], env: dict[str, str], ready, timeout: float) -> None:
        """Start ``command`` in a new session, logging to :attr:`log`, and wait until ``ready()``."""
        self.daemon = Daemon(self.name, command, env, self.log)
        self.starts += 1
        self.daemon.start(ready, timeout=timeout)

    def crash(self) -> None:
        """SIGKILL the whole process group at once, and reap its leader."""
        if self.daemon is not None:
            self.daemon.crash()

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL whatever of the process group is left."""
        if self.daemon is not None:
            self.daemon.stop()

    def log_tail(self, lines: int = 20) -> str:
        return self.daemon.log_tail(lines) if self.daemon is not None else ""


class Instance(_Process):
    """One gunicorn instance of the ledger in its production configuration, in its own process group."""

    def __init__(self, name: str, database_url: str, workdir: Path, *, workers: int = 2, threads: int = 4, **env: str):
        super().__init__(name, database_url, workdir)
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_TIMEOUT": "30",
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "LEDGER_LOCK_TIMEOUT_MS": "2000",
            "LEDGER_STATEMENT_TIMEOUT_MS": "10000",
            "DB_CONNECT_TIMEOUT": "2",
            "LEDGER_THROTTLE_RATE": "",  # the scenarios measure the ledger, not the throttle
            "LEDGER_AUTH_FAILURE_RATE": "",  # the authorization matrix sends wrong tokens on purpose
            **env,
        }

    def workers(self) -> list[int]:
        master = self.master
        return children_of(master) if master else []

    def start(self) -> Instance:
        metrics = self.workdir / f"{self.name}-metrics"
        metrics.mkdir(parents=True, exist_ok=True)
        env = ledger_env(self.database_url, PROMETHEUS_MULTIPROC_DIR=str(metrics), **self.env)
        self._launch(
            gunicorn_command(self.port), env, lambda: status_of(self.base, "/healthz") == 200, START_TIMEOUT
        )  # fmt: skip
        return self

    def kill_worker(self, pick) -> int | None:
        """SIGKILL one worker (``pick`` chooses from the list); gunicorn's master starts another."""
        workers = self.workers()
        if not workers:
            return None
        victim = pick(workers)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        return victim


class GrpcInstance(_Process):
    """``manage.py grpcserver`` on 127.0.0.1 in the production configuration, in its own process group.

    The same settings as an :class:`Instance` (the run's secret key, bounded lock waits and
    statements, no throttle, no failed-authentication throttle); ready once the health
    service answers ``SERVING`` for the whole server.
    """

    def __init__(self, name: str, database_url: str, workdir: Path, *, workers: int = 8, **env: str) -> None:
        super().__init__(name, database_url, workdir)
        self.target = f"127.0.0.1:{self.port}"
        self.env = {
            "LEDGER_GRPC_WORKERS": str(workers),
            "LEDGER_GRPC_GRACE_SECONDS": "5",
            "LEDGER_LOCK_TIMEOUT_MS": "2000",
            "LEDGER_STATEMENT_TIMEOUT_MS": "10000",
            "DB_CONNECT_TIMEOUT": "2",
            "LEDGER_THROTTLE_RATE": "",
            "LEDGER_AUTH_FAILURE_RATE": "",
            **env,
        }

    def serving(self, timeout: float = 2.0) -> bool:
        """Whether the health service answers ``SERVING`` for the whole server now."""
        return serving(self.target, timeout=timeout)

    def start(self) -> GrpcInstance:
        self._launch(grpc_command(self.port), ledger_env(self.database_url, **self.env), self.serving, START_TIMEOUT)
        return self


@contextlib.contextmanager
def instances(*items: _Process) -> Iterator[list]:
    """Start ``items`` (gunicorn instances, gRPC servers) and always stop them afterwards."""
    started: list[_Process] = []
    try:
        for item in items:
            started.append(item.start())
        yield started
    finally:
        for item in items:
            item.stop()


@dataclass
class Context:
    """What every scenario gets: where to make databases, a folder for logs, and the run's settings."""

    databases: Databases
    workdir: Path
    short: bool = False
    seed: int = 0

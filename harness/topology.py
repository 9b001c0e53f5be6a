"""The production topology on one machine, in a temporary folder: what ``make cluster`` starts.

::

    clients ─► HAProxy (/readyz checks) ─┬─► gunicorn instance 1 ─┬─► PgBouncer (transaction mode) ─► primary
                                         └─► gunicorn instance 2 ─┤                                     │ WAL stream
                                 event relay (relay_events) ──────┘   history reads ─► streaming replica ◄┘
                                 Redis (shared throttle and cache), Prometheus scraping both instances

Everything listens on free ports of 127.0.0.1 and keeps its data, configuration and logs in
the one folder, deleted by :meth:`Topology.stop` unless kept. The configuration files are the
ones ``docker-compose.yml`` mounts (``deploy/``): HAProxy's reads its addresses from the
environment, PgBouncer's is a template filled here, Prometheus's reads its targets from a file
written here. The instances run the production configuration (``gunicorn.conf.py``) with
``DB_PGBOUNCER=True``, ``DATABASE_REPLICA_URL`` on the replica and one ``REDIS_URL``;
migrations run against the primary directly, as a deployment does (PgBouncer in transaction
mode cannot hold a migration's session). The role's timeouts are set on the database, since
PgBouncer passes no startup options (``docs/scaling.md``).

The methods the torture scenarios use to inject faults are here too: stop and start the
replica, restart PgBouncer, kill and restart an instance.
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from harness.commands import REPO, manage
from harness.daemons import Daemon
from harness.environment import production_env
from harness.ports import free_port
from harness.postgres import PostgresServer, find_bindir, unprivileged
from harness.processes import children_of
from harness.servers import status_of

DEPLOY = REPO / "deploy"
DATABASE = "ledger"
METRICS_TOKEN = "cluster-metrics-token"  # noqa: S105 -- a throwaway cluster on loopback
TOOLS = ("pgbouncer", "haproxy", "prometheus")
START_TIMEOUT = 90.0  # seconds for an instance to be ready (Django boots in every worker)


class MissingTools(RuntimeError):
    """A program the topology needs is not installed (``scripts/install-cluster-tools`` installs them)."""


def missing_tools(*, prometheus: bool = True) -> list[str]:
    """The programs of the topology that are not on PATH (PostgreSQL's server programs included)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None and (prometheus or tool != "prometheus")]
    if find_bindir() is None:
        missing.append("postgresql")
    return missing


@dataclass
class Instance:
    """One gunicorn instance of the ledger, in its production configuration."""

    name: str
    daemon: Daemon
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        return status_of(self.base, "/readyz") == 200

    def start(self) -> Instance:
        self.daemon.start(self.ready, timeout=START_TIMEOUT)
        return self

    def workers(self) -> list[int]:
        """The pids of its gunicorn workers (none while it is down)."""
        pid = self.daemon.pid
        return children_of(pid) if pid else []


@dataclass
class Topology:
    """The topology's parts, started by :meth:`start` in dependency order and stopped by :meth:`stop` in reverse.

    ``instances`` gunicorn instances of ``workers`` x ``threads`` each; ``prometheus`` False
    leaves Prometheus out (the torture scenarios and the benchmark do not need it). ``env``
    adds to every ledger process's environment.
    """

    instances_count: int = 2
    workers: int = 2
    threads: int = 4
    prometheus_enabled: bool = True
    env: dict[str, str] = field(default_factory=dict)
    keep: bool = False
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ledger-cluster-")))

    def __post_init__(self) -> None:
        missing = missing_tools(prometheus=self.prometheus_enabled)
        if missing:
            raise MissingTools(f"missing {', '.join(missing)}: run scripts/install-cluster-tools")
        self.folder.chmod(0o755)  # PostgreSQL and PgBouncer run as another user when this is root.
        self.primary = PostgresServer(folder=self.folder / "postgres", name="primary")
        self.replica: PostgresServer | None = None
        self.pgbouncer_port = free_port()
        self.redis_port = free_port()
        self.balancer_port = free_port()
        self.balancer_stats_port = free_port()
        self.prometheus_port = free_port()
        self.secret_key = secrets.token_urlsafe(50)  # one for the instances: they verify each other's cursors
        self.instances: list[Instance] = []
        self.daemons: list[Daemon] = []  # in start order
        self.pgbouncer: Daemon | None = None
        self.relay: Daemon | None = None
        self.balancer: Daemon | None = None
        self.prometheus: Daemon | None = None

    # --- addresses ---------------------------------------------------------------------------

    @property
    def base(self) -> str:
        """The load balancer: where clients send requests."""
        return f"http://127.0.0.1:{self.balancer_port}"

    @property
    def primary_url(self) -> str:
        """The ledger's database on the primary, directly (migrations, checks)."""
        return self.primary.url_of(DATABASE)

    @property
    def pgbouncer_url(self) -> str:
        """The ledger's database through PgBouncer (what the instances use)."""
        return f"postgres://postgres@127.0.0.1:{self.pgbouncer_port}/{DATABASE}"

    @property
    def replica_url(self) -> str:
        assert self.replica is not None
        return self.replica.url_of(DATABASE)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def prometheus_base(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def ledger_env(self, **overrides: str) -> dict[str, str]:
        """The environment of every ledger process of the topology, plus ``overrides``."""
        settings = {
            "DATABASE_URL": self.pgbouncer_url,
            "DB_PGBOUNCER": "True",
            "DATABASE_REPLICA_URL": self.replica_url,
            "DB_CONNECT_TIMEOUT": "2",
            "REDIS_URL": self.redis_url,
            "LEDGER_METRICS_TOKEN": METRICS_TOKEN,
            "LEDGER_METRICS_ALLOWED_NETWORKS": "",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            "LOG_LEVEL": "WARNING",
        }
        return production_env(secret_key=self.secret_key, **{**settings, **self.env, **overrides})

    # --- starting ----------------------------------------------------------------------------

    def start(self) -> Topology:
        """Start every part and wait until the balancer routes to every instance; stop all if one fails."""
        try:
            self._start_databases()
            self._start_pgbouncer()
            self._start_redis()
            for number in range(1, self.instances_count + 1):
                self.instances.append(self._instance(number).start())
            self._start_relay()
            self._start_balancer()
            if self.prometheus_enabled:
                self._start_prometheus()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_databases(self) -> None:
        self.primary.init()
        self.primary.start()
        self.primary.create_database(DATABASE)
        # PgBouncer in transaction mode forwards no startup options: the timeouts live on the role.
        for name, value in (
            ("lock_timeout", self.env.get("LEDGER_LOCK_TIMEOUT_MS", "5000")),
            ("statement_timeout", self.env.get("LEDGER_STATEMENT_TIMEOUT_MS", "30000")),
            ("idle_in_transaction_session_timeout", "60000"),
        ):
            self.primary.execute(f"ALTER ROLE postgres IN DATABASE {DATABASE} SET {name} = {int(value)}")
        env = production_env(secret_key=self.secret_key, DATABASE_URL=self.primary_url)
        manage(env, "migrate", "--noinput", "-v0", timeout=300)
        self.replica = self.primary.replica("replica")

    def _daemon(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Daemon:
        daemon = Daemon(name, command, env if env is not None else production_env(), self.folder / f"{name}.log")
        self.daemons.append(daemon)
        return daemon

    def _start_pgbouncer(self) -> None:
        folder = self.folder / "pgbouncer"
        folder.mkdir()
        (folder / "userlist.txt").write_text('"postgres" ""\n')
        template = string.Template((DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text())
        config = folder / "pgbouncer.ini"
        config.write_text(
            template.substitute(
                LISTEN_ADDR="127.0.0.1",
                LISTEN_PORT=self.pgbouncer_port,
                PRIMARY_HOST="127.0.0.1",
                PRIMARY_PORT=self.primary.port,
                DB_NAME=DATABASE,
                DB_USER="postgres",
                AUTH_FILE=folder / "userlist.txt",
                AUTH_TYPE="trust",
                POOL_SIZE=20,
                UNIX_SOCKET_DIR=folder,
            )
        )
        prefix = unprivileged(folder)
        for path in folder.iterdir():
            shutil.copymode(config, path)
            if prefix:
                shutil.chown(path, prefix[2])
        self.pgbouncer = self._daemon("pgbouncer", [*prefix, shutil.which("pgbouncer") or "pgbouncer", str(config)])
        self.pgbouncer.start(self._pgbouncer_ready, timeout=30)

    def _pgbouncer_ready(self) -> bool:
        try:
            with psycopg.connect(self.pgbouncer_url, connect_timeout=2, prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def restart_pgbouncer(self, *, down_for: float = 0.0) -> float:
        """Kill PgBouncer (every client and server connection drops), wait ``down_for`` s, start it again.

        Returns the seconds from the kill until it accepted connections again.
        """
        assert self.pgbouncer is not None
        started = time.monotonic()
        self.pgbouncer.crash()
        time.sleep(down_for)
        self.pgbouncer.start(self._pgbouncer_ready, timeout=30)
        return time.monotonic() - started

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise MissingTools("missing redis-server (Debian: apt-get install redis-server)")
        command = [redis, "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "", "--appendonly", "no"]
        daemon = self._daemon("redis", [*command, "--dir", str(self.folder)])
        daemon.start(lambda: _redis_pong(self.redis_port), timeout=20)

    def _instance(self, number: int) -> Instance:
        port = free_port()
        metrics = self.folder / f"ledger-{number}-metrics"
        metrics.mkdir(exist_ok=True)
        env = self.ledger_env(PROMETHEUS_MULTIPROC_DIR=str(metrics), LEDGER_METRICS_BIND="")
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        daemon = self._daemon(f"ledger-{number}", [*command, "ledger_project.wsgi"], env)
        return Instance(f"ledger-{number}", daemon, port)

    def _start_relay(self) -> None:
        self.relay = self._daemon("relay", [sys.executable, "manage.py", "relay_events"], self.ledger_env())
        self.relay.start(lambda: True, timeout=5)

    def _start_balancer(self) -> None:
        env = production_env(
            LEDGER_LB_BIND=f"127.0.0.1:{self.balancer_port}",
            LEDGER_LB_STATS_BIND=f"127.0.0.1:{self.balancer_stats_port}",
            LEDGER_LB_ERRORS=str(DEPLOY / "haproxy" / "errors"),
            **{f"LEDGER_INSTANCE_{i}": f"127.0.0.1:{inst.port}" for i, inst in enumerate(self.instances, start=1)},
        )
        command = [shutil.which("haproxy") or "haproxy", "-db", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg")]
        self.balancer = self._daemon("haproxy", command, env)
        self.balancer.start(lambda: status_of(self.base, "/readyz") == 200, timeout=30)
        self.wait_routed(len(self.instances))

    def balancer_servers(self) -> dict[str, str]:
        """HAProxy's view of the instances: ``{server name: status}`` (UP, DOWN, ...) from its stats CSV."""
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.balancer_stats_port}/stats;csv", timeout=5) as answer:
            lines = answer.read().decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {row["svname"]: row["status"] for row in rows if row["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_routed(self, count: int, timeout: float = 30) -> None:
        """Wait until the balancer counts ``count`` instances UP."""
        deadline = time.monotonic() + timeout
        while sum(status == "UP" for status in self.balancer_servers().values()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the balancer does not route to {count} instances: {self.balancer_servers()}")
            time.sleep(0.2)

    def _start_prometheus(self) -> None:
        folder = self.folder / "prometheus"
        shutil.copytree(DEPLOY / "prometheus", folder)
        targets = folder / "targets"
        targets.mkdir(exist_ok=True)
        (targets / "ledger.json").write_text(json.dumps([{"targets": [f"127.0.0.1:{i.port}" for i in self.instances]}]))
        (targets / "haproxy.json").write_text(json.dumps([{"targets": [f"127.0.0.1:{self.balancer_stats_port}"]}]))
        (folder / "metrics-token").write_text(METRICS_TOKEN)
        command = [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
        ]
        self.prometheus = self._daemon("prometheus", command)
        self.prometheus.start(lambda: status_of(self.prometheus_base, "/-/ready") == 200, timeout=60)

    # --- faults ------------------------------------------------------------------------------

    def stop_replica(self) -> None:
        assert self.replica is not None
        self.replica.stop("immediate")

    def start_replica(self) -> None:
        assert self.replica is not None
        self.replica.start()

    # --- stopping ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every part, the last started first, and delete the folder unless ``keep``."""
        for daemon in reversed(self.daemons):
            daemon.stop(timeout=10)
        if self.replica is not None:
            self.replica.remove()
        self.primary.remove()
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _redis_pong(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False

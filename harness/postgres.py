"""Throwaway PostgreSQL servers on 127.0.0.1: a primary, and streaming replicas of it.

A :class:`PostgresServer` is ``initdb`` in a temporary folder and ``pg_ctl start`` on a free
port; a scenario may stop it at will (``stop("immediate")`` is a crash: no checkpoint, every
backend killed) and start it again (crash recovery replays the WAL), so nothing here ever
touches a server other people use. :meth:`PostgresServer.replica` makes a streaming replica
of a running server as production does: ``pg_basebackup -R`` (the backup writes
``standby.signal`` and the primary's address), then ``pg_ctl start`` as a hot standby.

As root, the PostgreSQL programs run as the ``postgres`` user through ``runuser``, as
``scripts/with-postgres`` does. ``synchronous_commit`` stays on: a commit is answered only
once its WAL is written, so a 201 before a crash must survive it. ``fsync`` is off for speed:
that matters only when the operating system itself crashes, which nothing here does.
"""

# ruff: noqa: S603 -- the commands are fixed programs with arguments built here, never shell strings.
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from harness.ports import free_port

# Settings of every server started here: fast and small, with room for two instances' connections.
SERVER_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "150",
    "shared_buffers": "64MB",
}


def find_bindir() -> str | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else the highest /usr/lib/postgresql/*/bin."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return str(Path(os.path.realpath(initdb)).parent)
    candidates = sorted(
        glob.glob(os.environ.get("LEDGER_PG_BIN_GLOB", "/usr/lib/postgresql/*/bin")),
        key=lambda path: [int(part) if part.isdigit() else part for part in Path(path).parent.name.split(".")],
    )
    usable = [d for d in candidates if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK)]
    return usable[-1] if usable else None


def _unprivileged_user() -> str:
    """The user PostgreSQL runs as when this process is root: ``postgres`` if it exists, else ``nobody``."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "nobody"
    return "postgres"


def unprivileged(folder: Path) -> list[str]:
    """The prefix that runs a command as an unprivileged user when this process is root, else nothing.

    PostgreSQL and PgBouncer refuse to run as root: as root, ``folder`` is given to the
    ``postgres`` user (``nobody`` if there is none) and the prefix is ``runuser -u USER --``.
    """
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser is None:
        raise FileNotFoundError("runuser not found: cannot run PostgreSQL as an unprivileged user")
    user = _unprivileged_user()
    shutil.chown(folder, user)
    return [runuser, "-u", user, "--"]


class PostgresServer:
    """One PostgreSQL server in a folder of its own, on 127.0.0.1:``port``: ``init``, ``start``, ``stop``, ``remove``.

    ``folder`` is where it keeps its data and log (a new temporary folder unless given: then
    :meth:`remove` deletes it); ``settings`` add to or override :data:`SERVER_SETTINGS`.
    """

    def __init__(
        self, bindir: str | None = None, *, folder: Path | None = None, name: str = "postgres", **settings: str
    ) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise FileNotFoundError("initdb/pg_ctl not found (install PostgreSQL, e.g. apt-get install postgresql)")
        self.bindir = found
        self._owns_folder = folder is None
        self.tmp = folder if folder is not None else Path(tempfile.mkdtemp(prefix="ledger-pg-"))
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.data = self.tmp / f"{name}-data"
        self.logfile = self.tmp / f"{name}.log"
        self.port = free_port()
        self.settings = {**SERVER_SETTINGS, **settings}
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._as = unprivileged(self.tmp)

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, f"{self.bindir}/{program}", *args],
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def url_of(self, database: str) -> str:
        """The URL of ``database`` on this server."""
        return self.url.rsplit("/", 1)[0] + f"/{database}"

    def init(self) -> PostgresServer:
        """``initdb``: trust for local and loopback connections, replication included (initdb's defaults)."""
        result = self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}{result.stderr}")
        return self

    def replica(self, name: str = "replica", **settings: str) -> PostgresServer:
        """Make and start a streaming replica of this (running) server in the same folder; return it.

        ``pg_basebackup -R -X stream`` copies the data directory while the WAL streams alongside,
        and writes ``standby.signal`` and ``primary_conninfo``: started, the copy replays the
        primary's WAL as it comes and answers read-only queries (a hot standby). ``-C -S``
        creates a replication slot for it, so the primary keeps the WAL a stopped replica has
        not received yet.
        """
        standby = PostgresServer(self.bindir, folder=self.tmp, name=name, **{**self.settings, **settings})
        result = self._run(
            "pg_basebackup",
            "-D",
            str(standby.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-R",
            "-C",
            "-S",
            f"ledger_{name}",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed:\n{result.stdout}{result.stderr}")
        standby.start()
        return standby

    def start(self, timeout: float = 60) -> float:
        """Start the server and wait until it accepts connections; returns the seconds it took."""
        started = time.monotonic()
        settings = (f"-c {key}={value}" for key, value in self.settings.items())
        options = " ".join([f"-h 127.0.0.1 -p {self.port} -k {self.tmp}", *settings])
        result = self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            str(int(timeout)),
            "-l",
            str(self.logfile),
            "-o",
            options,
            timeout=timeout + 10,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{self.log_tail()}")
        deadline = time.monotonic() + timeout
        while not self.accepts():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on port {self.port} does not answer:\n{self.log_tail()}")
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self, mode: str = "immediate") -> float:
        """``pg_ctl stop -m MODE``; returns the seconds it took."""
        started = time.monotonic()
        result = self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60", timeout=70)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed:\n{result.stdout}{result.stderr}")
        return time.monotonic() - started

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def accepts(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def execute(self, statement: str, database: str = "postgres") -> list[tuple]:
        """Run one statement in autocommit on ``database`` and return its rows (none for a command)."""
        with psycopg.connect(self.url_of(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement)  # type: ignore[arg-type]  # Statements written in the harness.
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_of(name)

    def copy_from(self, source_url: str, target_url: str) -> bool:
        """Copy a (migrated) database into this cluster with pg_dump | psql; False if that cannot be done."""
        pg_dump, psql = Path(self.bindir) / "pg_dump", Path(self.bindir) / "psql"
        if not (os.access(pg_dump, os.X_OK) and os.access(psql, os.X_OK)):
            return False
        dump = subprocess.run(
            [str(pg_dump), "--no-owner", "--no-privileges", "--dbname", source_url],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if dump.returncode != 0:
            return False
        load = subprocess.run(
            [str(psql), "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--dbname", target_url],
            input=dump.stdout,
            capture_output=True,
            timeout=120,
            check=False,
        )
        return load.returncode == 0

    def log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def remove(self) -> None:
        """Stop the server (a crash: nothing here needs a clean shutdown) and delete its folder if it made one."""
        if self.running():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        if self._owns_folder:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

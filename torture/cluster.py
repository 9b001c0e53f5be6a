"""A throwaway PostgreSQL cluster that a scenario may stop and start at will.

The database-outage scenario must never stop a server that other people use, so it runs its
own cluster: ``initdb`` in a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1,
``pg_ctl stop -m immediate`` (a crash: no checkpoint, every backend killed) mid-load, then
``pg_ctl start`` again (crash recovery replays the WAL). As root, the PostgreSQL programs
run as the ``postgres`` user through ``runuser``, as ``scripts/with-postgres`` does.

``synchronous_commit`` stays on: a commit is answered only once its WAL is written, so a
201 before the crash must survive it. ``fsync`` is off for speed: that only matters when the
operating system itself crashes, which this scenario does not do.
"""

# ruff: noqa: S603 -- the commands are fixed programs with arguments built here, never shell strings.
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from harness.ports import free_port


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


class Cluster:
    """``initdb``, ``start``, ``stop(immediate)``, ``start`` again, ``remove``: all on 127.0.0.1:``port``."""

    def __init__(self, bindir: str | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise FileNotFoundError("initdb/pg_ctl not found (install PostgreSQL, e.g. apt-get install postgresql)")
        self.bindir = found
        self.tmp = Path(tempfile.mkdtemp(prefix="ledger-torture-pg-"))
        self.data = self.tmp / "data"
        self.logfile = self.tmp / "server.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root.
            user = "postgres"
            try:
                import pwd

                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
            if runuser is None:
                raise FileNotFoundError("runuser not found: cannot run PostgreSQL as an unprivileged user")
            shutil.chown(self.tmp, user)
            self._as = [runuser, "-u", user, "--"]

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, f"{self.bindir}/{program}", *args],
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def init(self) -> Cluster:
        result = self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}{result.stderr}")
        return self

    def start(self, timeout: float = 60) -> float:
        """Start the server and wait until it accepts connections; returns the seconds it took."""
        started = time.monotonic()
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off -c full_page_writes=off "
            "-c max_connections=100 -c shared_buffers=64MB"
        )
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

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url.rsplit("/", 1)[0] + f"/{name}"

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
        if self.running():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

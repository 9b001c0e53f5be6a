"""The benchmark's database: a fresh one per run on the server of ``$DATABASE_URL``, and the commands run on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg

from bench.errors import BenchFailure
from harness import commands


@dataclass(frozen=True)
class Database:
    url: str  # postgres://user:pass@host:port/name

    @property
    def parts(self):
        return urlsplit(self.url)

    @property
    def name(self) -> str:
        return unquote(self.parts.path.lstrip("/"))

    def sibling(self, name: str) -> Database:
        parts = self.parts
        return Database(urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, "")))

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.url, **kwargs)

    def pg_args(self) -> tuple[list[str], dict[str, str]]:
        """Connection arguments and environment for libpq command-line tools (pgbench)."""
        parts = self.parts
        args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
        if parts.username:
            args += ["-U", unquote(parts.username)]
        env = {"PGPASSWORD": unquote(parts.password)} if parts.password else {}
        return args, env


def fetch(db: Database, sql: str, params: Any = None) -> list[tuple]:
    with db.connect(autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def maintenance_database(db: Database) -> Database:
    """A database to connect to for CREATE/DROP DATABASE: ``db`` itself, else ``postgres``."""
    for candidate in (db, db.sibling("postgres"), db.sibling("template1")):
        try:
            with candidate.connect(autocommit=True, connect_timeout=10):
                return candidate
        except psycopg.OperationalError as exc:
            error = exc
    raise BenchFailure(f"cannot connect to PostgreSQL at {db.parts.hostname}:{db.parts.port}: {error}")


def create(admin: Database, db: Database) -> dict[str, Any]:
    """Create ``db`` through ``admin``; return the server's version and the settings that bear on the figures."""
    with admin.connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db.name}"')
        return {
            "postgresql": conn.execute("SHOW server_version").fetchone()[0],
            "postgresql_settings": {
                name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("max_connections", "shared_buffers", "fsync", "synchronous_commit")
            },
        }


def drop(admin: Database, db: Database) -> None:
    """Drop ``db`` (whoever is still connected to it)."""
    with admin.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


def manage(env: Mapping[str, str], *args: str, check: bool = True) -> tuple[int, str]:
    """``manage.py ARGS`` in this process (no interpreter start per call): (exit status, stdout).

    The first call sets the process's environment to ``env`` and sets Django up on it, so all
    calls of one run address the same (benchmark) database.
    """
    commands.setup_django(env)
    from django.db import connections

    try:
        outcome = commands.run(*args)
    finally:
        connections.close_all()
    if check and outcome.code != 0:
        raise BenchFailure(f"manage.py {' '.join(args)} failed ({outcome.code}):\n{outcome.out}\n{outcome.err}")
    return outcome.code, outcome.out

"""A peer wallet in the same run: ``python -m bench --peer DIR``, DIR a checkout of fomars/wallet_app_drf.

That project is a Django + REST framework wallet (``select_for_update`` on the wallet, one row
per deposit; no authentication, no idempotency, no double entry). Its deposits are measured
beside the ledger's, under the same gunicorn configuration (``gunicorn.conf.py``, gthread, the
same workers and threads), at the same concurrency, on the same PostgreSQL, as its repository
ships it (its settings read nothing from the environment but the database; ``--peer-debug-off``
serves it with debug off instead, :mod:`bench.peer_settings`). Nothing of it is
part of this project: the checkout is the caller's, and its virtualenv (``DIR/.bench-venv``,
made on first use from its ``requirements.txt`` and the gunicorn this project pins) stays there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from bench.database import Database
from bench.errors import BenchFailure
from bench.report import say
from harness.commands import REPO

WALLETS = 10_000
WALLET_FUNDS = "1000000"  # its balances are decimals of the currency unit
# What gunicorn.conf.py imports, at this project's pinned versions.
_SERVER_PACKAGES = ("gunicorn", "django-environ", "prometheus-client", "python-json-logger")


def _pins() -> list[str]:
    pinned = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name = line.split("==")[0].strip().lower()
        if "==" in line and name in _SERVER_PACKAGES:
            pinned[name] = line.split("#")[0].strip()
    return [pinned.get(name, name) for name in _SERVER_PACKAGES]


def python_of(checkout: Path) -> Path:
    """Return the peer's virtualenv Python, making the virtualenv first if it does not exist."""
    if not (checkout / "manage.py").exists() or not (checkout / "wallet_app").is_dir():
        raise BenchFailure(f"--peer {checkout}: not a checkout of fomars/wallet_app_drf")
    venv = checkout / ".bench-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        say(f"peer: making {venv} (its requirements and gunicorn; once)")
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(checkout / "requirements.txt"), *_pins()],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
            if done.returncode != 0:
                raise BenchFailure(f"peer: {' '.join(step)} failed:\n{done.stdout}\n{done.stderr}")
    return python


def peer_env(base: dict[str, str], db: Database, *, debug: bool = True) -> dict[str, str]:
    """The peer's environment: its database settings (it reads POSTGRES_*), no metrics listener.

    Without ``debug``, its settings with debug off (:mod:`bench.peer_settings`, importable from
    this repository).
    """
    parts = db.parts
    production = {"DJANGO_SETTINGS_MODULE": "bench.peer_settings", "PYTHONPATH": str(REPO)} if not debug else {}
    return {
        **base,
        **production,
        "POSTGRES_DB": db.name,
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "LEDGER_METRICS_BIND": "",
    }


def prepare(checkout: Path, env: dict[str, str], db: Database) -> list[int]:
    """Migrate the peer's database and open :data:`WALLETS` funded wallets; return their ids."""
    python = python_of(checkout)
    migrate = subprocess.run([str(python), "manage.py", "migrate", "--noinput", "-v0"], cwd=checkout, env=env,  # noqa: S603
                             capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    if migrate.returncode != 0:
        raise BenchFailure(f"peer: migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
    with db.connect(autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wallet_app_wallet (label, balance, created_at, updated_at) "
            "SELECT 'bench ' || g, %s::numeric, now(), now() FROM generate_series(1, %s) AS g",
            [WALLET_FUNDS, WALLETS],
        )
        return [row[0] for row in conn.execute("SELECT id FROM wallet_app_wallet ORDER BY id").fetchall()]


def deposits(db: Database) -> int:
    """Return how many deposits the peer's database holds."""
    with db.connect(autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM wallet_app_transaction").fetchone()[0]


def command(checkout: Path):
    """The peer under this project's gunicorn configuration (gthread: its worker class is this project's)."""
    python = python_of(checkout)

    def build(port: int) -> list[str]:
        return [str(python), "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "-k", "gthread",
                "--bind", f"127.0.0.1:{port}", "wallet_app_drf.wsgi"]  # fmt: skip

    return build


def lua_data(wallets: list[int]) -> str:
    """The data file ``load.lua`` reads for the peer's scenario: its wallet ids."""
    ids = ",\n".join(f'"{wallet}"' for wallet in wallets)
    return f'return {{token = "", hot = "", history = "", batch_size = 0, accounts = {{\n{ids}\n}}}}\n'

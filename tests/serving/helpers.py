"""The environment of the servers the serving tests start: production settings on the test database."""

from __future__ import annotations

import secrets

from harness import environment

METRICS_TOKEN = "metrics-" + secrets.token_hex(16)


def production_env(**overrides: str) -> dict[str, str]:
    """Return the production settings of a gunicorn on the test database (two workers of four threads), plus
    ``overrides``: metrics are read with :data:`METRICS_TOKEN` only."""
    defaults = {
        "DATABASE_URL": environment.database_url(),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "LEDGER_METRICS_TOKEN": METRICS_TOKEN,
        "LEDGER_METRICS_ALLOWED_NETWORKS": "",  # the token is the only way in
    }
    return environment.production_env(**{**defaults, **overrides})

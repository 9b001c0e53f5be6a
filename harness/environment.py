"""The environment of the processes a test or a run starts: this process's, without the project's settings.

A server, ``manage.py`` or ``bin/ledger`` started by the harness reads only the settings its
caller gives it, whatever the shell that started the tests exported: every variable the
settings, ``gunicorn.conf.py`` or the metrics read is removed first.
"""

from __future__ import annotations

import os
import secrets

# What the project reads from the environment (ledger_project/settings.py, gunicorn.conf.py).
OWN_PREFIXES = ("DJANGO_", "LEDGER_", "DB_", "GUNICORN_", "CACHE_", "LOG_", "PROMETHEUS_", "WEB_CONCURRENCY")
OWN_NAMES = frozenset({"DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "FORWARDED_ALLOW_IPS"})


def project_env(**overrides: str) -> dict[str, str]:
    """Return this process's environment without any setting of the project's own, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES) and k not in OWN_NAMES}
    env.update(overrides)
    return env


def production_env(*, secret_key: str | None = None, **overrides: str) -> dict[str, str]:
    """Return :func:`project_env` with production settings for a server on loopback, plus ``overrides``.

    Debug is off, the secret key is ``secret_key`` (a new random one unless given: instances
    that must accept each other's signed cursors share one), and plain HTTP is not redirected
    (TLS is a proxy's job; the servers listen on 127.0.0.1).
    """
    defaults = {
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secret_key or secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "False",
    }
    return project_env(**{**defaults, **overrides})


def database_url() -> str:
    """Return the URL of the PostgreSQL database Django is connected to (in tests: the one pytest-django made).

    Server subprocesses started by a test use it to see what the test wrote.
    """
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

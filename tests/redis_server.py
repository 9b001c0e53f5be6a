"""The Redis the tests that share state between processes use (CI starts one on 127.0.0.1:6379)."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = os.environ.get("LEDGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> None:
    """Skip the test when no Redis answers at :data:`REDIS_URL`; under CI, fail instead."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL} (CI starts one; locally: redis-server --daemonize yes)")

"""``api.counters`` on Redis (one pipeline per hit) and in local memory: the same counts, one window each."""

from __future__ import annotations

import uuid

import pytest

from api import counters
from tests.redis_server import REDIS_URL, redis_or_skip


def _use_redis(settings) -> None:
    redis_or_skip()
    settings.REDIS_URL = REDIS_URL
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture(params=["redis", "memory"])
def store(request, settings):
    if request.param == "redis":
        _use_redis(settings)
    counters._redis.cache_clear()
    yield request.param
    counters._redis.cache_clear()


@pytest.fixture
def redis_store(settings):
    _use_redis(settings)
    counters._redis.cache_clear()
    yield
    counters._redis.cache_clear()


def test_a_counter_counts_each_hit_once_and_starts_at_zero(store):
    key = f"window-{uuid.uuid4().hex}"
    assert counters.peek(key) == 0
    assert [counters.hit(key, 60) for _ in range(3)] == [1, 2, 3]
    assert counters.peek(key) == 3
    assert counters.peek(f"{key}-other") == 0


def test_a_redis_counter_lives_one_window_and_its_first_hit_sets_that(redis_store):
    key = f"window-{uuid.uuid4().hex}"
    counters.hit(key, 60)
    client = counters._redis()
    ttl = client.ttl(counters._redis_key(key))
    assert 59 <= ttl <= 61
    client.expire(counters._redis_key(key), 5)
    counters.hit(key, 60)  # A later hit keeps the window's end.
    assert client.ttl(counters._redis_key(key)) <= 5

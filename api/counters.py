"""Fixed-window counters shared by every instance: the request throttle and the failed-authentication count.

A counter is a key that lives for one window: :func:`hit` raises it by one and returns the
new count, :func:`peek` reads it. With ``REDIS_URL`` they are Redis keys under the cache's
``CACHE_KEY_PREFIX``, written in one round trip (``INCR`` and ``EXPIRE ... NX`` in one
pipeline) by a client each process keeps: Django's cache API would spend three round trips
(``SET NX``, ``EXISTS``, ``INCRBY``) and several times the CPU per call on the same work, on
every request (docs/benchmarks.md, *Round 3*). Without Redis they live in Django's local
cache (``add`` then ``incr``), per process.

Errors of the store propagate; the callers let requests through when it cannot be reached.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from django.core.cache import cache


@functools.cache
def _redis() -> redis.Redis:
    """Return this process's client of ``REDIS_URL`` (thread-safe: a pool of connections)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def _redis_key(key: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:counter:{key}"


def hit(key: str, window_seconds: int) -> int:
    """Raise the counter ``key`` by one and return it; a new counter lives ``window_seconds`` (plus one)."""
    if settings.REDIS_URL:
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(_redis_key(key))
        pipe.expire(_redis_key(key), window_seconds + 1, nx=True)
        count, _ = pipe.execute()
        return int(count)
    try:
        return int(cache.incr(key))
    except ValueError:  # No counter yet in this window.
        if cache.add(key, 1, timeout=window_seconds + 1):
            return 1
        return int(cache.incr(key))  # Another request created it meanwhile.


def peek(key: str) -> int:
    """Return the counter ``key`` (0 if it does not exist)."""
    if settings.REDIS_URL:
        value = _redis().get(_redis_key(key))
        return int(value) if value is not None else 0
    return int(cache.get(key, 0))

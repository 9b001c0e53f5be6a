"""The per-client throttle: racing requests are each counted once, and its state stays one number."""

from __future__ import annotations

import pickle
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from tests.clients import client_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@override_settings(LEDGER_THROTTLE_RATE="10/min")
def test_racing_requests_of_one_client_are_each_counted_once(user):
    clients = [client_for(user) for _ in range(20)]
    barrier = threading.Barrier(len(clients), timeout=30)
    statuses: list[int] = []

    def one(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            statuses.append(clients[index].get("/api/v1/accounts/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * 10 + [429] * 10


@override_settings(LEDGER_THROTTLE_RATE="100000/min")
def test_a_busy_client_is_one_counter_not_a_log_of_its_requests(user):
    api = client_for(user)
    cache.clear()
    for _ in range(50):
        assert api.get("/api/v1/accounts/").status_code == 200
    counters = [pickle.loads(value) for value in cache._cache.values()]  # noqa: S301 (LocMemCache's own pickles)
    assert 50 in counters
    assert all(isinstance(value, int) for value in counters), counters

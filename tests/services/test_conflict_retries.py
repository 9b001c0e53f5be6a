"""A posting that loses a real deadlock is retried, not reported to the client.

Two threads lock the same two accounts in opposite orders inside
``run_atomically_with_retries`` (the posting service never does this; here it forces
PostgreSQL's deadlock detector to pick a victim). The victim's attempt is rolled back and
run again, and both finish.
"""

import threading

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from accounts.models import Account
from ledger.atomic import run_atomically_with_retries
from tests.factories import AccountFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _deadlock_retries() -> float:
    return REGISTRY.get_sample_value("ledger_posting_retries_total", {"reason": "deadlock"}) or 0.0


def test_a_deadlock_victim_is_retried_and_both_writers_finish(user):
    first, second = AccountFactory(owner=user), AccountFactory(owner=user)
    both_hold_one = threading.Barrier(2)
    attempts = {"ab": 0, "ba": 0}
    retries_before = _deadlock_retries()

    def writer(name: str, order: list[int]) -> None:
        def work() -> None:
            attempts[name] += 1
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM accounts_account WHERE id = %s FOR UPDATE", [order[0]])
                if attempts[name] == 1:
                    both_hold_one.wait(timeout=10)  # the other thread holds its first row now
                cursor.execute("SELECT id FROM accounts_account WHERE id = %s FOR UPDATE", [order[1]])
                cursor.execute("UPDATE accounts_account SET name = %s WHERE id = %s", [name, order[1]])

        try:
            run_atomically_with_retries(work)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=writer, args=("ab", [first.pk, second.pk])),
        threading.Thread(target=writer, args=("ba", [second.pk, first.pk])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(attempts.values()) == [1, 2]  # exactly one victim, retried once
    assert _deadlock_retries() == retries_before + 1
    names = set(Account.objects.filter(pk__in=[first.pk, second.pk]).values_list("name", flat=True))
    assert names == {"ab", "ba"}

"""What a read-through Redis cache of balances could save, measured beside the database it would spare.

``python -m bench.cache_probe ACCOUNT_ID CLIENT`` runs in a Django process on the benchmark's
database (``make bench`` starts it after the scenarios, with the servers' settings) and prints
one JSON line: the mean time of the balance read's only database work, the client's own
account by public id (:func:`accounts.selectors.account_get`: the row holds the balance), next
to a ``GET`` of the same balance document from Redis, and the ``SET`` every posting would add
to keep that copy true (invalidated after the commit). The cache is worth building only if the
difference is a real share of a balance read; ``docs/scaling.md`` records the decision.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

ROUNDS = 2000


def _mean_us(work: Callable[[], object]) -> float:
    for _ in range(100):
        work()
    started = time.perf_counter()
    for _ in range(ROUNDS):
        work()
    return round((time.perf_counter() - started) / ROUNDS * 1e6, 1)


def main(account_id: str, client: str) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_project.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from accounts.selectors import account_get

    user = get_user_model().objects.get(username=client)
    database_us = _mean_us(lambda: account_get(user=user, account_id=account_id))
    if not settings.REDIS_URL:
        return {"database_read_us": database_us, "redis": None}
    account = account_get(user=user, account_id=account_id)
    document = {"account_id": account_id, "currency": account.currency, "balance_minor": account.balance_minor,
                "owner_id": account.owner_id}  # fmt: skip
    key = f"bench-balance:{account_id}"
    cache.set(key, document)
    return {
        "database_read_us": database_us,
        "redis_get_us": _mean_us(lambda: cache.get(key)),
        "redis_set_us": _mean_us(lambda: cache.set(key, document)),
        "redis": "on",
    }


if __name__ == "__main__":
    print("CACHE_PROBE " + json.dumps(main(sys.argv[1], sys.argv[2])))

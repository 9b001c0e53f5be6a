"""History on a real streaming replica: read there only when it is fresh enough, never less than the primary shows.

A throwaway primary and its replica (``pg_basebackup -R``, :mod:`harness.postgres`), a gunicorn
instance with ``DATABASE_REPLICA_URL`` on the replica. With the replica's replay paused
(``pg_wal_replay_pause()``), a client's new deposit is missing on the replica, yet its history
shows it at once: the read went to the primary. Another account, untouched since the pause,
is read on the replica. Resumed, the replica serves the history again; stopped, the primary
does, and nothing fails. ``ledger_replica_reads_total`` tells which database served.
"""

from __future__ import annotations

import re
import time

import pytest

from harness.commands import manage
from harness.ports import free_port
from harness.postgres import PostgresServer, find_bindir
from harness.servers import gunicorn_command, http, serve
from tests.serving.helpers import METRICS_TOKEN, production_env
from tests.tools import require

pytestmark = pytest.mark.postgres


@pytest.fixture
def primary_and_replica():
    """A migrated primary with a streaming replica, on free ports; both removed afterwards."""
    require([] if find_bindir() else ["postgresql"], "a throwaway primary and replica", "apt-get install postgresql")
    with PostgresServer(name="primary") as primary:
        primary.init()
        primary.start()
        url = primary.create_database("ledger")
        manage(production_env(DATABASE_URL=url), "migrate", "--noinput", "-v0", timeout=300)
        replica = primary.replica("replica")
        try:
            yield primary, replica
        finally:
            replica.remove()


def reads(base: str) -> dict[tuple[str, str], float]:
    """``ledger_replica_reads_total`` by (database, reason), from the instance's metrics."""
    text = http(base, "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).body
    pattern = r'^ledger_replica_reads_total\{database="(\w+)",reason="(\w+)"\} (\S+)$'
    return {(db, reason): float(value) for db, reason, value in re.findall(pattern, text, re.MULTILINE)}


def replica_postings(replica: PostgresServer) -> int:
    return replica.execute("SELECT count(*) FROM transactions_posting", "ledger")[0][0]


def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_history_reads_the_replica_only_once_it_has_replayed_what_the_primary_shows(tmp_path, primary_and_replica):
    primary, replica = primary_and_replica
    env = production_env(
        DATABASE_URL=primary.url_of("ledger"), DATABASE_REPLICA_URL=replica.url_of("ledger"), WEB_CONCURRENCY="1"
    )
    token = manage(env, "create_api_client", "replica-reader").stdout.strip()
    port = free_port()
    with serve(gunicorn_command(port), env, port, tmp_path / "gunicorn.log") as base:

        def post(path: str, body: dict, key: str) -> dict:
            answer = http(base, "POST", path, body, token=token, key=key)
            assert answer.status == 201, answer.body
            return answer.body

        def history(account: dict) -> list[str]:
            answer = http(base, "GET", f"/api/v1/accounts/{account['id']}/history/", token=token)
            assert answer.status == 200, answer.body
            return [entry["amount"] for entry in answer.body["results"]]

        mine = post("/api/v1/accounts/", {"currency": "USD"}, "open-mine")
        other = post("/api/v1/accounts/", {"currency": "USD"}, "open-other")
        post("/api/v1/deposits/", {"account_id": mine["id"], "amount": "5.00"}, "deposit-1")
        post("/api/v1/deposits/", {"account_id": other["id"], "amount": "1.00"}, "deposit-other")
        wait_for(lambda: replica_postings(replica) == 4)  # two deposits, two legs each
        assert history(mine) == ["5.00"]
        assert reads(base).get(("replica", "fresh"), 0) >= 1

        replica.execute("SELECT pg_wal_replay_pause()")
        wait_for(lambda: replica.execute("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused")
        post("/api/v1/deposits/", {"account_id": mine["id"], "amount": "7.00"}, "deposit-2")
        before = reads(base)
        assert history(mine) == ["7.00", "5.00"]  # at once: the client's own write, from the primary
        assert history(other) == ["1.00"]  # untouched since the pause: the replica is fresh for it
        after = reads(base)
        assert replica_postings(replica) == 4  # the replica really has not replayed the deposit
        assert after.get(("primary", "replica_behind"), 0) == before.get(("primary", "replica_behind"), 0) + 1
        assert after[("replica", "fresh")] == before[("replica", "fresh")] + 1

        replica.execute("SELECT pg_wal_replay_resume()")
        wait_for(lambda: replica_postings(replica) == 6)
        assert history(mine) == ["7.00", "5.00"]
        assert reads(base)[("replica", "fresh")] == after[("replica", "fresh")] + 1

        replica.stop("immediate")
        assert history(mine) == ["7.00", "5.00"]  # the replica is gone: the primary answers, nothing fails
        assert history(other) == ["1.00"]
        assert reads(base).get(("primary", "replica_failed"), 0) >= 2

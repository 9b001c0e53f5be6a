"""With DATABASE_REPLICA_URL, history pages are read from the replica and nothing else is.

The "replica" here is a second database with the schema but none of the primary's rows: a
replica lagging behind by everything. History answers from it (empty, stale), while the
balance, the account and the posting itself go to the primary.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.db import connection

from harness.commands import manage
from harness.environment import database_url, project_env
from harness.ports import free_port
from harness.servers import gunicorn_command, http, serve
from tests.factories import AccountFactory, UserFactory
from tests.serving.helpers import production_env

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lagging_replica():
    """A migrated, empty database standing for a replica that has not caught up."""
    name = f"{connection.settings_dict['NAME']}_replica_{uuid.uuid4().hex[:8]}"
    admin = database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url().rsplit("/", 1)[0] + f"/{name}"
    env = project_env(DATABASE_URL=url, DJANGO_DEBUG="True", LEDGER_CURRENCIES="USD")
    manage(env, "migrate", "-v0")
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_history_reads_the_replica_and_everything_else_the_primary(tmp_path, lagging_replica):
    client = UserFactory()
    account = AccountFactory(owner=client)
    port = free_port()
    env = production_env(DATABASE_REPLICA_URL=lagging_replica)
    with serve(gunicorn_command(port), env, port, tmp_path / "gunicorn.log") as base:
        token = client.auth_token.key
        deposit = http(
            base, "POST", "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": "5.00"},
            token=token, key="replica-1",
        )  # fmt: skip
        assert deposit.status == 201
        balance = http(base, "GET", f"/api/v1/accounts/{account.public_id}/balance/", token=token)
        history = http(base, "GET", f"/api/v1/accounts/{account.public_id}/history/", token=token)
    assert balance.body["balance"] == "5.00"  # the primary
    assert history.status == 200
    assert history.body["results"] == []  # the replica has not caught up

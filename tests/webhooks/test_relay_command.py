"""``manage.py relay_events``: one round with ``--once``; a loop that survives a database error and stops on SIGTERM."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from tests.factories import AccountFactory, UserFactory
from tests.webhooks.helpers import deposit
from webhooks.management.commands import relay_events
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def posted(receiver):
    owner = UserFactory(username="acme")
    account = AccountFactory(owner=owner, currency="USD")
    endpoint_create(owner=owner, url=receiver.url(), event_types=["transaction.posted"])
    deposit(owner, account)
    return owner


def test_once_runs_one_round_and_says_what_it_did(posted, receiver):
    out = io.StringIO()
    call_command("relay_events", "--once", stdout=out)

    assert "recorded 1 delivery attempt(s)" in out.getvalue()
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_the_loop_survives_a_database_error_and_stops_when_asked(posted, receiver, monkeypatch, caplog):
    real_fan_out, failures = relay_events.fan_out, []

    def flaky_fan_out(limit: int) -> int:
        if not failures:
            failures.append(1)
            raise OperationalError("connection to server was lost")
        return real_fan_out(limit=limit)

    monkeypatch.setattr(relay_events, "fan_out", flaky_fan_out)
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="webhooks.relay_events")

    def run() -> None:
        try:
            relay_events.relay(interval=0.05, stop=stop, worker="test")
        finally:
            connection.close()  # This thread's own connection.

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(receiver.received) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("round failed, retrying" in m and "connection to server was lost" in m for m in messages)
    busy = [r for r in caplog.records if r.getMessage().startswith("relay: published")]
    assert busy
    assert busy[0].fanned_out >= 1  # account.opened (before the endpoint: no delivery) and the posting.
    assert busy[0].delivered == 1


def test_sigterm_ends_the_relay_with_status_0(db):
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
        f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}",
        "LEDGER_EVENTS_BROKER_URL": "",
    }
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events", "--interval", "0.2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(relay.stderr.readline, b"")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while not any(b"idle rounds every" in line for line in lines) and time.monotonic() < deadline:
            assert relay.poll() is None, b"".join(lines)
            time.sleep(0.1)
        time.sleep(0.5)  # A few idle rounds.
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(15) == 0, b"".join(lines)
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()
    reader.join(5)
    assert any(b"SIGTERM received, stopping" in line for line in lines)

"""The short version of scenario 7 (``python -m torture --short --only relay``): relays SIGKILLed while publishing.

Needs RabbitMQ on 127.0.0.1:5672 as well as PostgreSQL (CI starts it: ``.ci/run``).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import pytest

from harness.rabbitmq import BROKER_URL, Message, broker_reachable
from torture import relay
from torture.report import Result, details

pytestmark = pytest.mark.postgres


def assert_passed(result: Result) -> None:
    assert result.passed, f"{len(result.violations)} violations:\n" + details([result])
    print("\n" + details([result]))


def test_relays_killed_mid_stream_lose_no_event_and_repeat_only_whole_messages(torture_context):
    if not broker_reachable(BROKER_URL):
        if os.environ.get("CI"):
            pytest.fail(f"no RabbitMQ at {BROKER_URL}: .ci/run starts one")
        pytest.skip(f"no RabbitMQ at {BROKER_URL} (CI starts one; locally: rabbitmq-server -detached)")

    result = relay.run(torture_context)

    assert_passed(result)
    assert result.faults >= 2  # relays were SIGKILLed, more than once
    assert "0 missing" in result.figures["messages received"]
    assert result.figures["first arrivals out of commit order"] == 0
    assert int(result.figures["events committed"].split()[0].replace(",", "")) > 100


def _message(public_id: str, body: bytes, routing_key: str = "account.opened") -> Message:
    return Message(routing_key, public_id, 2, "application/json", routing_key, body, time.time(), False)


def test_the_scenario_check_catches_a_missing_event_a_changed_duplicate_and_an_inversion():
    created = datetime(2026, 1, 1, tzinfo=UTC)
    events = [(f"id-{n}", "account.opened", {"n": n}, created) for n in range(3)]
    body = {
        e[0]: json.dumps({"id": e[0], "type": e[1], "created_at": "2026-01-01T00:00:00Z", "data": e[2]}).encode()
        for e in events
    }
    messages = [_message("id-1", body["id-1"]), _message("id-0", body["id-0"]), _message("id-0", b"{}")]

    result = Result("relay", "7")
    relay.check_messages(result, events, messages)

    assert result.violations == [
        "event id-0 arrived again with another routing key or body",
        "1 committed events never arrived, e.g. ['id-2']",
        "1 first arrivals out of commit order",
    ]

"""Publishing events to RabbitMQ (``events.broker``), against the real broker CI starts on 127.0.0.1:5672.

Each test reads from a queue of its own bound to ``ledger.events`` with ``#`` and keeps only the
messages of the events it wrote (the broker may be shared with other runs). The events are
written with ``events.outbox.store``, each call its own committed transaction, as the services
write them. At the end, what /metrics shows of publishing and of the webhook deliveries.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from events import broker
from events.models import BrokerCursor, Event
from events.outbox import Draft, store
from events.selectors import document
from harness.commands import manage
from harness.environment import database_url, production_env
from harness.ports import free_port
from harness.rabbitmq import BROKER_URL, Consumer, broker_reachable
from tests.factories import AccountFactory, StaffFactory, UserFactory
from tests.scrapes import sample, scrape
from transactions.services import deposit_create, transfer_create
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def url() -> str:
    """The broker's URL; the test is skipped without one (under CI, it fails)."""
    if not broker_reachable(BROKER_URL):
        if os.environ.get("CI"):
            pytest.fail(f"no RabbitMQ at {BROKER_URL}: .ci/run starts one")
        pytest.skip(f"no RabbitMQ at {BROKER_URL} (CI starts one; locally: rabbitmq-server -detached)")
    return BROKER_URL


@pytest.fixture
def consumer(url):
    with Consumer(url) as queue:
        yield queue
    broker.close()


@pytest.fixture(autouse=True)
def _fresh_connection():
    yield
    broker.close()


def write(*types: str) -> list[Event]:
    """Store one event of each type, in one committed transaction; return them in id order."""
    drafts = [Draft(type=t, subject_id=uuid.uuid4(), data={"n": n, "type": t}, readers={}) for n, t in enumerate(types)]
    store(drafts, now=timezone.now())
    return list(Event.objects.filter(public_id__in=[d.public_id for d in drafts]).order_by("pk"))


def mine(consumer: Consumer, events: list[Event], *, at_least: int | None = None, timeout: float = 10.0):
    """The messages of ``events`` the consumer receives, once ``at_least`` of them (default: all) arrived."""
    ids = {str(e.public_id) for e in events}
    wanted = len(events) if at_least is None else at_least

    def enough(messages) -> bool:
        return sum(1 for m in messages if m.message_id in ids) >= wanted

    return [m for m in consumer.drain(until=enough, timeout=timeout) if m.message_id in ids]


def commit_ordered(events: list[Event]) -> list[str]:
    rows = Event.objects.filter(pk__in=[e.pk for e in events]).order_by("txid", "id")
    return [str(e.public_id) for e in rows]


def failures(stage: str) -> float:
    return REGISTRY.get_sample_value("ledger_events_broker_publish_failures_total", {"stage": stage}) or 0.0


def cursor() -> BrokerCursor:
    return BrokerCursor.objects.get(name=broker.CURSOR)


# --- messages ---------------------------------------------------------------------------------


def test_each_event_is_published_persistent_with_its_id_type_and_staff_document(consumer, url):
    events = write("account.opened", "transaction.posted", "hold.created")

    assert broker.publish_pending(url=url) == 3

    messages = mine(consumer, events)
    staff = StaffFactory()
    assert [m.message_id for m in messages] == [str(e.public_id) for e in events]
    for message, event in zip(messages, events, strict=True):
        assert message.routing_key == event.type
        assert message.type == event.type
        assert message.delivery_mode == 2  # persistent
        assert message.content_type == "application/json"
        assert json.loads(message.body) == document(event, staff)


def test_real_postings_arrive_as_their_events_in_commit_order(consumer, url):
    owner = UserFactory()
    payer, payee = AccountFactory(owner=owner), AccountFactory(owner=owner)
    deposit_create(actor=owner, account_id=payer.public_id, amount=Decimal("10.00"))
    transfer_create(actor=owner, source_account_id=payer.public_id, destination_account_id=payee.public_id,
                    amount=Decimal("4.00"))  # fmt: skip
    events = list(Event.objects.order_by("pk"))
    assert [e.type for e in events] == ["account.opened"] * 2 + ["transaction.posted"] * 2

    assert broker.publish_pending(url=url) == 4

    messages = mine(consumer, events)
    assert [m.message_id for m in messages] == commit_ordered(events)
    staff = StaffFactory()
    assert [json.loads(m.body) for m in messages] == [document(e, staff) for e in events]
    transfer = json.loads(messages[-1].body)["data"]
    assert {leg["account_id"] for leg in transfer["postings"]} == {str(payer.public_id), str(payee.public_id)}


def test_a_transaction_event_carries_every_leg(consumer, url):
    legs = [{"account_id": str(uuid.uuid4()), "amount": a} for a in ("-5.00", "5.00")]
    drafts = [Draft(type="transaction.posted", subject_id=uuid.uuid4(), data={"postings": legs}, readers={})]
    store(drafts, now=timezone.now())
    event = Event.objects.get(public_id=drafts[0].public_id)

    broker.publish_pending(url=url)

    (message,) = mine(consumer, [event])
    assert json.loads(message.body)["data"]["postings"] == legs  # staff's view: no leg left out


def test_nothing_is_published_twice_and_an_idle_call_publishes_nothing(consumer, url):
    events = write("account.opened", "account.opened")
    assert broker.publish_pending(url=url) == 2
    assert broker.publish_pending(url=url) == 0

    time.sleep(0.3)
    assert len(mine(consumer, events, timeout=1.0)) == 2
    assert (cursor().last_txid, cursor().last_event_id) == (events[-1].txid, events[-1].pk)
    assert cursor().lease_owner == ""  # given back


def test_no_broker_configured_publishes_nothing_and_reads_nothing(settings, django_assert_num_queries):
    settings.LEDGER_EVENTS_BROKER_URL = ""
    write("account.opened")

    with django_assert_num_queries(0):
        assert broker.publish_pending() == 0


def test_it_refuses_to_run_inside_a_transaction(url):
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside any transaction"):
        broker.publish_pending(url=url)


# --- order ------------------------------------------------------------------------------------


def test_events_arrive_in_commit_order_in_batches_of_the_limit(consumer, url):
    events = [e for _ in range(7) for e in write("account.opened", "transaction.posted", "hold.captured")]

    published = [broker.publish_pending(limit=5, url=url) for _ in range(6)]

    assert published == [5, 5, 5, 5, 1, 0]
    assert [m.message_id for m in mine(consumer, events)] == commit_ordered(events)


def test_an_event_of_a_transaction_still_open_waits_and_nothing_committed_after_it_overtakes_it(consumer, url):
    before = write("account.opened")
    written, go = threading.Event(), threading.Event()
    late: list[Event] = []

    def open_transaction() -> None:
        try:
            with transaction.atomic():
                late.extend(write("transaction.posted"))  # a lower txid, still uncommitted
                written.set()
                go.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=open_transaction)
    writer.start()
    assert written.wait(10)
    after = write("hold.created")  # commits first, with a higher txid

    assert broker.publish_pending(url=url) == 1  # only the event below the horizon
    assert [m.message_id for m in mine(consumer, before)] == [str(before[0].public_id)]

    go.set()
    writer.join(10)
    assert broker.publish_pending(url=url) == 2
    events = before + late + after
    assert [m.message_id for m in mine(consumer, events)] == commit_ordered(events)
    assert commit_ordered(late + after) == [str(late[0].public_id), str(after[0].public_id)]


# --- the broker unreachable -------------------------------------------------------------------


def test_with_the_broker_unreachable_events_wait_and_all_arrive_once_it_answers(consumer, url, caplog):
    events = write("account.opened", "transaction.posted")
    down = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens there
    failed = failures("connect")

    assert broker.publish_pending(url=down) == 0
    assert broker.publish_pending(url=down) == 0

    assert failures("connect") == failed + 2
    assert "broker: connect failed after 0 event(s) confirmed" in caplog.text
    assert (cursor().last_txid, cursor().last_event_id) == (0, 0)
    assert cursor().lease_owner == ""  # a failure gives the lease back too
    assert broker.publishing_status().oldest_pending_at == events[0].created_at

    events += write("hold.voided")  # written while the broker was down
    assert broker.publish_pending(url=url) == 3

    assert [m.message_id for m in mine(consumer, events)] == commit_ordered(events)
    assert broker.publishing_status().oldest_pending_at is None


def test_a_connection_that_died_is_opened_again(consumer, url):
    first = write("account.opened")
    assert broker.publish_pending(url=url) == 1
    dead = broker._connection.connection
    dead._impl._transport._sock.shutdown(2)  # the broker, or the network, dropped it

    second = write("account.opened")
    published = broker.publish_pending(url=url) or broker.publish_pending(url=url)

    assert published == 1
    assert broker._connection.connection is not dead
    assert [m.message_id for m in mine(consumer, first + second)] == commit_ordered(first + second)


def test_a_crash_after_the_confirm_and_before_the_cursor_moves_publishes_the_same_messages_again(
    consumer, url, monkeypatch
):
    events = write("account.opened", "transaction.posted")
    settle = broker._settle

    def crash(owner, confirmed):
        raise SystemExit("killed between the confirm and the cursor")

    monkeypatch.setattr(broker, "_settle", crash)
    with pytest.raises(SystemExit):
        broker.publish_pending(url=url, lease_seconds=2)
    monkeypatch.setattr(broker, "_settle", settle)

    assert broker.publish_pending(url=url, lease_seconds=2) == 0  # the dead publisher's lease still holds
    time.sleep(2.1)
    assert broker.publish_pending(url=url) == 2

    messages = mine(consumer, events, at_least=4)
    assert [m.message_id for m in messages] == commit_ordered(events) * 2
    first, again = messages[:2], messages[2:]
    assert [(m.routing_key, m.body) for m in first] == [(m.routing_key, m.body) for m in again]


# --- one publisher at a time ------------------------------------------------------------------


def test_a_second_publisher_finds_the_lease_taken_and_publishes_nothing(consumer, url, monkeypatch):
    events = write("account.opened", "transaction.posted", "hold.created")
    inside, release = threading.Event(), threading.Event()
    body_of = broker.body_of

    def slow_body(event):
        inside.set()
        release.wait(10)
        return body_of(event)

    monkeypatch.setattr(broker, "body_of", slow_body)
    results: list[int] = []

    def first() -> None:
        try:
            results.append(broker.publish_pending(url=url))
        finally:
            connection.close()

    publisher = threading.Thread(target=first)
    publisher.start()
    assert inside.wait(10)
    second = broker.publish_pending(url=url)  # while the first is talking to the broker
    release.set()
    publisher.join(10)

    assert second == 0
    assert results == [3]
    assert [m.message_id for m in mine(consumer, events)] == commit_ordered(events)


def test_concurrent_publishers_publish_each_event_once(consumer, url):
    events = [e for _ in range(10) for e in write("account.opened", "transaction.posted")]
    start = threading.Barrier(4)
    published: list[int] = []

    def publisher() -> None:
        try:
            start.wait(10)
            for _ in range(5):
                published.append(broker.publish_pending(limit=3, url=url))
        finally:
            connection.close()

    threads = [threading.Thread(target=publisher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    while broker.publish_pending(url=url):
        pass

    time.sleep(0.3)
    messages = mine(consumer, events, timeout=2.0)
    assert [m.message_id for m in messages] == commit_ordered(events)  # once each, in order
    assert sum(published) <= len(events)


def test_a_publisher_whose_lease_was_taken_over_leaves_the_cursor_alone(url):
    write("account.opened")
    assert broker._take_lease("old", 60) is not None
    BrokerCursor.objects.filter(name=broker.CURSOR).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert broker._take_lease("new", 60) is not None  # the old lease ran out

    assert broker._settle("old", Event.objects.get()) is False
    assert (cursor().last_txid, cursor().last_event_id, cursor().lease_owner) == (0, 0, "new")


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_show_the_lag_the_heartbeat_and_the_failures(settings, url):
    settings.LEDGER_EVENTS_BROKER_URL = url
    drafts = [Draft(type="account.opened", subject_id=uuid.uuid4(), data={}, readers={})]
    store(drafts, now=timezone.now() - timedelta(seconds=30))  # waiting for 30 s

    exposition = scrape(settings)
    assert sample(exposition, "ledger_events_broker_lag_seconds") >= 30
    assert sample(exposition, "ledger_events_broker_heartbeat_age_seconds") is None  # no publisher ran yet

    broker.publish_pending(url=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    exposition = scrape(settings)
    assert sample(exposition, "ledger_events_broker_lag_seconds") >= 30  # still waiting
    assert 0 <= sample(exposition, "ledger_events_broker_heartbeat_age_seconds") < 5
    assert sample(exposition, 'ledger_events_broker_publish_failures_total{stage="connect"}') >= 1

    assert broker.publish_pending() == 1
    exposition = scrape(settings)
    assert sample(exposition, "ledger_events_broker_lag_seconds") == 0
    assert "# TYPE ledger_events_broker_lag_seconds gauge" in exposition


def test_without_a_broker_the_metrics_leave_publishing_out(settings):
    settings.LEDGER_EVENTS_BROKER_URL = ""
    write("account.opened")

    assert "ledger_events_broker_lag_seconds " not in scrape(settings)


def test_a_relay_without_its_metrics_folder_counts_the_failure_all_the_same(url, tmp_path):
    folder = tmp_path / "not-yet"  # the image sets PROMETHEUS_MULTIPROC_DIR; only gunicorn creates it
    down = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    env = production_env(
        DATABASE_URL=database_url(), PROMETHEUS_MULTIPROC_DIR=str(folder), LEDGER_EVENTS_BROKER_URL=down
    )
    write("account.opened")

    result = manage(env, "shell", "-c", "from events.broker import publish_pending; print(publish_pending())")

    assert result.stdout.strip().splitlines()[-1] == "0"
    assert any(folder.glob("counter_*.db"))


def test_metrics_show_the_pending_webhook_deliveries_and_how_late_they_are(settings):
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        owner=UserFactory(), url="https://example.com/hook", event_types=["*"], secret="whsec_x", created_at=now
    )
    events = write("account.opened", "transaction.posted", "hold.created")
    deliveries = [
        (events[0], "pending", now - timedelta(minutes=10), now - timedelta(seconds=40)),  # due 40 s ago
        (events[1], "pending", now - timedelta(minutes=2), now + timedelta(minutes=5)),  # retried later
        (events[2], "failed", now - timedelta(hours=30), None),  # done: not pending
    ]
    for event, status, created_at, due in deliveries:
        WebhookDelivery.objects.create(
            endpoint=endpoint, event=event, status=status, created_at=created_at, next_attempt_at=due
        )

    exposition = scrape(settings)

    assert sample(exposition, "ledger_webhook_deliveries_pending") == 2
    assert 600 <= sample(exposition, "ledger_webhook_deliveries_oldest_pending_seconds") < 660
    assert 40 <= sample(exposition, "ledger_webhook_deliveries_overdue_seconds") < 100


def test_without_pending_deliveries_the_webhook_gauges_are_zero(settings):
    exposition = scrape(settings)

    assert sample(exposition, "ledger_webhook_deliveries_pending") == 0
    assert sample(exposition, "ledger_webhook_deliveries_oldest_pending_seconds") == 0
    assert sample(exposition, "ledger_webhook_deliveries_overdue_seconds") == 0

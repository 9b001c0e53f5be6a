"""Traces: one trace from a transfer's request, through its SQL and its event, to the webhook delivery.

Tracing is turned on through ``configure_tracing`` with an in-memory exporter (``spans``), on
PostgreSQL, with the webhook tests' real HTTPS receiver and the relay's own rounds. With
tracing off (the default: no OTLP endpoint), nothing is instrumented and events store nothing.
"""

from __future__ import annotations

import os
import time
import uuid

import pika
import psycopg
import pytest
from django.conf import settings
from django.utils import timezone
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from events import broker
from events.models import Event
from events.outbox import Draft, store
from harness.rabbitmq import BROKER_URL, broker_reachable
from ledger import tracing
from ledger_project.tracing import REQUEST_ID_ATTRIBUTE, configure_tracing, wanted
from tests.api.helpers import transfer
from tests.clients import client_for
from tests.factories import AccountFactory, UserFactory
from tests.webhooks.helpers import deposit, relay_round
from tests.webhooks.helpers import transfer as services_transfer
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"


@pytest.fixture
def client_user():
    return UserFactory(username="acme")


@pytest.fixture
def source(client_user):
    account = AccountFactory(owner=client_user, currency="USD", name="acme main")
    deposit(client_user, account, "100.00")
    return account


@pytest.fixture
def destination(client_user):
    return AccountFactory(owner=client_user, currency="USD", name="acme savings")


def subscribe(owner, receiver) -> None:
    endpoint_create(owner=owner, url=receiver.url(), event_types=["transaction.posted"], description="traces")


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """The spans above ``span`` in its trace, nearest first (as far as the exporter saw them)."""
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


def is_sql(span: ReadableSpan) -> bool:
    attributes = span.attributes or {}
    system = attributes.get("db.system", attributes.get("db.system.name"))  # the old and the new conventions
    return span.kind is SpanKind.CLIENT and system == "postgresql"


def test_one_trace_covers_the_transfer_request_its_sql_and_its_webhook_delivery(
    spans, receiver, client_user, source, destination
):
    subscribe(client_user, receiver)

    response = transfer(client_for(client_user), source.public_id, destination.public_id, "2.50")
    assert response.status_code == 201, response.content
    assert relay_round() == 1

    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}
    [server] = [span for span in finished if span.kind is SpanKind.SERVER]
    trace_id = server.context.trace_id
    assert server.attributes[REQUEST_ID_ATTRIBUTE] == response["X-Request-ID"]
    assert server.name.startswith("POST api/v1/transfers/")  # the route's pattern (DRF's router ends it with $)
    in_trace = [span for span in finished if span.context.trace_id == trace_id]

    request_sql = [span for span in in_trace if is_sql(span) and server in ancestors(span, by_id)]
    assert request_sql, "no SQL span under the request's span"
    assert any("events_event" in str(span.attributes.get("db.statement", "")) for span in request_sql)

    event = Event.objects.get(type="transaction.posted", subject_id=response.json()["id"])
    assert event.trace_context is not None
    assert event.trace_context["traceparent"].split("-")[1] == f"{trace_id:032x}"

    [deliver] = [span for span in in_trace if span.name == "webhook.deliver"]
    delivery = WebhookDelivery.objects.get(event=event)
    assert deliver.attributes["ledger.webhook.delivery_id"] == str(delivery.public_id)
    assert deliver.attributes["ledger.webhook.endpoint_id"] == str(delivery.endpoint.public_id)
    assert deliver.attributes["ledger.webhook.attempt"] == 1
    assert deliver.attributes["ledger.event.type"] == "transaction.posted"
    assert deliver.attributes["http.response.status_code"] == 200

    [post] = [span for span in in_trace if span.kind is SpanKind.CLIENT and span.name == "POST"]
    assert ancestors(post, by_id)[0] is deliver

    [request] = receiver.received
    version, sent_trace_id, parent_id, flags = request.headers["traceparent"].split("-")
    assert (version, sent_trace_id, parent_id) == ("00", f"{trace_id:032x}", f"{post.context.span_id:016x}")
    assert int(flags, 16) & 1, "the receiver is told the trace is sampled"


def test_the_event_document_does_not_show_the_trace_context(spans, client_user, source, destination):
    response = transfer(client_for(client_user), source.public_id, destination.public_id, "1.00")
    assert response.status_code == 201, response.content

    [document] = [
        event
        for event in client_for(client_user).get("/api/v1/events/?type=transaction.posted").json()["results"]
        if event["data"]["id"] == response.json()["id"]
    ]
    assert set(document) == {"id", "type", "created_at", "data"}
    assert "traceparent" not in response.content.decode() + str(document)
    assert Event.objects.get(public_id=document["id"]).trace_context is not None


def test_a_traced_event_gives_its_broker_message_a_traceparent_header(spans, client_user, source, destination):
    response = transfer(client_for(client_user), source.public_id, destination.public_id, "1.00")
    traced = Event.objects.get(type="transaction.posted", subject_id=response.json()["id"])
    untraced = Event.objects.filter(type="transaction.posted").exclude(pk=traced.pk).get()  # the deposit

    assert broker.properties_of(traced).headers == traced.trace_context
    assert set(traced.trace_context) <= {"traceparent", "tracestate"}
    assert broker.properties_of(untraced).headers is None


def test_publishing_a_traced_event_sends_its_traceparent_and_links_the_publish_span_to_it(
    spans, client_user, source, destination
):
    if not broker_reachable(BROKER_URL):
        if os.environ.get("CI"):
            pytest.fail(f"no RabbitMQ at {BROKER_URL}: .ci/run starts one")
        pytest.skip(f"no RabbitMQ at {BROKER_URL}")
    connection = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange=broker.EXCHANGE, exchange_type="topic", durable=True)
        queue = channel.queue_declare(queue="", exclusive=True).method.queue
        channel.queue_bind(queue=queue, exchange=broker.EXCHANGE, routing_key="transaction.posted")
        response = transfer(client_for(client_user), source.public_id, destination.public_id, "1.00")
        event = Event.objects.get(type="transaction.posted", subject_id=response.json()["id"])

        written = Event.objects.count()  # two accounts opened and a deposit (untraced: no request), the transfer
        assert broker.publish_pending(url=BROKER_URL) == written == 4

        headers = {}
        deadline = time.monotonic() + 10
        while str(event.public_id) not in headers and time.monotonic() < deadline:
            method, properties, _body = channel.basic_get(queue=queue, auto_ack=True)
            if method is not None:
                headers[properties.message_id] = properties.headers
        assert headers[str(event.public_id)] == event.trace_context
    finally:
        connection.close()
        broker.close()

    [publish] = [span for span in spans.get_finished_spans() if span.name == "ledger.events publish"]
    assert publish.kind is SpanKind.PRODUCER
    assert publish.attributes["messaging.batch.message_count"] == publish.attributes["ledger.events.confirmed"] == 4
    [link] = publish.links  # the traced event's only
    assert f"{link.context.trace_id:032x}-{link.context.span_id:016x}" in event.trace_context["traceparent"]


def test_an_event_written_outside_any_span_stores_none_and_its_delivery_starts_a_trace(
    spans, receiver, client_user, source, destination
):
    subscribe(client_user, receiver)
    txn = services_transfer(client_user, source, destination)  # no request: no span is current
    event = Event.objects.get(type="transaction.posted", subject_id=txn.public_id)
    assert event.trace_context is None

    assert relay_round() == 1

    [deliver] = [span for span in spans.get_finished_spans() if span.name == "webhook.deliver"]
    assert deliver.parent is None
    [request] = receiver.received
    assert request.headers["traceparent"].split("-")[1] == f"{deliver.context.trace_id:032x}"


def test_events_stored_inside_a_span_carry_its_context(spans):
    with tracing.tracer().start_as_current_span("a change") as span:
        store([Draft(type="account.opened", subject_id=uuid.uuid4(), data={}, readers={})], now=timezone.now())

    [event] = Event.objects.all()
    context = span.get_span_context()
    assert event.trace_context["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


# --- off ------------------------------------------------------------------------------------


def test_without_an_endpoint_tracing_stays_off_and_events_store_no_context(
    monkeypatch, receiver, client_user, source, destination
):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not wanted()
    assert configure_tracing() is None
    assert not tracing.enabled()
    assert _OTEL_MIDDLEWARE not in settings.MIDDLEWARE
    for instrumentor in (DjangoInstrumentor(), PsycopgInstrumentor(), URLLib3Instrumentor()):
        assert not instrumentor.is_instrumented_by_opentelemetry
    assert not hasattr(psycopg.connect, "__wrapped__")
    subscribe(client_user, receiver)

    response = transfer(client_for(client_user), source.public_id, destination.public_id, "1.00")
    assert response.status_code == 201, response.content
    assert relay_round() == 1

    assert not Event.objects.filter(trace_context__isnull=False).exists()
    [request] = receiver.received
    assert "traceparent" not in request.headers


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_wanted_only_with_an_otlp_endpoint(environ, expected):
    assert wanted(environ) is expected

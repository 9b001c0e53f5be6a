"""Fixtures of the tracing tests: the webhook tests' HTTPS receiver, and tracing on with an in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connections
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ledger_project.tracing import configure_tracing, unconfigure_tracing
from tests.webhooks.conftest import certificate, receiver, webhook_settings

__all__ = ["certificate", "receiver", "spans", "webhook_settings"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, through ``configure_tracing``, every span kept in memory; off again afterwards.

    The provider is the test's own (the process's global one is never set). The connections
    are closed on both sides so that the test's are made through the instrumented ``connect``
    and later tests' without it.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert configure_tracing(provider) is provider, "tracing was already configured in this process"
    connections.close_all()
    try:
        yield exporter
    finally:
        unconfigure_tracing()
        connections.close_all()
        provider.shutdown()

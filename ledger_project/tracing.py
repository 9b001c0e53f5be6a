"""OpenTelemetry tracing of a ledger process: on when an OTLP endpoint is set, off and free otherwise.

:func:`configure_tracing` runs once per process, when Django starts (``ledger_project.apps``):
in each gunicorn worker (which loads the application after the fork), in ``manage.py
relay_events``, ``grpcserver`` and every other command. With neither
``OTEL_EXPORTER_OTLP_ENDPOINT`` nor ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set (or with
``OTEL_SDK_DISABLED=true``) it does nothing at all: no provider, no instrumentation, and the
ledger's own code (``ledger.tracing``) returns at its first line.

On, it installs:

- a ``TracerProvider`` (service ``OTEL_SERVICE_NAME``, default ``ledger``; the sampler from
  ``OTEL_TRACES_SAMPLER``, default parent-based always-on) with a ``BatchSpanProcessor``
  exporting over OTLP/HTTP (protobuf); the SDK reads the other standard ``OTEL_*`` variables
  (headers, timeout, batch sizes). The processor's thread is started in the process that
  configures; the SDK restarts it in a forked child (``os.register_at_fork``);
- the Django instrumentation (one server span per request, named by its route), with the
  request id (``X-Request-ID``, the one the logs and problem documents carry) as the attribute
  ``ledger.request_id``; health checks and metrics are not traced;
- the psycopg instrumentation (one client span per statement, ``db.system`` ``postgresql``),
  wrapping ``psycopg.connect`` and ``Connection.connect`` (the pool's): Django passes its
  cursor class to ``connect``, which the instrumentation subclasses, so SQL spans appear for
  every ORM query and raw statement; no SQL comment is added to the statements;
- the urllib3 instrumentation: a client span per webhook attempt, which injects
  ``traceparent`` into the request's headers; the URL's query string is never recorded.

A test passes a provider of its own (an in-memory exporter): it is used by the
instrumentations and the ledger's spans but never becomes the process's global provider
(which can be set only once), and :func:`unconfigure_tracing` removes every instrumentation
again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ledger import tracing as ledger_tracing

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

DEFAULT_SERVICE_NAME = "ledger"
REQUEST_ID_ATTRIBUTE = "ledger.request_id"
# Probes and scrapes: many, alike, and of no interest in a trace (regular expressions searched in the URL).
DEFAULT_EXCLUDED_URLS = "/healthz,/readyz,/metrics"
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@dataclass(frozen=True)
class _Installed:
    provider: TracerProvider
    instrumentors: tuple[BaseInstrumentor, ...]


_lock = threading.Lock()
_installed: _Installed | None = None


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``environ`` asks for traces: an OTLP endpoint is set and the SDK is not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES)


def configure_tracing(provider: TracerProvider | None = None) -> TracerProvider | None:
    """Turn tracing on in this process, once; return the provider in use, ``None`` when tracing stays off.

    Without ``provider``, tracing is on only if :func:`wanted`: an OTLP exporting provider is
    made and set as the global one. With ``provider`` (tests), that one is used and the global
    provider is left alone. A second call changes nothing and returns the first's provider.
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed.provider
        if provider is None:
            if not wanted():
                return None
            provider = _exporting_provider()
            from opentelemetry import trace

            trace.set_tracer_provider(provider)
        _installed = _Installed(provider, _instrument(provider))
        ledger_tracing.use_provider(provider)
        return provider


def unconfigure_tracing() -> None:
    """Remove every instrumentation and stop the ledger's own spans (tests); the provider is not shut down."""
    global _installed
    with _lock:
        if _installed is None:
            return
        for instrumentor in reversed(_installed.instrumentors):
            instrumentor.uninstrument()
        ledger_tracing.use_provider(None)
        _installed = None


def _exporting_provider() -> TracerProvider:
    """Return a provider exporting over OTLP/HTTP in batches, its resource naming the service."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _instrument(provider: TracerProvider) -> tuple[BaseInstrumentor, ...]:
    """Instrument Django, psycopg and urllib3 with ``provider``; return the instrumentors, in that order."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    django = DjangoInstrumentor()
    django.instrument(
        tracer_provider=provider,
        response_hook=_record_request_id,
        excluded_urls=os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS),
    )
    psycopg = PsycopgInstrumentor()
    psycopg.instrument(tracer_provider=provider, enable_commenter=False)
    urllib3 = URLLib3Instrumentor()
    urllib3.instrument(tracer_provider=provider, url_filter=_without_query)
    return (django, psycopg, urllib3)


def _record_request_id(span: Span, request: HttpRequest, response: HttpResponse) -> None:
    """Set the request's id (django-log-request-id's ``request.id``) on its server span.

    A response hook, not a request hook: the tracing middleware is the outermost one, so the
    id is known only once the request has passed ``RequestIDMiddleware``.
    """
    request_id = getattr(request, "id", None)
    if request_id and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, str(request_id))


def _without_query(url: str) -> str:
    """Return ``url`` without its query and fragment: a receiver's URL may carry a token there."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

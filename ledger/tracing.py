"""Trace context for the core: which spans the ledger makes, and the W3C context its events carry.

Tracing is off unless the composition root (``ledger_project.tracing.configure_tracing``) gave
this module a tracer provider with :func:`use_provider`. Off, every function here returns at
its first line: no span is made, no context is read or stored.

Invariants:

- a carrier is a ``dict`` of W3C Trace Context headers: ``traceparent`` always, ``tracestate``
  when the trace has one; nothing else (no baggage: it could hold anything, and events are
  kept for ever);
- :func:`current_carrier` answers ``None`` unless tracing is on and a sampled, valid span is
  current: an event never stores the context of a trace that is not recorded;
- :func:`context_of` never raises for what a stored carrier holds: a malformed one gives a
  context without a parent (a new trace).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "Link",
    "SpanKind",
    "StatusCode",
    "context_of",
    "current_carrier",
    "enabled",
    "span_context_of",
    "tracer",
    "use_provider",
]

TRACER_NAME = "ledger"

# W3C Trace Context only, whatever OTEL_PROPAGATORS says: what events store is a fixed format.
_W3C = TraceContextTextMapPropagator()

_provider: trace.TracerProvider | None = None


def use_provider(provider: trace.TracerProvider | None) -> None:
    """Make the ledger's own spans with ``provider`` (``None``: tracing off)."""
    global _provider
    _provider = provider


def enabled() -> bool:
    """Whether tracing is on in this process."""
    return _provider is not None


def tracer() -> trace.Tracer:
    """Return the tracer of the ledger's own spans; a no-op one when tracing is off."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(TRACER_NAME)


def current_carrier() -> dict[str, str] | None:
    """Return the W3C context of the current span (``traceparent``, ``tracestate``), ``None`` if off or unsampled."""
    if _provider is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    if not (span_context.is_valid and span_context.trace_flags.sampled):
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier or None


def context_of(carrier: Mapping[str, str] | None) -> Context | None:
    """Return the context a stored ``carrier`` names, to parent or link a span; ``None`` if it names none."""
    if not carrier:
        return None
    context = _W3C.extract(carrier)
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    return context


def span_context_of(carrier: Mapping[str, str] | None) -> trace.SpanContext | None:
    """Return the (remote) span context a stored ``carrier`` names, for a link; ``None`` if it names none."""
    context = context_of(carrier)
    return None if context is None else trace.get_current_span(context).get_span_context()

"""What every ledger call goes through before and after its method: the interceptor.

:class:`CallInterceptor` wraps each ``ledger.v1`` method (health and reflection are left alone):

- the request id: the caller's ``x-request-id`` if it is short and plain (as REST's middleware
  accepts it), else a new one; sent back as ``x-request-id`` and written on every log line;
- authentication: ``authorization: Token <key>``, the REST tokens (:mod:`api.authentication`,
  with its short memory of keys and its throttle of failures per address); ``UNAUTHENTICATED``
  without a valid one;
- throttling: the client's REST budget (:class:`api.throttling.ClientRateThrottle`), the same
  counters in Redis, so a client's REST and gRPC calls count together; ``RESOURCE_EXHAUSTED``;
- the refusal of anything raised as the contract's status (:mod:`grpc_api.errors`);
- one JSON log line and the metrics ``ledger_grpc_requests_total`` and
  ``ledger_grpc_request_duration_seconds`` per call;
- Django's per-request connection housekeeping (``close_old_connections``), before and after.

The method itself receives the :class:`Call`: the client, the request id and the context.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import grpc
from django.db import close_old_connections
from log_request_id import local as request_id_local
from rest_framework import exceptions

from api import auth_failures
from api.authentication import CachedTokenAuthentication
from api.throttling import ClientRateThrottle
from grpc_api.errors import refusal_of, status_of
from ledger import metrics, request_ids

if TYPE_CHECKING:
    from ledger.users import User

request_logger = logging.getLogger("ledger.request")

PACKAGE_PREFIX = "/ledger.v1."
_PEER = re.compile(r"^(?:ipv4:(?P<v4>[0-9.]+)|ipv6:\[(?P<v6>[0-9a-fA-F:.]+)\]):\d+$")


@dataclass(frozen=True)
class Call:
    """One call as its method sees it: who asks, under which request id, through which context."""

    client: User
    request_id: str
    context: grpc.ServicerContext


Unary = Callable[[Any, Call], Any]
Streaming = Callable[[Any, Call], Iterator[Any]]


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str]:
    """Return the call's metadata, text values only, the first of each key."""
    found: dict[str, str] = {}
    for key, value in details.invocation_metadata or ():
        if isinstance(value, str):
            found.setdefault(key, value)
    return found


def peer_address(context: grpc.ServicerContext) -> str:
    """Return the caller's IP address (what failed authentications are counted against)."""
    match = _PEER.match(context.peer() or "")
    if match is None:
        return context.peer() or "unknown"
    return match["v4"] or match["v6"]


def authenticate(metadata: dict[str, str], context: grpc.ServicerContext) -> User:
    """Return the client whose ``authorization: Token <key>`` the call carries; refuse as REST does."""
    header = metadata.get("authorization")
    if not header:
        raise exceptions.NotAuthenticated()
    address = peer_address(context)
    wait = auth_failures.retry_after(address)
    if wait is not None:
        raise exceptions.Throttled(
            wait=wait, detail=f"Too many failed authentications from this address; retry in {wait} seconds."
        )
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "token":
        auth_failures.record_failure(address)
        raise exceptions.AuthenticationFailed("Send authorization: Token <key>.")
    try:
        user, _ = CachedTokenAuthentication().authenticate_credentials(parts[1])
    except exceptions.AuthenticationFailed:
        auth_failures.record_failure(address)
        raise
    return user


def throttle(client: User) -> None:
    """Count the call in the client's REST budget; ``throttled`` once it is spent."""
    limiter = ClientRateThrottle()
    # The throttle reads only ``request.user``: a stand-in carries it (REST framework's own request
    # type needs an HTTP request). No view is consulted.
    if not limiter.allow_request(cast(Any, SimpleNamespace(user=client)), cast(Any, None)):
        raise exceptions.Throttled(wait=limiter.wait())


class CallInterceptor(grpc.ServerInterceptor):
    """Runs every ledger method with its request id, client, throttle, refusals, log line and metrics."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(PACKAGE_PREFIX):
            return handler
        metadata = _metadata(handler_call_details)
        name = method.rsplit("/", 1)[-1]
        # The registry's behaviours take the Call this interceptor makes, not the context (grpc_api.registry).
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(cast(Unary, handler.unary_unary), name, metadata),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(cast(Streaming, handler.unary_stream), name, metadata),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # The ledger has no client-streaming method.

    @staticmethod
    def _begin(metadata: dict[str, str], context: grpc.ServicerContext) -> str:
        """Start a call: its request id, sent back at once; the thread's stale connections closed."""
        given = metadata.get("x-request-id", "")
        request_id = given if request_ids.acceptable(given) else uuid.uuid4().hex
        request_id_local.request_id = request_id
        context.send_initial_metadata((("x-request-id", request_id),))
        close_old_connections()
        return request_id

    @staticmethod
    def _admit(metadata: dict[str, str], context: grpc.ServicerContext) -> User:
        """Return the authenticated client, within its budget."""
        client = authenticate(metadata, context)
        throttle(client)
        return client

    @staticmethod
    def _end(client: User | None, name: str, started: float, code: grpc.StatusCode) -> None:
        """Log the call and count it; release the thread's database connection if it is stale."""
        elapsed = time.perf_counter() - started
        metrics.GRPC_REQUESTS.labels(name, code.name).inc()
        metrics.GRPC_LATENCY.labels(name).observe(elapsed)
        request_logger.info(
            "gRPC %s %s",
            name,
            code.name,
            extra={
                "client": client.get_username() if client is not None else None,
                "route": name,
                "method": "gRPC",
                "status": code.name,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        close_old_connections()
        request_id_local.request_id = None

    def _unary(self, method: Unary, name: str, metadata: dict[str, str]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def run(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            request_id = self._begin(metadata, context)
            client: User | None = None
            code = grpc.StatusCode.OK
            try:
                client = self._admit(metadata, context)
                return method(request, Call(client, request_id, context))
            except Exception as exc:
                refusal = refusal_of(exc)
                code = refusal.status
                context.abort_with_status(status_of(refusal, request_id))  # Raises: the call ends here.
            finally:
                self._end(client, name, started, code)

        return run

    def _streaming(
        self, method: Streaming, name: str, metadata: dict[str, str]
    ) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
        def run(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            request_id = self._begin(metadata, context)
            client: User | None = None
            code = grpc.StatusCode.OK
            try:
                client = self._admit(metadata, context)
                yield from method(request, Call(client, request_id, context))
            except Exception as exc:
                refusal = refusal_of(exc)
                code = refusal.status
                context.abort_with_status(status_of(refusal, request_id))
            finally:
                self._end(client, name, started, code)

        return run

"""The gRPC server: the ledger's services, health checking and reflection, on one port.

- Calls run on ``LEDGER_GRPC_WORKERS`` threads (or ``--workers``), each with its own database
  connection (Django's); at most ``LEDGER_GRPC_MAX_STREAMS`` of them, and always one less than
  all, follow event streams.
- Messages are bounded by ``DJANGO_MAX_BODY_BYTES``, REST's bound on a body: a bigger one is
  refused by gRPC itself with ``RESOURCE_EXHAUSTED`` before it is parsed.
- ``grpc.health.v1.Health`` answers ``SERVING`` for the server (``""``) and each ledger service
  while the database answers, ``NOT_SERVING`` while it does not (checked every
  :data:`HEALTH_INTERVAL` seconds).
- Server reflection lists every service, so ``grpcurl`` and other tools need no proto file.
- With a certificate and its key (``LEDGER_GRPC_TLS_CERT`` / ``LEDGER_GRPC_TLS_KEY``) it speaks TLS
  only; else plain HTTP/2, for a TLS-terminating proxy in front or a private network.
- :func:`serve` stops on SIGTERM or SIGINT: new calls are refused, streams end with
  ``UNAVAILABLE``, calls in flight get ``LEDGER_GRPC_GRACE_SECONDS`` to finish.
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from django.conf import settings
from django.db import Error as DatabaseError
from django.db import close_old_connections, connection
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from grpc_api import events
from grpc_api.calls import CallInterceptor
from grpc_api.registry import handlers, services
from ledger.signals import stopping_on_signals

logger = logging.getLogger(__name__)

HEALTH_INTERVAL = 2.0  # Seconds between two checks of the database.
_SEND_LIMIT = 64 * 1024 * 1024  # Answers (a page of 200 transactions, a batch of 1000) stay far below.


def database_answers() -> bool:
    """Return whether the database answers a query now."""
    try:
        close_old_connections()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError as exc:
        logger.warning("database unreachable: %s", exc)
        connection.close()
        return False


class Health:
    """The health service, and the thread that keeps its statuses to what the database answers."""

    def __init__(self, names: list[str]) -> None:
        self.servicer = health.HealthServicer(experimental_non_blocking=True)
        self.names = ["", *names]
        self.stopped = threading.Event()
        self._serving: bool | None = None

    def check(self) -> None:
        """Set every status to SERVING or NOT_SERVING, as the database answers."""
        serving = database_answers()
        if serving != self._serving:
            status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
            for name in self.names:
                self.servicer.set(name, status)
            self._serving = serving

    def watch(self) -> None:
        """Check the database until stopped; then answer NOT_SERVING to every health check."""
        while not self.stopped.wait(HEALTH_INTERVAL):
            self.check()
        connection.close()
        self.servicer.enter_graceful_shutdown()


@dataclass(frozen=True)
class Tls:
    """A certificate chain and its private key, both PEM: the server then speaks TLS only."""

    certificate: bytes
    key: bytes

    @classmethod
    def read(cls, certificate: str, key: str) -> Tls:
        return cls(Path(certificate).read_bytes(), Path(key).read_bytes())


def build(
    bind: str, *, workers: int, tls: Tls | None = None, share_port: bool = False
) -> tuple[grpc.Server, Health, int]:
    """Return the server (not started) bound to ``bind`` (with ``tls``, TLS only), its health, and the port bound.

    ``share_port``: other processes serve the same port (``SO_REUSEPORT``: the kernel spreads the
    connections between them); else a port in use is an error.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc-worker"),
        interceptors=[CallInterceptor()],
        options=[
            ("grpc.max_receive_message_length", settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
            ("grpc.max_send_message_length", _SEND_LIMIT),
            ("grpc.so_reuseport", 1 if share_port else 0),
        ],
    )
    server.add_generic_rpc_handlers(handlers())
    names = [service.full_name for service in services()]
    checks = Health(names)
    health_pb2_grpc.add_HealthServicer_to_server(checks.servicer, server)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    if tls is None:
        port = server.add_insecure_port(bind)
    else:
        port = server.add_secure_port(bind, grpc.ssl_server_credentials([(tls.key, tls.certificate)]))
    return server, checks, port


def serve(bind: str, *, workers: int, grace: float, tls: Tls | None = None, share_port: bool = False) -> None:
    """Serve on ``bind`` until SIGTERM or SIGINT, then shut down gracefully."""
    server, checks, port = build(bind, workers=workers, tls=tls, share_port=share_port)
    events.allow_streams(min(settings.LEDGER_GRPC_MAX_STREAMS, workers - 1))
    checks.check()
    server.start()
    watcher = threading.Thread(target=checks.watch, name="grpc-health", daemon=True)
    watcher.start()
    stop = threading.Event()
    with stopping_on_signals(stop, name="grpcserver", log=logger):
        logger.info("gRPC server listening on %s (port %d, %d workers%s)", bind, port, workers, ", TLS" if tls else "")
        stop.wait()
    logger.info("gRPC server shutting down: %.0f s for calls in flight", grace)
    events.stopping.set()
    checks.stopped.set()
    server.stop(grace).wait()
    watcher.join(timeout=HEALTH_INTERVAL + 1)
    logger.info("gRPC server stopped")

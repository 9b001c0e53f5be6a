"""``python manage.py grpcserver [--bind HOST:PORT]``: serve the ledger over gRPC (docs/grpc.md)."""

from __future__ import annotations

import os
import re
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from grpc_api.processes import supervise
from grpc_api.server import Tls, serve

_BIND = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+):\d{1,5}$")


def _host_port(value: str, option: str) -> tuple[str, int]:
    if not _BIND.match(value):
        raise CommandError(f"{option} must be HOST:PORT, e.g. 127.0.0.1:50051 (got {value!r})")
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = "Serve the ledger over gRPC (package ledger.v1, proto/ledger/v1/) until SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default="127.0.0.1:50051", help="HOST:PORT to listen on (default 127.0.0.1:50051)"
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="threads answering calls (default LEDGER_GRPC_WORKERS)"
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="server processes sharing the port, for more than one core (default LEDGER_GRPC_PROCESSES)",
        )
        parser.add_argument(
            "--tls-cert", default=None, help="PEM certificate chain: serve TLS only (LEDGER_GRPC_TLS_CERT)"
        )
        parser.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert (LEDGER_GRPC_TLS_KEY)")
        parser.add_argument(
            "--metrics-bind",
            default=None,
            help="HOST:PORT of a Prometheus /metrics listener (default LEDGER_GRPC_METRICS_BIND; empty: none)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        _host_port(options["bind"], "--bind")
        workers = options["workers"] or settings.LEDGER_GRPC_WORKERS
        if workers < 2:
            raise CommandError("--workers must be 2 or more (one thread is kept from event streams)")
        processes = options["processes"] or settings.LEDGER_GRPC_PROCESSES
        if processes < 1:
            raise CommandError("--processes must be 1 or more")
        metrics_bind = settings.LEDGER_GRPC_METRICS_BIND if options["metrics_bind"] is None else options["metrics_bind"]
        if metrics_bind and processes > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            raise CommandError("metrics of several processes need PROMETHEUS_MULTIPROC_DIR (a folder they share)")
        if metrics_bind:
            host, port = _host_port(metrics_bind, "--metrics-bind")
            registry = REGISTRY
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(registry)
            start_http_server(port, addr=host, registry=registry)
        certificate = options["tls_cert"] or settings.LEDGER_GRPC_TLS_CERT
        key = options["tls_key"] or settings.LEDGER_GRPC_TLS_KEY
        if bool(certificate) != bool(key):
            raise CommandError("TLS needs both a certificate and its key (--tls-cert and --tls-key)")
        try:
            tls = Tls.read(certificate, key) if certificate else None
        except OSError as exc:
            raise CommandError(f"cannot read the TLS certificate or key: {exc}") from exc
        grace = settings.LEDGER_GRPC_GRACE_SECONDS
        if processes > 1:
            supervise(options["bind"], processes=processes, workers=workers, grace=grace, tls=tls)
            return
        try:
            serve(options["bind"], workers=workers, grace=grace, tls=tls)
        except RuntimeError as exc:  # grpc: the address could not be bound.
            raise CommandError(f"cannot serve on {options['bind']}: {exc}") from exc

"""The gRPC server as ``manage.py grpcserver`` runs it, and channels and stubs to call it.

:func:`serve_grpc` runs the server until its health service answers ``SERVING`` and yields its
address; it always stops it (SIGTERM, as an orchestrator would). :class:`Ledger` holds a
channel and one stub of each service, and sends a client's token with every call.
"""

# ruff: noqa: S603 -- commands built here, with this interpreter.
from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from grpc_api.v1 import (
    accounts_pb2_grpc,
    batches_pb2_grpc,
    events_pb2_grpc,
    holds_pb2_grpc,
    transactions_pb2_grpc,
)
from harness.commands import REPO
from harness.processes import terminate
from harness.servers import wait_until_ready


def grpc_command(port: int, *extra: str) -> list[str]:
    """Return ``manage.py grpcserver`` bound to 127.0.0.1:``port``."""
    return [sys.executable, "manage.py", "grpcserver", "--bind", f"127.0.0.1:{port}", *extra]


def serving(target: str, timeout: float = 1.0) -> bool:
    """Return whether the health service at ``target`` answers SERVING for the whole server."""
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


@contextlib.contextmanager
def serve_grpc(env: Mapping[str, str], port: int, log: Path, *extra: str) -> Iterator[subprocess.Popen]:
    """Run ``manage.py grpcserver`` on ``port`` until it is SERVING; yield the process; always stop it."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            grpc_command(port, *extra), cwd=REPO, env=dict(env), stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_ready(process, lambda: serving(f"127.0.0.1:{port}"), name="the gRPC server", log=log)
            yield process
        finally:
            terminate(process, timeout=20)


@dataclass
class Ledger:
    """A channel to the ledger and a stub of each service; ``token`` goes with every call (none: anonymous)."""

    target: str
    token: str | None = None
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = grpc.insecure_channel(self.target)
        self.accounts = accounts_pb2_grpc.AccountServiceStub(self.channel)
        self.transactions = transactions_pb2_grpc.TransactionServiceStub(self.channel)
        self.holds = holds_pb2_grpc.HoldServiceStub(self.channel)
        self.batches = batches_pb2_grpc.BatchServiceStub(self.channel)
        self.events = events_pb2_grpc.EventServiceStub(self.channel)

    def metadata(self, **extra: str) -> list[tuple[str, str]]:
        """Return the call metadata: the token, if any, and ``extra`` (``x_request_id`` -> ``x-request-id``)."""
        sent = [("authorization", f"Token {self.token}")] if self.token else []
        return sent + [(name.replace("_", "-"), value) for name, value in extra.items()]

    def call(self, method: Any, request: Any, *, timeout: float = 20, **metadata: str) -> Any:
        """Call ``method`` (a stub's) with the token; return the answer, raising ``grpc.RpcError`` on a refusal."""
        return method(request, metadata=self.metadata(**metadata), timeout=timeout)

    def with_call(self, method: Any, request: Any, *, timeout: float = 20, **metadata: str) -> tuple[Any, grpc.Call]:
        """Call ``method`` and return ``(answer, call)``: the call carries the response metadata."""
        return method.with_call(request, metadata=self.metadata(**metadata), timeout=timeout)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""What the gRPC tests share: a refusal as a client reads it (status code, ``google.rpc`` details), and races."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from harness.grpc_servers import Ledger


@dataclass
class Refused:
    """A refused call as a client sees it: the status, ErrorInfo's reason and metadata, the fields named."""

    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    retry_seconds: int | None = None


def refusal(error: grpc.RpcError) -> Refused:
    """Return what ``error`` carries; fails the test if it has no ``google.rpc.ErrorInfo``."""
    status = rpc_status.from_call(error)
    assert status is not None, f"{error.code()} {error.details()}: no rich status"
    info, fields, retry = None, {}, None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for violation in bad.field_violations:
                fields.setdefault(violation.field, []).append(violation.description)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info_retry = error_details_pb2.RetryInfo()
            detail.Unpack(info_retry)
            retry = info_retry.retry_delay.seconds
    assert info is not None, f"{error.code()} {error.details()}: no ErrorInfo"
    return Refused(error.code(), status.message, info.reason, info.domain, dict(info.metadata), fields, retry)


def refused(method, request, ledger, **metadata) -> Refused:
    """Call ``method`` through ``ledger``, expecting a refusal; return it."""
    try:
        ledger.call(method, request, **metadata)
    except grpc.RpcError as error:
        return refusal(error)
    raise AssertionError(f"{method} answered instead of refusing")


BARRIER_TIMEOUT = 30  # seconds; a racer that never arrives breaks the barrier instead of hanging the test
RACE_TIMEOUT = 120  # seconds a whole race may take

T = TypeVar("T")


def race(count: int, target: str, token: str, calls: Callable[[int, Ledger], T]) -> list[T]:
    """Run ``calls(i, ledger)`` in ``count`` threads (a channel each, connected first) released together by a barrier.

    Returns what each racer's ``calls`` returned, in racer order; anything a racer raised is
    re-raised here, and a racer still running after :data:`RACE_TIMEOUT` fails the test.
    """
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        with Ledger(target, token) as ledger:
            try:
                grpc.channel_ready_future(ledger.channel).result(timeout=BARRIER_TIMEOUT)
                barrier.wait()
                results[index] = calls(index, ledger)
            except BaseException as exc:  # re-raised in the test's thread below
                errors.append(exc)
                barrier.abort()

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, RACE_TIMEOUT - (time.monotonic() - started)))
    assert not any(thread.is_alive() for thread in threads), f"a racer was still running after {RACE_TIMEOUT} s"
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]

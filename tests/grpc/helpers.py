"""What the gRPC tests read of a refusal: its status code and its ``google.rpc`` details."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


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

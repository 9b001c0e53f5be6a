"""gRPC to a :class:`torture.infra.GrpcInstance`: calls that never raise, and what a refusal carries.

:func:`unary` and :func:`stream` send a request (a message, or raw bytes as they are) on a real
channel with a deadline and return an :class:`Answer`: the status, the answer (parsed, or the
events a stream sent), and the refusal's ``google.rpc`` details as a client reads them
(``grpc_status.rpc_status.from_call``). A stream (``StreamEvents`` never ends by itself) is
followed until it has been quiet for a moment, then cancelled by the client: that is its normal
end here, recorded as ``OK`` with :attr:`Answer.hung_up`.

:func:`methods` lists every RPC of the five services from the generated descriptors, so a
method added to the proto is a method the scenarios must cover.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from grpc_api.v1 import accounts_pb2, batches_pb2, events_pb2, holds_pb2, transactions_pb2

FILES = (accounts_pb2, transactions_pb2, holds_pb2, batches_pb2, events_pb2)
DOMAIN = "ledger"
DEADLINE = 10.0  # seconds for any one call: an answer later than that is a hang
MAX_BODY = 256 * 1024  # DJANGO_MAX_BODY_BYTES, the default: grpc.max_receive_message_length
# The codes the contract answers with ("gRPC", "Errors"); anything else (UNKNOWN, INTERNAL...) is a violation.
CONTRACT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.UNAVAILABLE,
    }
)
# The contract's codes (its "Errors" table), the reasons an ErrorInfo may carry.
REASONS = frozenset(
    {
        "validation_error",
        "parse_error",
        "invalid_page_size",
        "invalid_cursor",
        "idempotency_key_required",
        "not_authenticated",
        "authentication_failed",
        "permission_denied",
        "not_found",
        "insufficient_funds",
        "currency_mismatch",
        "account_inactive",
        "same_account",
        "already_reversed",
        "reversal_not_allowed",
        "idempotency_key_reused",
        "limit_exceeded",
        "hold_not_pending",
        "capture_exceeds_hold",
        "throttled",
        "unavailable",
    }
)


@dataclass(frozen=True)
class Method:
    """One RPC: its path (``/ledger.v1.AccountService/GetAccount``), its messages, whether it streams."""

    service: str
    name: str
    request: type[Message]
    response: type[Message]
    streaming: bool

    @property
    def path(self) -> str:
        return f"/ledger.v1.{self.service}/{self.name}"

    @property
    def writes(self) -> bool:
        return any(f.name == "idempotency_key" for f in self.request.DESCRIPTOR.fields)


def methods() -> dict[str, Method]:
    """Every RPC of package ``ledger.v1``, by name (``"GetAccount"``), in the order of the proto files."""
    found: dict[str, Method] = {}
    for module in FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for rpc in service.methods:
                found[rpc.name] = Method(
                    service.name,
                    rpc.name,
                    message_factory.GetMessageClass(rpc.input_type),
                    message_factory.GetMessageClass(rpc.output_type),
                    rpc.server_streaming,
                )
    return found


@dataclass
class Answer:
    """One call as a client saw it. ``code`` OK: ``response`` (a message, or a stream's events) is the answer."""

    code: grpc.StatusCode
    response: Any = None
    details: str = ""  # the status message
    reason: str | None = None  # ErrorInfo's, when the status carries one
    domain: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # ErrorInfo's
    fields: list[tuple[str, str]] = field(default_factory=list)  # BadRequest's violations
    rich: bool = False  # the status carried google.rpc details
    rich_error: str | None = None  # why the rich status could not be read
    trailing: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    hung_up: bool = False  # a stream the client cancelled once it was quiet
    raw: bytes = b""  # the answer's bytes (unary), for searching them

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK

    def refusal(self) -> tuple:
        """What tells two refusals apart, the request id left out."""
        metadata = {k: v for k, v in self.metadata.items() if k != "request_id"}
        return (self.code.name, self.details, self.reason, self.domain, sorted(metadata.items()), self.fields)

    def text(self) -> str:
        """Everything a refusal says, as text (searched for ids and tokens)."""
        return " ".join([self.details, *self.metadata.values(), *(f"{f} {d}" for f, d in self.fields)])

    def describe(self) -> str:
        if self.ok:
            shown = f"{len(self.response)} events" if isinstance(self.response, list) else f"{len(self.raw)} bytes"
            return f"OK ({shown}) in {self.elapsed:.2f}s"
        info = f" {self.reason}/{self.domain}" if self.rich else " (no ErrorInfo)"
        metadata = {k: v[:80] for k, v in self.metadata.items() if k != "request_id"}
        return f"{self.code.name}{info} {self.details[:160]!r} {metadata or ''} in {self.elapsed:.2f}s".rstrip()


def opening(key: str, **fields: Any) -> Message:
    """An ``OpenAccountRequest`` of ``fields``, with the idempotency key ``key`` if the proto gives it one."""
    if "idempotency_key" in accounts_pb2.OpenAccountRequest.DESCRIPTOR.fields_by_name:
        fields.setdefault("idempotency_key", key)
    return accounts_pb2.OpenAccountRequest(**fields)


def field_number(message: type[Message], name: str) -> int:
    """The field number of ``name`` in ``message``, as the proto says (hand-built messages follow the proto)."""
    return message.DESCRIPTOR.fields_by_name[name].number


def token_metadata(token: str | None) -> list[tuple[str, str]]:
    return [("authorization", f"Token {token}")] if token else []


def _read_refusal(answer: Answer, error: grpc.RpcError) -> None:
    answer.code = error.code()
    answer.details = error.details() or ""
    answer.trailing = {k: v for k, v in (error.trailing_metadata() or ()) if isinstance(v, str)}
    try:
        status = rpc_status.from_call(error)
    except ValueError as exc:  # the status proto and the call disagree on the code
        answer.rich_error = str(exc)
        return
    if status is None:
        return
    answer.rich = True
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            answer.reason, answer.domain, answer.metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            answer.fields = [(v.field, v.description) for v in bad.field_violations]


def _bytes(request: Message | bytes) -> bytes:
    return request if isinstance(request, bytes) else request.SerializeToString()


def unary(
    channel: grpc.Channel,
    method: Method,
    request: Message | bytes,
    metadata: list[tuple[str, str]] | tuple = (),
    *,
    timeout: float = DEADLINE,
) -> Answer:
    """Send ``request`` (raw bytes go as they are) to ``method``; never raises."""
    call = channel.unary_unary(method.path)  # no serializers: bytes both ways
    started = time.monotonic()
    try:
        raw, state = call.with_call(_bytes(request), metadata=list(metadata), timeout=timeout)
    except grpc.RpcError as error:
        answer = Answer(grpc.StatusCode.UNKNOWN, elapsed=time.monotonic() - started)
        _read_refusal(answer, error)
        return answer
    answer = Answer(grpc.StatusCode.OK, raw=raw, elapsed=time.monotonic() - started)
    answer.trailing = {k: v for k, v in (state.trailing_metadata() or ()) if isinstance(v, str)}
    try:
        answer.response = method.response.FromString(raw)
    except Exception as exc:  # an answer that does not parse is a finding, not a crash
        answer.rich_error = f"the answer is not a {method.response.DESCRIPTOR.full_name}: {exc}"
    return answer


def stream(
    channel: grpc.Channel,
    method: Method,
    request: Message | bytes,
    metadata: list[tuple[str, str]] | tuple = (),
    *,
    timeout: float = DEADLINE,
    first: float = 1.5,
    idle: float = 0.3,
    limit: int = 2000,
    expect: int = 1,
) -> Answer:
    """Follow a server stream: every message until it has been quiet ``idle`` seconds (``first`` while fewer
    than ``expect`` have arrived) or ``limit`` arrived, then hang up (``OK``, :attr:`Answer.hung_up`). A
    refusal is its status."""
    call = channel.unary_stream(method.path)(_bytes(request), metadata=list(metadata), timeout=timeout)
    started = time.monotonic()
    received: list[Message] = []
    last = [started, first]
    hung_up = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if time.monotonic() - last[0] > last[1]:
                hung_up.set()
                call.cancel()
                return

    watcher = threading.Thread(target=watch, name="stream-watch", daemon=True)
    watcher.start()
    answer = Answer(grpc.StatusCode.OK, response=received)
    try:
        for raw in call:
            received.append(method.response.FromString(raw))
            last[0], last[1] = time.monotonic(), idle if len(received) >= expect else first
            if len(received) >= limit:
                hung_up.set()
                call.cancel()
                break
    except grpc.RpcError as error:
        if not (hung_up.is_set() and error.code() == grpc.StatusCode.CANCELLED):
            _read_refusal(answer, error)
    finally:
        done.set()
        watcher.join(timeout=2)
    answer.hung_up = hung_up.is_set() and answer.ok
    answer.elapsed = time.monotonic() - started
    return answer


def as_dicts(answer: Answer) -> Any:
    """The answer as JSON-like data (field names as in the proto), for searching ids in it."""
    if not answer.ok or answer.response is None:
        return None
    if isinstance(answer.response, list):
        return [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in answer.response]
    return json_format.MessageToDict(answer.response, preserving_proto_field_name=True)


def health_serving(channel: grpc.Channel, timeout: float = 5.0) -> bool:
    """Whether the server's health service answers SERVING for the whole server, on ``channel``."""
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    except grpc.RpcError:
        return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def contract_problems(answer: Answer, *, size_limited: bool = False) -> list[str]:
    """What is wrong with ``answer`` as an answer of the contract (nothing, for OK).

    A refusal has a contract code and a ``google.rpc.ErrorInfo`` of domain ``ledger`` whose
    reason is one of the contract's codes. The one exception: ``size_limited`` (the request
    itself, message or metadata, is over gRPC's limits), where gRPC answers RESOURCE_EXHAUSTED
    itself, with no details.
    """
    if answer.ok:
        return [] if answer.rich_error is None else [answer.rich_error]
    if answer.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return [f"no answer within the deadline ({answer.elapsed:.1f} s): a hang"]
    if answer.code not in CONTRACT_CODES:
        return [f"{answer.code.name} is not a contract status"]
    if answer.code == grpc.StatusCode.RESOURCE_EXHAUSTED and not answer.rich and size_limited:
        return []
    if "metadata size exceeds" in answer.details and not size_limited:
        return [
            f"{answer.code.name} from the client's own gRPC library: the answer's trailing metadata is over its "
            f"default limit ({answer.details[:140]!r}), so the contract's status never arrives"
        ]
    if not answer.rich or answer.reason is None:
        why = f" ({answer.rich_error})" if answer.rich_error else ""
        return [f"{answer.code.name} without a google.rpc.ErrorInfo{why}"]
    problems = []
    if answer.domain != DOMAIN:
        problems.append(f"ErrorInfo domain {answer.domain!r}, not {DOMAIN!r}")
    if answer.reason not in REASONS:
        problems.append(f"ErrorInfo reason {answer.reason!r} is not a contract code")
    return problems


def server_causes(log: Path) -> dict[str, str]:
    """``{request_id: the exception's last line}`` of every call the server logged a traceback for (read once the
    server has stopped: its log is then complete)."""
    causes: dict[str, str] = {}
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return causes
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        trace = entry.get("exc_info") if isinstance(entry, dict) else None
        if isinstance(trace, str) and entry.get("request_id"):
            last = [text for text in trace.strip().splitlines() if text.strip()]
            causes[entry["request_id"]] = last[-1].strip()[:240] if last else ""
    return causes


def cause_signature(cause: str) -> str:
    """A cause without what varies between inputs of one bug (numbers, quoted values, field names, which of NaN
    or an infinity, which bound of a Timestamp), to group the failures of one bug."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", cause)
    text = re.sub(r"serialize \w+ field", "serialize a field", text)
    text = re.sub(r"-?Infinity|NaN", "NaN/Infinity", text)
    text = re.sub(r"(Seconds|Nanos) -?\d+ must be in a? ?range \[[^\]]*\]", "seconds or nanos out of range", text)
    return re.sub(r"-?\d+", "N", text)[:160]

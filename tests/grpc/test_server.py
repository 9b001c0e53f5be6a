"""``manage.py grpcserver`` as an operator runs it: health, reflection, request ids, logs, metrics, bounds.

The server runs as in production (debug off, JSON logs) with ``--metrics-bind``. It proves:

- the standard health service answers ``SERVING`` for the server and each ledger service while
  the database answers; a server whose database cannot be reached still starts, answers
  ``NOT_SERVING``, and refuses calls with ``UNAVAILABLE`` ``unavailable`` (never a hang or INTERNAL);
- server reflection lists the five ``ledger.v1`` services, health and reflection itself, and
  serves their descriptors (what ``grpcurl`` needs without a proto file);
- a caller's plain ``x-request-id`` comes back in the initial metadata (and in a refusal's
  ErrorInfo); a long or odd one is replaced by a generated one;
- the log holds one JSON line per call on ``ledger.request``, with its request id, client,
  route, status and duration; ``/metrics`` counts calls by method and code;
- a message over ``DJANGO_MAX_BODY_BYTES`` is ``RESOURCE_EXHAUSTED`` and the server goes on
  serving; bytes that do not parse (invalid UTF-8 in a string, a truncated message) are
  ``INVALID_ARGUMENT`` ``parse_error`` and post nothing;
- ``--bind`` that is not HOST:PORT, or a port already taken, exits non-zero with a clear message.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from grpc_api.v1 import accounts_pb2, transactions_pb2
from harness.commands import REPO
from harness.grpc_servers import Ledger, grpc_command, serve_grpc
from harness.ports import free_port
from harness.processes import children_of, log_tail, terminate
from tests.factories import AccountFactory
from tests.grpc.conftest import grpc_env
from tests.grpc.helpers import refusal, refused
from transactions.models import Posting, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEDGER_SERVICES = {
    "ledger.v1.AccountService",
    "ledger.v1.TransactionService",
    "ledger.v1.HoldService",
    "ledger.v1.BatchService",
    "ledger.v1.EventService",
}
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")  # What the REST middleware accepts as a caller's id, too.
WITHIN = 10  # seconds the server has to reach a state it is expected in

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Served:
    target: str
    log: Path
    metrics_url: str


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Served]:
    """One server for the module, with its log file and a Prometheus listener."""
    port, metrics_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("grpc-server") / "grpcserver.log"
    with django_db_blocker.unblock(), serve_grpc(grpc_env(), port, log, "--metrics-bind", f"127.0.0.1:{metrics_port}"):
        yield Served(f"127.0.0.1:{port}", log, f"http://127.0.0.1:{metrics_port}/metrics")


@pytest.fixture(scope="module")
def grpc_server(served) -> str:
    """This module's server is the one ``ledger_as`` connects to."""
    return served.target


def health_status(target: str, service: str = "") -> Any:
    """The health service's answer for ``service`` (an RpcError if it refuses, None if nothing answers)."""
    with grpc.insecure_channel(target) as channel:
        try:
            return (
                health_pb2_grpc.HealthStub(channel)
                .Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
                .status
            )
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return None  # Not listening (yet).
            return error


def deposit_request(account_id: str, amount: str = "1.00", **fields: str) -> transactions_pb2.CreateDepositRequest:
    return transactions_pb2.CreateDepositRequest(
        idempotency_key=f"server-{uuid.uuid4()}",
        deposit=transactions_pb2.DepositInput(account_id=account_id, amount=amount, **fields),
    )


def counts() -> tuple[int, int]:
    return Transaction.objects.count(), Posting.objects.count()


# --- Health --------------------------------------------------------------------------------------


def test_health_is_serving_for_the_server_and_each_ledger_service(grpc_server):
    SERVING = health_pb2.HealthCheckResponse.SERVING
    assert health_status(grpc_server, "") == SERVING
    assert health_status(grpc_server, "ledger.v1.TransactionService") == SERVING
    assert {name: health_status(grpc_server, name) for name in LEDGER_SERVICES} == dict.fromkeys(
        LEDGER_SERVICES, SERVING
    )
    unknown = health_status(grpc_server, "ledger.v1.NoSuchService")
    assert isinstance(unknown, grpc.RpcError)
    assert unknown.code() == grpc.StatusCode.NOT_FOUND


def test_with_the_database_unreachable_the_server_starts_not_serving_and_calls_are_unavailable(tmp_path):
    port, nothing_listens = free_port(), free_port()
    env = grpc_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{nothing_listens}/ledger", DB_CONNECT_TIMEOUT="2")
    log = tmp_path / "grpcserver.log"
    with log.open("wb") as output:
        process = subprocess.Popen(grpc_command(port), cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        target = f"127.0.0.1:{port}"
        deadline = time.monotonic() + WITHIN
        status = None
        while status is None and time.monotonic() < deadline:
            assert process.poll() is None, f"the server exited ({process.returncode}):\n{log_tail(log)}"
            status = health_status(target)
            if status is None:
                time.sleep(0.2)
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING, f"{status}\n{log_tail(log)}"
        assert health_status(target, "ledger.v1.TransactionService") == health_pb2.HealthCheckResponse.NOT_SERVING

        with Ledger(target, "0123456789abcdef0123456789abcdef01234567") as ledger:
            for method, request in (
                (ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()),
                (ledger.transactions.CreateDeposit, deposit_request(str(uuid.uuid4()))),
            ):
                started = time.monotonic()
                found = refused(method, request, ledger)
                assert (found.code, found.reason, found.domain) == (
                    grpc.StatusCode.UNAVAILABLE,
                    "unavailable",
                    "ledger",
                ), found
                assert found.retry_seconds is not None, "no RetryInfo"
                assert found.retry_seconds >= 1
                assert time.monotonic() - started < WITHIN
        assert process.poll() is None, "the server died answering"
    finally:
        terminate(process, timeout=20)


# --- Reflection ------------------------------------------------------------------------------------


def test_reflection_lists_every_service_and_serves_their_descriptors(grpc_server):
    with grpc.insecure_channel(grpc_server) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(
            stub.ServerReflectionInfo(
                iter(
                    [
                        reflection_pb2.ServerReflectionRequest(list_services=""),
                        reflection_pb2.ServerReflectionRequest(file_containing_symbol="ledger.v1.TransactionService"),
                    ]
                ),
                timeout=10,
            )
        )
    listed = {service.name for service in answers[0].list_services_response.service}
    assert listed >= LEDGER_SERVICES | {HEALTH, REFLECTION}, listed
    assert not {name for name in listed if name.startswith("ledger.")} - LEDGER_SERVICES, listed
    files = answers[1].file_descriptor_response.file_descriptor_proto
    assert files, answers[1]
    names = {descriptor_pb2.FileDescriptorProto.FromString(raw).name for raw in files}
    assert "ledger/v1/transactions.proto" in names


# --- Request ids -----------------------------------------------------------------------------------


def echoed(call: grpc.Call) -> str | None:
    return dict(call.initial_metadata() or ()).get("x-request-id")


def test_a_plain_request_id_is_echoed_in_the_initial_metadata_and_in_refusals(ledger_as, user):
    ledger = ledger_as(user)
    sent = f"caller-{uuid.uuid4().hex[:12]}.v1:retry_2"
    _, call = ledger.with_call(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), x_request_id=sent)
    assert echoed(call) == sent

    with pytest.raises(grpc.RpcError) as raised:
        ledger.call(
            ledger.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=str(uuid.uuid4())), x_request_id=sent
        )
    assert echoed(raised.value) == sent
    found = refusal(raised.value)
    assert (found.code, found.reason, found.metadata["request_id"]) == (grpc.StatusCode.NOT_FOUND, "not_found", sent)


@pytest.mark.parametrize(
    "sent", ["r" * 300, "has spaces in it", "semi;colon", None], ids=["300-chars", "spaces", "semicolon", "none"]
)
def test_a_long_odd_or_missing_request_id_is_replaced_by_a_generated_one(ledger_as, user, sent):
    ledger = ledger_as(user)
    extra = {} if sent is None else {"x_request_id": sent}
    generated = set()
    for _ in range(2):
        _, call = ledger.with_call(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), **extra)
        given = echoed(call)
        assert given is not None, "no x-request-id in the initial metadata"
        assert given != sent
        assert ACCEPTED_ID.fullmatch(given), given
        generated.add(given)
    assert len(generated) == 2, "two calls were given the same request id"


# --- Logs and metrics ------------------------------------------------------------------------------


def request_lines(log: Path, request_id: str) -> list[dict[str, Any]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if request_id in line:
            record = json.loads(line)  # A production log line is one JSON object.
            if record.get("logger") == "ledger.request":
                found.append(record)
    return found


def logged(log: Path, request_id: str) -> dict[str, Any]:
    """The one request log line of ``request_id`` (waits for it a little: the server writes it as the call ends)."""
    deadline = time.monotonic() + WITHIN
    while not (lines := request_lines(log, request_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(lines) == 1, f"{len(lines)} request log lines for {request_id}: {lines}"
    return lines[0]


def test_every_call_is_logged_as_one_json_line(served, ledger_as, user):
    ledger = ledger_as(user)
    account = AccountFactory(owner=user)
    answered, refused_id, anonymous_id = (f"log-{uuid.uuid4().hex}" for _ in range(3))
    ledger.call(
        ledger.accounts.GetBalance,
        accounts_pb2.GetBalanceRequest(account_id=str(account.public_id)),
        x_request_id=answered,
    )
    with pytest.raises(grpc.RpcError):
        ledger.call(
            ledger.transactions.CreateWithdrawal,
            transactions_pb2.CreateWithdrawalRequest(
                idempotency_key="log-k",
                withdrawal=transactions_pb2.WithdrawalInput(account_id=str(account.public_id), amount="5.00"),
            ),
            x_request_id=refused_id,
        )
    nobody = Ledger(served.target, None)
    with nobody, pytest.raises(grpc.RpcError):
        nobody.call(nobody.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), x_request_id=anonymous_id)

    line = logged(served.log, answered)
    assert (line["client"], line["route"], line["status"], line["request_id"]) == (
        user.get_username(),
        "GetBalance",
        "OK",
        answered,
    )
    assert isinstance(line["duration_ms"], int | float)
    assert 0 <= line["duration_ms"] < 20_000
    assert line["level"] == "INFO"

    line = logged(served.log, refused_id)
    assert (line["client"], line["route"], line["status"]) == (
        user.get_username(),
        "CreateWithdrawal",
        "FAILED_PRECONDITION",
    )

    line = logged(served.log, anonymous_id)
    assert (line["client"], line["route"], line["status"]) == (None, "ListAccounts", "UNAUTHENTICATED")


def requests_counted(url: str) -> dict[tuple[str, str], float]:
    """``ledger_grpc_requests_total`` as /metrics shows it now, by (method, code)."""
    with _OPENER.open(url, timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    counted = {}
    for family in text_string_to_metric_families(text):
        if family.name == "ledger_grpc_requests":
            for sample in family.samples:
                if sample.name == "ledger_grpc_requests_total":
                    counted[(sample.labels["method"], sample.labels["code"])] = sample.value
    return counted


def latency_counted(url: str, method: str) -> float:
    with _OPENER.open(url, timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ledger_grpc_request_duration_seconds_count" and sample.labels["method"] == method:
                return sample.value
    return 0.0


def test_metrics_count_calls_by_method_and_code(served, ledger_as, user):
    ledger = ledger_as(user)
    account = AccountFactory(owner=user)
    before = requests_counted(served.metrics_url)
    latency_before = latency_counted(served.metrics_url, "GetBalance")

    for _ in range(3):
        ledger.call(ledger.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=str(account.public_id)))
    refused(ledger.accounts.GetAccount, accounts_pb2.GetAccountRequest(account_id=str(uuid.uuid4())), ledger)

    after = requests_counted(served.metrics_url)
    changed = {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}
    assert changed == {("GetBalance", "OK"): 3.0, ("GetAccount", "NOT_FOUND"): 1.0}
    assert latency_counted(served.metrics_url, "GetBalance") - latency_before == 3.0


# --- Bounds and malformed input --------------------------------------------------------------------


def test_a_message_over_the_body_limit_is_resource_exhausted_and_the_server_goes_on(ledger_as, user):
    ledger = ledger_as(user)
    account = AccountFactory(owner=user)
    before = counts()

    with pytest.raises(grpc.RpcError) as raised:
        ledger.call(
            ledger.transactions.CreateDeposit, deposit_request(str(account.public_id), description="x" * (300 * 1024))
        )
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, raised.value

    assert counts() == before
    # The same channel and a new one are both answered.
    answer = ledger.call(ledger.transactions.CreateDeposit, deposit_request(str(account.public_id), "2.00"))
    assert answer.amount == "2.00"
    with Ledger(ledger.target, user.auth_token.key) as fresh:
        balance = fresh.call(
            fresh.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=str(account.public_id))
        )
    assert balance.balance == "2.00"


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2) with ``payload``."""
    assert number < 16
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


@pytest.mark.parametrize(
    "raw",
    [
        field(1, b"key-\xff\xfe"),  # idempotency_key: not UTF-8
        field(1, b"key-1") + field(2, field(1, b"\xc3\x28") + field(2, b"1.00")),  # deposit.account_id: not UTF-8
        field(1, b"key-1")[:-2],  # truncated
    ],
    ids=["invalid-utf8", "invalid-utf8-nested", "truncated"],
)
def test_bytes_that_do_not_parse_are_invalid_argument_parse_error(ledger_as, user, raw):
    ledger = ledger_as(user)
    before = counts()
    raw_call = ledger.channel.unary_unary("/ledger.v1.TransactionService/CreateDeposit")
    with pytest.raises(grpc.RpcError) as raised:
        raw_call(raw, metadata=ledger.metadata(), timeout=10)
    found = refusal(raised.value)
    assert (found.code, found.reason, found.domain) == (grpc.StatusCode.INVALID_ARGUMENT, "parse_error", "ledger")
    assert counts() == before
    # The server goes on answering.
    assert ledger.call(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()) is not None


# --- The command's arguments -----------------------------------------------------------------------


def run_grpcserver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "grpcserver", *args],
        cwd=REPO,
        env=grpc_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bind_that_is_not_host_port_exits_non_zero_with_a_clear_message():
    done = run_grpcserver("--bind", "nonsense")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "--bind must be HOST:PORT" in output, output
    assert "nonsense" in output, output
    assert "Traceback" not in output, output


def test_a_port_already_served_exits_non_zero_with_a_clear_message(grpc_server):
    done = run_grpcserver("--bind", grpc_server)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert f"cannot serve on {grpc_server}" in output, output
    assert "Traceback" not in output, output


def test_several_processes_share_the_port_serve_calls_and_stop_together_on_sigterm(tmp_path, user):
    port = free_port()
    log = tmp_path / "grpcserver.log"
    env = grpc_env(LEDGER_GRPC_WORKERS="2", LEDGER_GRPC_MAX_STREAMS="1", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    with serve_grpc(env, port, log, "--processes", "2") as supervisor:
        servers = children_of(supervisor.pid)
        answered = []
        for _ in range(6):  # A channel each: a connection each, spread by the kernel.
            with Ledger(f"127.0.0.1:{port}", user.auth_token.key) as ledger:
                answered.append(ledger.call(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest()))
        supervisor.send_signal(signal.SIGTERM)
        status = supervisor.wait(timeout=30)

    assert len(servers) == 2
    assert len(answered) == 6
    assert status == 0
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()]
    assert log.read_text().count("gRPC server stopped") == 3  # Each server, then the supervisor.


def test_a_server_process_that_dies_is_replaced(tmp_path, user):
    port = free_port()
    log = tmp_path / "grpcserver.log"
    env = grpc_env(LEDGER_GRPC_WORKERS="2", LEDGER_GRPC_MAX_STREAMS="1")
    with serve_grpc(env, port, log, "--processes", "2") as supervisor:
        first = children_of(supervisor.pid)
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = children_of(supervisor.pid)
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.2)
        replaced = children_of(supervisor.pid)
        with Ledger(f"127.0.0.1:{port}", user.auth_token.key) as ledger:
            grpc.channel_ready_future(ledger.channel).result(timeout=10)
            ledger.call(ledger.accounts.ListAccounts, accounts_pb2.ListAccountsRequest())

    assert len(replaced) == 2
    assert first[0] not in replaced
    assert "replacing it" in log.read_text()

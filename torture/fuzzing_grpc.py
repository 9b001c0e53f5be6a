"""Fuzzing over gRPC: Hypothesis builds every method's requests from the proto's descriptors.

A ``manage.py grpcserver`` on the scenario's database, once Schemathesis is done. For each RPC
of the five services, Hypothesis generates request messages from their descriptors: a random
value of each field's kind (strings of any Unicode, every integer of the field's width, any
double, NaN and infinities included), random presence of optional fields and sub-messages,
a random choice of each oneof (a batch operation's kind, or none), random repeated fields, random
``google.protobuf.Struct`` contents (nested objects and lists, numbers, NaN and infinities) and
random ``Timestamp`` values (sane instants, and the whole range of its integers). Fields are
aimed as the REST fuzzing's hooks aim them: ids are often real ones (the client's accounts,
transactions, holds, batches and events, another client's account), amounts often valid ones,
currencies, kinds, statuses and event types often known ones, idempotency keys mostly fresh.
Then each method's valid request (its template, sent once as it is: it must be answered OK, or
PERMISSION_DENIED for a client's reversal) is mutated: random bytes flipped, set, inserted or
deleted, and cuts. Every request goes over a real channel with a valid token (a client's; in the
full version also a staff client's) and a deadline; StreamEvents is followed until it is quiet.

The property of every answer: OK, or a contract status with a ``google.rpc.ErrorInfo`` of domain
``ledger`` whose reason is a contract code (or RESOURCE_EXHAUSTED from gRPC itself for a message
over the size limit); never UNKNOWN or INTERNAL, never a hang, and an OK answer parses as the
method's message. A write sent with a fresh key bound that key exactly once when answered OK and
not at all when refused. Afterwards the books balance and ``reconcile`` is clean.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
from google.protobuf import descriptor as pb_descriptor
from google.protobuf import text_format
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seed_of
from hypothesis import strategies as st

from grpc_api.v1 import accounts_pb2 as accounts
from grpc_api.v1 import batches_pb2 as batches
from grpc_api.v1 import events_pb2 as events
from grpc_api.v1 import holds_pb2 as holds
from grpc_api.v1 import transactions_pb2 as transactions
from harness.books import check_at
from torture.grpc_client import (
    MAX_BODY,
    Answer,
    Method,
    cause_signature,
    contract_problems,
    methods,
    opening,
    server_causes,
    stream,
    token_metadata,
    unary,
)
from torture.infra import Context, GrpcInstance, create_clients, instances
from torture.invariants import reconcile
from torture.report import Result

KEY_PREFIX = "fuzz-grpc-"  # a key made here: never sent twice
CLIENTS = {"fuzz-a": False, "fuzz-b": False, "fuzz-staff": True}  # the REST fuzzing's clients
FieldDescriptor = pb_descriptor.FieldDescriptor
STRUCT = "google.protobuf.Struct"
TIMESTAMP = "google.protobuf.Timestamp"
CURRENCIES = ("USD", "EUR", "GBP", "JPY")
KINDS = ("deposit", "withdrawal", "transfer", "reversal")
STATUSES = ("pending", "captured", "voided", "expired")
EVENT_TYPES = (
    "account.opened",
    "account.status_changed",
    "transaction.posted",
    "transaction.reversed",
    "hold.created",
    "hold.captured",
    "hold.voided",
    "hold.expired",
)
AMOUNTS = ("1.00", "0.01", "2.50", "10", "0.5", "100.00", "3")
INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


@dataclass(frozen=True)
class GrpcPlan:
    generated: int  # requests generated per method and principal
    mutated: int  # mutations of its valid request per method and principal
    principals: tuple[str, ...]  # "client", "staff"


FULL = GrpcPlan(200, 100, ("client", "staff"))
SHORT = GrpcPlan(12, 6, ("client",))


# --- Strategies from the descriptors ----------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # any Unicode a proto string may hold
LONG_TEXT = st.text(st.characters(codec="utf-8"), min_size=150, max_size=700)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.floats() | st.integers(-(2**60), 2**60) | TEXT
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
        max_leaves=12,
    )


STRUCTS = st.dictionaries(TEXT, json_values(), max_size=5)
NOW = int(time.time())
SECONDS = st.integers(NOW - 40 * 86400, NOW + 40 * 86400) | st.integers(-(2**63), 2**63 - 1)
NANOS = st.just(0) | st.integers(0, 999_999_999) | st.integers(-(2**31), 2**31 - 1)


class Pools:
    """The real ids requests are aimed at, by what a field names."""

    def __init__(self, ids: dict[str, list[str]]) -> None:
        self.ids = ids

    def of(self, field_name: str) -> list[str]:
        if field_name in ("account_id", "source_account_id", "destination_account_id"):
            return self.ids.get("accounts", [])
        if field_name == "transaction_id":
            return self.ids.get("transactions", [])
        if field_name == "hold_id":
            return self.ids.get("holds", [])
        if field_name == "batch_id":
            return self.ids.get("batches", [])
        if field_name in ("event_id", "after"):
            return self.ids.get("events", [])
        if field_name == "page_token":
            return self.ids.get("tokens", [])
        return []


def _fresh_key(draw: Callable) -> str:
    choice = draw(st.sampled_from(("fresh", "fresh", "fresh", "fresh", "text", "empty", "long")))
    if choice == "fresh":
        return f"{KEY_PREFIX}{uuid.uuid4()}"
    if choice == "empty":
        return ""
    if choice == "long":
        return "k" * draw(st.integers(200, 300))
    return draw(TEXT)


def _string(draw: Callable, field: FieldDescriptor, pools: Pools) -> str:
    name = field.name
    if name == "idempotency_key":
        return _fresh_key(draw)
    pool = pools.of(name)
    if pool:
        return draw(st.sampled_from(pool) | st.sampled_from(pool) | st.uuids().map(str) | TEXT | st.just(""))
    if name == "amount":
        return draw(
            st.sampled_from(AMOUNTS)
            | st.sampled_from(AMOUNTS)
            | st.decimals().map(str)
            | st.integers(-(10**16), 10**16).map(str)
            | TEXT
        )
    choices = {"currency": CURRENCIES, "kind": KINDS, "status": STATUSES, "type": EVENT_TYPES}.get(name)
    if choices:
        return draw(st.sampled_from(choices) | st.sampled_from(choices) | TEXT)
    if name in ("description", "reference", "reason", "name"):
        return draw(st.just("fuzz") | TEXT | LONG_TEXT)
    return draw(TEXT)


def _scalar(draw: Callable, field: FieldDescriptor, pools: Pools) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _string(draw, field, pools)
    if kind == FieldDescriptor.TYPE_BYTES:
        return draw(st.binary(max_size=40))
    if kind == FieldDescriptor.TYPE_BOOL:
        return draw(st.booleans())
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return draw(st.floats(width=64 if kind == FieldDescriptor.TYPE_DOUBLE else 32))
    if kind == FieldDescriptor.TYPE_ENUM:
        return draw(st.sampled_from([v.number for v in field.enum_type.values]) | st.integers(-(2**31), 2**31 - 1))
    low, high = INT_RANGES[kind]
    if "page_size" in field.name:
        return draw(st.integers(0, 201) | st.integers(low, high))
    return draw(st.integers(max(low, -5), min(high, 300)) | st.integers(low, high))


def _real_oneofs(descriptor: pb_descriptor.Descriptor) -> list[pb_descriptor.OneofDescriptor]:
    """The oneofs written as such: proto3 ``optional`` fields are synthetic oneofs of one field, named ``_field``."""
    return [o for o in descriptor.oneofs if not (len(o.fields) == 1 and o.name == f"_{o.fields[0].name}")]


def fill(draw: Callable, message: Message, pools: Pools, depth: int = 0) -> None:
    """Give ``message`` random contents, field by field as its descriptor says."""
    descriptor = message.DESCRIPTOR
    if descriptor.full_name == STRUCT:
        message.update(draw(STRUCTS))
        return
    if descriptor.full_name == TIMESTAMP:
        message.seconds, message.nanos = draw(SECONDS), draw(NANOS)
        return
    chosen: set[str] = set()
    for oneof in _real_oneofs(descriptor):
        pick = draw(st.sampled_from([None, *oneof.fields]))
        if pick is not None:
            chosen.add(pick.name)
    in_oneofs = {f.name for o in _real_oneofs(descriptor) for f in o.fields}
    for field in descriptor.fields:
        if field.name in in_oneofs and field.name not in chosen:
            continue
        sub = field.message_type
        if field.is_repeated:
            if sub is not None:
                for _ in range(draw(st.integers(0, 4 if depth == 0 else 2))):
                    fill(draw, getattr(message, field.name).add(), pools, depth + 1)
            else:
                for _ in range(draw(st.integers(0, 3))):
                    getattr(message, field.name).append(_scalar(draw, field, pools))
            continue
        if sub is not None:
            if depth > 3:
                continue
            if field.name in chosen or draw(st.sampled_from((True, True, True, False))):
                child = getattr(message, field.name)
                child.SetInParent()
                fill(draw, child, pools, depth + 1)
            continue
        if field.has_presence and field.name not in chosen and not draw(st.booleans()):
            continue  # an optional field left unset
        setattr(message, field.name, _scalar(draw, field, pools))


def requests_of(method: Method, pools: Pools) -> st.SearchStrategy[Message]:
    @st.composite
    def build(draw: Callable) -> Message:
        message = method.request()
        fill(draw, message, pools)
        return message

    return build()


EDITS = st.lists(
    st.tuples(
        st.sampled_from(("flip", "set", "insert", "delete", "cut")), st.integers(0, 1 << 16), st.integers(0, 255)
    ),
    min_size=1,
    max_size=4,
)


def mutate(body: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(body)
    for edit, where, value in edits:
        at = where % (len(data) + 1)
        if edit == "insert":
            data.insert(at, value)
        elif not data:
            continue
        elif edit == "cut":
            del data[at:]
        else:
            at = where % len(data)
            if edit == "flip":
                data[at] ^= 1 << (value % 8)
            elif edit == "set":
                data[at] = value
            else:
                del data[at]
    return bytes(data)


# --- The world and the templates ----------------------------------------------------------------------


def _key() -> str:
    return f"{KEY_PREFIX}{uuid.uuid4()}"


class World:
    """A client's accounts, movements, holds, a batch and events (and another client's account), over gRPC."""

    def __init__(self, channel: grpc.Channel, tokens: dict[str, str]) -> None:
        self.channel = channel
        self.tokens = tokens
        self.rpc = methods()
        self.requests = 0
        self.reserve = ""  # the templates' account (seed)
        self.ids: dict[str, list[str]] = {
            k: [] for k in ("accounts", "transactions", "holds", "batches", "events", "tokens")
        }

    def ask(self, token: str, name: str, request: Message | bytes, **options: float) -> Answer:
        self.requests += 1
        method = self.rpc[name]
        if method.streaming:
            return stream(self.channel, method, request, token_metadata(token), **options)
        return unary(self.channel, method, request, token_metadata(token))

    def must(self, token: str, name: str, request: Message) -> Any:
        answer = self.ask(token, name, request)
        if not answer.ok:
            raise RuntimeError(f"seeding {name}: {answer.describe()}")
        return answer.response

    def seed(self, extra: dict[str, list[str]] | None = None) -> None:
        a, b = self.tokens["fuzz-a"], self.tokens["fuzz-b"]
        opened = [self.must(a, "OpenAccount", opening(_key(), currency=c)).id for c in ("USD", "USD", "EUR")]
        theirs = self.must(b, "OpenAccount", opening(_key(), currency="USD")).id
        self.ids["accounts"] += [*opened, theirs]
        a1, a2, eur = opened
        for account, amount in ((a1, "100000.00"), (a2, "5000.00"), (eur, "700.00")):
            posted = self.must(a, "CreateDeposit", self.deposit(account, amount))
            self.ids["transactions"].append(posted.id)
        # The templates' own account, which no generated request aims at: nothing the fuzzing posts drains it.
        self.reserve = self.must(a, "OpenAccount", opening(_key(), currency="USD", name="templates")).id
        self.must(a, "CreateDeposit", self.deposit(self.reserve, "100000.00"))
        self.must(b, "CreateDeposit", self.deposit(theirs, "50.00"))
        batch = self.must(
            a,
            "CreateBatch",
            batches.CreateBatchRequest(
                idempotency_key=_key(),
                operations=[
                    batches.BatchOperation(deposit=transactions.DepositInput(account_id=a2, amount="3.00")),
                    batches.BatchOperation(
                        hold=holds.HoldInput(account_id=a2, amount="4.00", destination_account_id=a1)
                    ),
                ],
            ),
        )
        self.ids["batches"].append(batch.id)
        self.ids["transactions"] += [t.id for t in batch.transactions]
        self.ids["holds"] += [h.id for h in batch.holds]
        for _ in range(6):
            self.ids["holds"].append(self.place(a, a1))
        page = self.must(a, "ListAccounts", accounts.ListAccountsRequest(page_size=1))
        history = self.must(a, "ListHistory", accounts.ListHistoryRequest(account_id=a1, page_size=1))
        self.ids["tokens"] += [page.next_page_token, history.next_page_token]
        listed = self.must(a, "ListEvents", events.ListEventsRequest(page_size=50))
        self.ids["events"] += [e.id for e in listed.events]
        for kind, found in (extra or {}).items():
            self.ids.setdefault(kind, []).extend(found)

    @staticmethod
    def deposit(account: str, amount: str) -> transactions.CreateDepositRequest:
        return transactions.CreateDepositRequest(
            idempotency_key=_key(), deposit=transactions.DepositInput(account_id=account, amount=amount)
        )

    def place(self, token: str, account: str) -> str:
        request = holds.CreateHoldRequest(
            idempotency_key=_key(), hold=holds.HoldInput(account_id=account, amount="1.00")
        )
        return self.must(token, "CreateHold", request).id

    def template(self, name: str, token: str, *, staff: bool) -> Message:
        """A valid request of ``name``: answered OK (a capture and a void get a pending hold of their own). The
        money comes from the templates' own account, ``reserve``; reads name the fuzzing's first account."""
        a1, a2, reserve = self.ids["accounts"][0], self.ids["accounts"][1], self.reserve
        builders: dict[str, Callable[[], Message]] = {
            "OpenAccount": lambda: opening(_key(), currency="USD", name="fuzz"),
            "GetAccount": lambda: accounts.GetAccountRequest(account_id=a1),
            "ListAccounts": lambda: accounts.ListAccountsRequest(page_size=5),
            "GetBalance": lambda: accounts.GetBalanceRequest(account_id=a1),
            "ListHistory": lambda: accounts.ListHistoryRequest(account_id=a1, kind="deposit", page_size=5),
            "CreateDeposit": lambda: self.deposit(a2, "1.00"),
            "CreateWithdrawal": lambda: transactions.CreateWithdrawalRequest(
                idempotency_key=_key(), withdrawal=transactions.WithdrawalInput(account_id=reserve, amount="0.50")
            ),
            "CreateTransfer": lambda: transactions.CreateTransferRequest(
                idempotency_key=_key(),
                transfer=transactions.TransferInput(
                    source_account_id=reserve, destination_account_id=a2, amount="0.25"
                ),
            ),
            "ReverseTransaction": lambda: transactions.ReverseTransactionRequest(
                idempotency_key=_key(),
                transaction_id=self.must(token, "CreateDeposit", self.deposit(reserve, "0.10")).id if staff else a1,
                reason="fuzz",
            ),
            "GetTransaction": lambda: transactions.GetTransactionRequest(transaction_id=self.ids["transactions"][0]),
            "ListTransactions": lambda: transactions.ListTransactionsRequest(kind="deposit", page_size=5),
            "CreateHold": lambda: holds.CreateHoldRequest(
                idempotency_key=_key(), hold=holds.HoldInput(account_id=reserve, amount="1.00", description="fuzz")
            ),
            "CaptureHold": lambda: holds.CaptureHoldRequest(
                idempotency_key=_key(), hold_id=self.place(token, reserve), amount="0.40"
            ),
            "VoidHold": lambda: holds.VoidHoldRequest(
                idempotency_key=_key(), hold_id=self.place(token, reserve), reason="x"
            ),
            "GetHold": lambda: holds.GetHoldRequest(hold_id=self.ids["holds"][0]),
            "ListHolds": lambda: holds.ListHoldsRequest(status="pending", page_size=5),
            "CreateBatch": lambda: batches.CreateBatchRequest(
                idempotency_key=_key(),
                operations=[
                    batches.BatchOperation(deposit=transactions.DepositInput(account_id=reserve, amount="1.00")),
                    batches.BatchOperation(hold=holds.HoldInput(account_id=reserve, amount="0.50")),
                ],
            ),
            "GetBatch": lambda: batches.GetBatchRequest(batch_id=self.ids["batches"][0]),
            "ListEvents": lambda: events.ListEventsRequest(type="transaction.posted", page_size=5),
            "StreamEvents": lambda: events.StreamEventsRequest(type="hold.created"),
            "GetEvent": lambda: events.GetEventRequest(event_id=self.ids["events"][0]),
        }
        return builders[name]()


# --- The run -------------------------------------------------------------------------------------------


def fuzz_tests(
    name: str,
    principal: str,
    staff: bool,
    template: Message,
    method: Method,
    pools: Pools,
    probe: Callable[..., Answer],
    world: World,
    token: str,
) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two Hypothesis tests of one method and principal: generated requests, and mutated valid ones."""

    @given(request=requests_of(method, pools))
    def generated(request: Message) -> None:
        key = getattr(request, "idempotency_key", "")
        probe(name, principal, request, fresh_key=key if key.startswith(KEY_PREFIX) else None)

    @given(edits=EDITS)
    def mutated(edits: list) -> None:
        # A write's valid request is made again (a fresh key; a capture or void, a pending hold of its own).
        valid = world.template(name, token, staff=staff) if method.writes else template
        probe(name, principal, mutate(valid.SerializeToString(), edits))

    return generated, mutated


def run_hypothesis(test: Callable[..., None], examples: int, seed: int) -> None:
    """Run ``test`` on ``examples`` generated inputs, seeded: no shrinking (the property never raises; failures
    are collected with the smallest request seen), no example database."""
    configured = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )(test)
    seed_of(seed)(configured)()


def _shown(request: Message | bytes) -> str:
    if isinstance(request, bytes):
        return f"bytes {request[:200].hex()}{'…' if len(request) > 200 else ''} ({len(request)} bytes)"
    text = text_format.MessageToString(request, as_one_line=True, print_unknown_fields=True)
    return f"{text[:300]}{'…' if len(text) > 300 else ''}"


def run_part(
    ctx: Context,
    result: Result,
    url: str,
    tokens: dict[str, str],
    ids: dict[str, list[str]] | None = None,
    plan: GrpcPlan | None = None,
) -> None:
    """The gRPC fuzzing on the database ``url`` with the clients :data:`CLIENTS` (``tokens``), aimed also at
    ``ids`` (the REST fuzzing's seeded objects), counted into ``result`` (scenario 4) beside Schemathesis:
    figures and violations prefixed "gRPC". The caller checks the books afterwards."""
    plan = plan or (SHORT if ctx.short else FULL)
    started = time.monotonic()
    rpc = methods()
    codes: Counter = Counter()
    answered_ok: set[str] = set()
    failures: list[tuple[str, str, str, Message | bytes, str]] = []  # method, principal, what, request, request id
    checked = 0
    keys = 0
    token_of = {"client": tokens["fuzz-a"], "staff": tokens["fuzz-staff"]}
    with instances(GrpcInstance("fuzzing-grpc", url, ctx.workdir)) as (server,):
        channel = grpc.insecure_channel(server.target)
        world = World(channel, tokens)
        world.seed(ids)
        pools = Pools(world.ids)
        database = psycopg.connect(url, autocommit=True, connect_timeout=5)

        def bound(key: str) -> int:
            return database.execute(
                "SELECT COUNT(*) FROM transactions_idempotencyrecord WHERE key = %s", [key]
            ).fetchone()[0]

        def fail(name: str, principal: str, what: str, request: Message | bytes, request_id: str = "") -> None:
            failures.append((name, principal, what, request, request_id))

        def probe(name: str, principal: str, request: Message | bytes, *, fresh_key: str | None = None) -> Answer:
            nonlocal checked, keys
            method = rpc[name]
            body = request if isinstance(request, bytes) else request.SerializeToString()
            answer = world.ask(token_of[principal], name, body, first=0.5, idle=0.2)
            codes[answer.code.name] += 1
            if answer.ok:
                answered_ok.add(name)
            for problem in contract_problems(answer, size_limited=len(body) > MAX_BODY):
                fail(name, principal, problem, request, answer.metadata.get("request_id", ""))
            checked += 1
            if fresh_key and method.writes and answer.code not in (grpc.StatusCode.UNAVAILABLE,):
                times = bound(fresh_key)
                keys += 1
                checked += 1
                if answer.ok and times != 1:
                    fail(name, principal, f"answered OK, yet its idempotency key is bound {times} times", request)
                elif not answer.ok and times:
                    fail(name, principal, f"refused ({answer.code.name}), yet its idempotency key is bound", request)
            return answer

        counter = iter(range(1, 10**6))

        def seeds() -> int:
            return ctx.seed * 10_000 + next(counter)

        for principal in plan.principals:
            staff = principal == "staff"
            for name, method in rpc.items():
                # The template first, as it is: the method's success path is reached.
                template = world.template(name, token_of[principal], staff=staff)
                key = getattr(template, "idempotency_key", None)
                answer = probe(name, principal, template, fresh_key=key)
                expected = grpc.StatusCode.PERMISSION_DENIED if name == "ReverseTransaction" and not staff else None
                checked += 1
                if not (answer.ok if expected is None else answer.code == expected):
                    fail(name, principal, f"its valid request: {answer.describe()}", template)
                few = method.streaming  # a stream is followed until quiet: fewer of them
                generated, mutated = fuzz_tests(
                    name, principal, staff, template, method, pools, probe, world, token_of[principal]
                )
                run_hypothesis(generated, max(2, plan.generated // 3) if few else plan.generated, seeds())
                run_hypothesis(mutated, max(2, plan.mutated // 3) if few else plan.mutated, seeds())
        alive = server.serving()
        database.close()
        channel.close()

    # One violation per method, problem and cause (the server's exception), with its smallest request.
    causes = server_causes(server.log)
    smallest: dict[tuple[str, str, str], tuple[int, str, str]] = {}
    who: dict[tuple[str, str, str], set[str]] = {}
    for name, principal, what, request, request_id in failures:
        cause = causes.get(request_id, "")
        signature = (name, what, cause_signature(cause))
        who.setdefault(signature, set()).add(principal)
        size = len(request) if isinstance(request, bytes) else request.ByteSize()
        if signature not in smallest or size < smallest[signature][0]:
            smallest[signature] = (size, _shown(request), cause)
    violations = [
        f"gRPC {name} (as {' and '.join(sorted(who[(name, what, group)]))}): {what}"
        f"{f' (server: {cause})' if cause else ''}; smallest request: {shown}"
        for (name, what, group), (_, shown, cause) in sorted(smallest.items())
    ]
    if not alive:
        violations.append("gRPC the health service does not answer SERVING after the fuzzing")
    unreached = set(rpc) - answered_ok
    if "staff" not in plan.principals:
        unreached.discard("ReverseTransaction")  # staff only: a client's reversal is PERMISSION_DENIED
    missing = sorted(unreached)
    if missing:
        violations.append(f"gRPC methods never answered OK: {missing}")
    result.requests += world.requests
    result.checked += checked + 2
    result.violations += violations
    result.figures.update(
        {
            "gRPC fuzzing": f"Hypothesis, from the proto's descriptors: {plan.generated} generated and {plan.mutated} "
            f"mutated requests per method (a third for StreamEvents), and its valid request, as "
            f"{' and '.join(plan.principals)}",
            "gRPC methods exercised": f"{len(rpc)} ({len(answered_ok)} answered OK at least once)",
            "gRPC answers": dict(sorted(codes.items())),
            "gRPC idempotency keys checked in the database": keys,
            "gRPC new failures": len(smallest),
            "gRPC requests, violations": f"{world.requests} requests, {len(violations)} violations "
            f"in {time.monotonic() - started:.1f} s",
        }
    )


def run(ctx: Context, plan: GrpcPlan | None = None) -> Result:
    """The gRPC fuzzing alone, on a database of its own (scenario 4 runs it after Schemathesis)."""
    result = Result("fuzzing", "4. Fuzzing")
    started = time.monotonic()
    url = ctx.databases.clone("fuzzing_grpc")
    run_part(ctx, result, url, create_clients(url, CLIENTS), plan=plan)
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    result.figures["reconcile"] = line
    result.duration = time.monotonic() - started
    return result

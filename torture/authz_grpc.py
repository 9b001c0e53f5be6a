"""The authorization matrix over gRPC: every RPC of the five services, as the same five callers.

A ``manage.py grpcserver`` on the scenario's database, once the REST matrix is done, with three
clients of its own (A, B, staff); the RPCs come from the proto's descriptors (a method with no
cells is a violation), and their world (two clients' accounts, movements, a batch, holds,
events) is made over gRPC too. Every call has a deadline. The expected status of a cell:

- anonymous (no ``authorization``): UNAUTHENTICATED ``not_authenticated``; a wrong token:
  UNAUTHENTICATED ``authentication_failed``;
- ReverseTransaction by a client that is not staff: PERMISSION_DENIED ``permission_denied``,
  whosever the transaction (the only PERMISSION_DENIED);
- another client's object, or an id that does not exist (an account read, deposited to,
  withdrawn or transferred from, held or batched on; a transaction, hold, batch or event):
  NOT_FOUND ``not_found``, never PERMISSION_DENIED, and exactly the refusal (status, message,
  ErrorInfo but its request id, BadRequest) an id that does not exist gets; ListEvents and
  StreamEvents ``after`` another client's event: INVALID_ARGUMENT, the same as after an event
  that does not exist;
- a client's own object, and staff on everything: OK. Every capture or void gets a pending hold
  of its own, placed just before; every staff reversal a transaction of its own.

Every refusal carries a ``google.rpc.ErrorInfo`` of domain ``ledger``. No answer to A (message,
stream, refusal text) holds an id of B's or staff's objects, or of any object the REST matrix
made, nor B's token, and the reverse,
but for the transfers between them (the payer's account as ``source_account_id``, the payer's hold
as ``hold_id``). Lists and streams: staff's show both clients' objects, each client's only its
own; StreamEvents shows what ListEvents lists; ListHolds filtered on another client's account is
the empty page an unknown account gets. Afterwards exactly what was answered OK was stored
(transactions, captures, holds and the status of each) and the books balance.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections import Counter
from typing import Any

import grpc
from google.protobuf.message import Message

from grpc_api.v1 import accounts_pb2 as accounts
from grpc_api.v1 import batches_pb2 as batches
from grpc_api.v1 import events_pb2 as events
from grpc_api.v1 import holds_pb2 as holds
from grpc_api.v1 import transactions_pb2 as transactions
from harness.books import check_at
from torture.authz import PRINCIPALS, UUID_RE, leaks
from torture.grpc_client import (
    Answer,
    as_dicts,
    contract_problems,
    methods,
    opening,
    stream,
    token_metadata,
    unary,
)
from torture.infra import Context, GrpcInstance, create_clients, instances
from torture.invariants import connect, reconcile
from torture.report import Result

OK = grpc.StatusCode.OK
CLIENTS = ("A", "B")
CLIENT_NAMES = {"A": "authz-grpc-a", "B": "authz-grpc-b", "staff": "authz-grpc-staff"}  # the matrix's own clients
API_CLIENTS = {name: principal == "staff" for principal, name in CLIENT_NAMES.items()}  # for create_clients
# How each RPC is tried: "own" (the caller's own objects, whoever asks), "object" (A's, B's and nobody's
# object by id), "on account" (a write on A's, B's and nobody's account), "reversal", "pending hold".
SHAPES = {
    "OpenAccount": "own",
    "GetAccount": "object",
    "ListAccounts": "own",
    "GetBalance": "object",
    "ListHistory": "object",
    "CreateDeposit": "on account",
    "CreateWithdrawal": "on account",
    "CreateTransfer": "on account",
    "ReverseTransaction": "reversal",
    "GetTransaction": "object",
    "ListTransactions": "own",
    "CreateHold": "on account",
    "CaptureHold": "pending hold",
    "VoidHold": "pending hold",
    "GetHold": "object",
    "ListHolds": "own",
    "CreateBatch": "on account",
    "GetBatch": "object",
    "ListEvents": "own",
    "StreamEvents": "own",
    "GetEvent": "object",
}
AFTER = ("ListEvents", "StreamEvents")  # also asked after A's event, B's and one that does not exist
KIND = {  # the object an "object" RPC reads
    "GetAccount": "account",
    "GetBalance": "account",
    "ListHistory": "account",
    "GetTransaction": "transaction",
    "GetHold": "hold",
    "GetBatch": "batch",
    "GetEvent": "event",
}
REASON = {
    grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.INVALID_ARGUMENT: "validation_error",
}
EVENT_TIMEOUT = 10.0  # seconds for the seeding's events to be listed


def _key() -> str:
    return f"authz-grpc-{uuid.uuid4()}"


def _name(message: Message) -> str:
    return message.DESCRIPTOR.full_name


class World:
    """Two clients' objects, made over gRPC; which ids are whose; what was answered OK (to count it stored)."""

    def __init__(self, channel: grpc.Channel, tokens: dict[str, str]) -> None:
        self.channel = channel
        self.tokens = tokens
        self.rpc = methods()
        self.requests = 0
        self.private: dict[str, set[str]] = {"A": set(), "B": set(), "staff": set(), "REST": set()}
        self.shared: set[str] = set()  # the transfers between A and B, and the hold a capture of them names
        self.objects: dict[str, dict[str, str]] = {"A": {}, "B": {}}
        self.reversible: dict[str, list[str]] = {"A": [], "B": []}
        self.posted = 0
        self.placed = 0
        self.captures = 0
        self.captured: set[str] = set()
        self.voided: set[str] = set()
        self.holds: set[str] = set()  # every hold answered OK (placed alone or by a batch)
        for owner in CLIENTS:
            objects = self.objects[owner]
            objects["account"] = self.write(owner, "OpenAccount", opening(_key(), currency="USD")).id
            objects["other_account"] = self.write(owner, "OpenAccount", opening(_key(), currency="USD")).id
            first, second = objects["account"], objects["other_account"]
            objects["deposit"] = self.write(owner, "CreateDeposit", self.deposit(first, "500.00")).id
            objects["transaction"] = objects["deposit"]
            self.write(
                owner,
                "CreateTransfer",
                transactions.CreateTransferRequest(
                    idempotency_key=_key(),
                    transfer=transactions.TransferInput(
                        source_account_id=first, destination_account_id=second, amount="20.00"
                    ),
                ),
            )
            self.write(
                owner,
                "CreateWithdrawal",
                transactions.CreateWithdrawalRequest(
                    idempotency_key=_key(), withdrawal=transactions.WithdrawalInput(account_id=second, amount="5.00")
                ),
            )
            for _ in range(2):
                self.reversible[owner].append(self.write(owner, "CreateDeposit", self.deposit(second, "1.00")).id)
            objects["batch"] = self.write(
                owner,
                "CreateBatch",
                batches.CreateBatchRequest(
                    idempotency_key=_key(),
                    operations=[
                        batches.BatchOperation(deposit=transactions.DepositInput(account_id=second, amount="2.00")),
                        batches.BatchOperation(hold=holds.HoldInput(account_id=second, amount="1.00")),
                    ],
                ),
            ).id
            objects["hold"] = self.place_hold(owner)  # read, never captured nor voided
        # B pays A; A holds money for B's account and captures it: both payees see these.
        self.write(
            "B",
            "CreateTransfer",
            transactions.CreateTransferRequest(
                idempotency_key=_key(),
                transfer=transactions.TransferInput(
                    source_account_id=self.objects["B"]["account"],
                    destination_account_id=self.objects["A"]["account"],
                    amount="7.00",
                ),
            ),
            private=False,
        )
        payee_hold = self.write(
            "A",
            "CreateHold",
            holds.CreateHoldRequest(
                idempotency_key=_key(),
                hold=holds.HoldInput(
                    account_id=self.objects["A"]["account"],
                    destination_account_id=self.objects["B"]["account"],
                    amount="3.00",
                ),
            ),
        ).id
        self.shared.add(payee_hold)
        self.write(
            "A", "CaptureHold", holds.CaptureHoldRequest(idempotency_key=_key(), hold_id=payee_hold), private=False
        )
        for owner in CLIENTS:
            self.objects[owner]["event"] = self._event_of(owner, self.objects[owner]["deposit"])
            self.private[owner].add(self.objects[owner]["event"])

    @staticmethod
    def deposit(account: str, amount: str) -> transactions.CreateDepositRequest:
        return transactions.CreateDepositRequest(
            idempotency_key=_key(), deposit=transactions.DepositInput(account_id=account, amount=amount)
        )

    def ask(
        self, principal: str, name: str, request: Message | bytes, token: str | None = None, **options: float
    ) -> Answer:
        self.requests += 1
        token = token if token is not None else self.tokens.get(principal)
        method = self.rpc[name]
        if method.streaming:
            return stream(self.channel, method, request, token_metadata(token), **options)
        return unary(self.channel, method, request, token_metadata(token))

    def write(self, owner: str, name: str, request: Message, *, private: bool = True) -> Any:
        answer = self.ask(owner, name, request)
        if not answer.ok:
            raise RuntimeError(f"seeding {name} as {owner}: {answer.describe()}")
        self.learn(owner, name, answer, private=private)
        return answer.response

    def place_hold(self, owner: str) -> str:
        """A new pending hold of 1.00 on ``owner``'s first account."""
        request = holds.CreateHoldRequest(
            idempotency_key=_key(), hold=holds.HoldInput(account_id=self.objects[owner]["account"], amount="1.00")
        )
        return self.write(owner, "CreateHold", request).id

    def _event_of(self, owner: str, subject: str) -> str:
        deadline = time.monotonic() + EVENT_TIMEOUT
        while True:
            answer = self.ask(owner, "ListEvents", events.ListEventsRequest(type="transaction.posted", page_size=200))
            if not answer.ok:
                raise RuntimeError(f"seeding: ListEvents as {owner}: {answer.describe()}")
            for event in answer.response.events:
                if event.WhichOneof("data") == "transaction" and event.transaction.id == subject:
                    return event.id
            if time.monotonic() > deadline:
                raise RuntimeError(f"seeding: ListEvents as {owner} lists no event of {subject}")
            time.sleep(0.1)

    def learn(self, owner: str, name: str, answer: Answer, *, private: bool = True) -> None:
        """Note the ids of an OK answer as ``owner``'s (or shared), and what it stored."""
        message = answer.response
        if not isinstance(message, Message) or not (self.rpc[name].writes or name == "OpenAccount"):
            return  # a read stores nothing
        kind = _name(message)
        ids: set[str] = set()
        if kind == "ledger.v1.Transaction":
            ids.add(message.id)
            self.posted += 1
            if message.HasField("hold_id"):
                self.captures += 1
                self.captured.add(message.hold_id)
        elif kind == "ledger.v1.Hold":
            ids.add(message.id)
            if name == "CreateHold":
                self.placed += 1
                self.holds.add(message.id)
            elif name == "VoidHold":
                self.voided.add(message.id)
        elif kind == "ledger.v1.Batch":
            ids |= {message.id} | {t.id for t in message.transactions} | {h.id for h in message.holds}
            self.posted += len(message.transactions)
            self.placed += len(message.holds)
            self.holds |= {h.id for h in message.holds}
        elif kind == "ledger.v1.Account" and name == "OpenAccount":
            ids.add(message.id)
        if private:
            self.private[owner] |= ids
        else:
            self.shared |= ids

    def request(self, name: str, owner: str, principal: str, *, after: bool = False) -> Message:
        """The request of ``name``'s cell on ``owner``'s object (``"nobody"``: ids that do not exist)."""
        objects = self.objects.get(owner, {})

        def mine(kind: str) -> str:
            return objects.get(kind) or str(uuid.uuid4())

        account = mine("account")
        if after:
            message = events.ListEventsRequest if name == "ListEvents" else events.StreamEventsRequest
            return message(after=mine("event"))
        if name == "OpenAccount":
            return opening(_key(), currency="USD", name="authz")
        if name in ("GetAccount", "GetBalance"):
            return getattr(accounts, f"{name}Request")(account_id=account)
        if name == "ListHistory":
            return accounts.ListHistoryRequest(account_id=account, page_size=200)
        if name == "ListAccounts":
            return accounts.ListAccountsRequest(page_size=200)
        if name == "CreateDeposit":
            return self.deposit(account, "1.00")
        if name == "CreateWithdrawal":
            return transactions.CreateWithdrawalRequest(
                idempotency_key=_key(), withdrawal=transactions.WithdrawalInput(account_id=account, amount="1.00")
            )
        if name == "CreateTransfer":
            destination = objects.get("other_account", self.objects["A"]["account"])
            return transactions.CreateTransferRequest(
                idempotency_key=_key(),
                transfer=transactions.TransferInput(
                    source_account_id=account, destination_account_id=destination, amount="1.00"
                ),
            )
        if name == "ReverseTransaction":
            staff_reversal = principal == "staff" and owner in CLIENTS
            target = self.reversible[owner].pop() if staff_reversal else mine("transaction")
            return transactions.ReverseTransactionRequest(
                idempotency_key=_key(), transaction_id=target, reason="authorization matrix"
            )
        if name == "GetTransaction":
            return transactions.GetTransactionRequest(transaction_id=mine("transaction"))
        if name == "ListTransactions":
            return transactions.ListTransactionsRequest(page_size=200)
        if name == "CreateHold":
            return holds.CreateHoldRequest(
                idempotency_key=_key(), hold=holds.HoldInput(account_id=account, amount="1.00", description="authz")
            )
        if name in ("CaptureHold", "VoidHold"):
            hold = self.place_hold(owner) if owner in CLIENTS else str(uuid.uuid4())  # pending, its own
            if name == "CaptureHold":
                return holds.CaptureHoldRequest(
                    idempotency_key=_key(), hold_id=hold, description="authorization matrix"
                )
            return holds.VoidHoldRequest(idempotency_key=_key(), hold_id=hold, reason="authorization matrix")
        if name == "GetHold":
            return holds.GetHoldRequest(hold_id=mine("hold"))
        if name == "ListHolds":
            return holds.ListHoldsRequest(page_size=200)
        if name == "CreateBatch":  # the hold first: a refusal names operation 0
            return batches.CreateBatchRequest(
                idempotency_key=_key(),
                operations=[
                    batches.BatchOperation(hold=holds.HoldInput(account_id=account, amount="1.00")),
                    batches.BatchOperation(deposit=transactions.DepositInput(account_id=account, amount="1.00")),
                ],
            )
        if name == "GetBatch":
            return batches.GetBatchRequest(batch_id=mine("batch"))
        if name == "ListEvents":
            return events.ListEventsRequest(page_size=200)
        if name == "StreamEvents":
            return events.StreamEventsRequest()
        if name == "GetEvent":
            return events.GetEventRequest(event_id=mine("event"))
        raise LookupError(f"no request for {name}")


def expected_code(principal: str, name: str, owner: str, *, after: bool = False) -> grpc.StatusCode:
    if principal in ("anonymous", "wrong token"):
        return grpc.StatusCode.UNAUTHENTICATED
    if name == "ReverseTransaction" and principal != "staff":
        return grpc.StatusCode.PERMISSION_DENIED  # checked first, whosever the transaction
    if after:
        visible = owner in CLIENTS and principal in ("staff", owner)
        return OK if visible else grpc.StatusCode.INVALID_ARGUMENT
    if SHAPES[name] == "own" or owner == "payee":
        return OK
    if owner == "nobody":
        return grpc.StatusCode.NOT_FOUND
    return OK if principal in ("staff", owner) else grpc.StatusCode.NOT_FOUND


def expected_reason(principal: str, code: grpc.StatusCode) -> str | None:
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return "not_authenticated" if principal == "anonymous" else "authentication_failed"
    return REASON.get(code)


def _ids(rows: Any) -> set[str]:
    return {row.id for row in rows}


def _stored(url: str) -> tuple[int, int, int]:
    with connect(url) as db:
        return db.execute(
            """
            SELECT (SELECT COUNT(*) FROM transactions_transaction),
                   (SELECT COUNT(*) FROM transactions_transaction WHERE hold_id IS NOT NULL),
                   (SELECT COUNT(*) FROM accounts_hold)
            """
        ).fetchone()


def run_part(ctx: Context, result: Result, url: str, made: dict[str, str], foreign: set[str] = frozenset()) -> None:
    """The gRPC matrix on the database ``url``, as the clients :data:`API_CLIENTS` (``made``: their tokens), counted
    into ``result`` (scenario 5) beside the REST matrix: figures and violations prefixed "gRPC". ``foreign``:
    ids no client of this matrix may ever see (the REST matrix's). The caller checks the books afterwards."""
    started = time.monotonic()
    tokens = {principal: made[name] for principal, name in CLIENT_NAMES.items()}
    wrong = secrets.token_hex(20)
    before = _stored(url)
    cells: Counter = Counter()
    refusals: dict[tuple[str, str, str], tuple] = {}  # (principal, rpc, "theirs"|"nobody") -> refusal
    violations: list[str] = []
    checked = 0

    def expect(ok: bool, message: str) -> bool:
        nonlocal checked
        checked += 1
        if not ok:
            violations.append(f"gRPC {message}")
        return ok

    with instances(GrpcInstance("authz-grpc", url, ctx.workdir)) as (server,):
        channel = grpc.insecure_channel(server.target)
        world = World(channel, tokens)
        world.private["REST"] |= set(foreign)
        rpc = methods()
        expect(not set(rpc) - set(SHAPES), f"RPCs not in the matrix: {sorted(set(rpc) - set(SHAPES))}")
        expect(not set(SHAPES) - set(rpc), f"the matrix names RPCs the proto lacks: {sorted(set(SHAPES) - set(rpc))}")

        def token_of(principal: str) -> str | None:
            return {"anonymous": None, "wrong token": wrong}.get(principal, tokens.get(principal))

        def check_answer(principal: str, label: str, answer: Answer) -> None:
            """What every answer must be, whatever was expected: a contract refusal; nothing of the other's."""
            for problem in contract_problems(answer):
                expect(False, f"{label}: {problem}")
            if principal not in CLIENTS:
                return
            foreign = world.private["B" if principal == "A" else "A"] | world.private["staff"] | world.private["REST"]
            found = leaks(as_dicts(answer), foreign, world.shared)
            found += [f"refusal={i}" for i in re.findall(UUID_RE, answer.text()) if i in foreign]
            expect(not found, f"{label}: the answer shows another caller's data: {found[:5]}")
            other = tokens["B" if principal == "A" else "A"]
            seen = answer.raw + answer.text().encode() + b"".join(m.SerializeToString() for m in _messages(answer))
            expect(other.encode() not in seen, f"{label}: the answer shows the other client's token")

        def cell(principal: str, name: str, owner: str, *, after: bool = False) -> Answer:
            request = world.request(name, owner, principal, after=after)
            answer = world.ask(principal, name, request, token=token_of(principal) or "")
            code = expected_code(principal, name, owner, after=after)
            reason = expected_reason(principal, code)
            cells[(principal, code.name)] += 1
            label = f"{principal} {name}{' after' if after else ''} ({owner}'s)"
            if expect(answer.code == code, f"{label}: expected {code.name}, got {answer.describe()}") and not answer.ok:
                expect(answer.reason == reason, f"{label}: reason {answer.reason!r}, expected {reason!r}")
            if answer.ok and principal in (*CLIENTS, "staff"):  # whose new object is it? (before the leak check)
                learner = principal if SHAPES[name] == "own" else owner if owner in CLIENTS else "staff"
                world.learn(learner, name, answer)
            check_answer(principal, label, answer)
            if not answer.ok and principal in CLIENTS and owner in (*CLIENTS, "nobody") and owner != principal:
                refusals[
                    (principal, f"{name}{' after' if after else ''}", "nobody" if owner == "nobody" else "theirs")
                ] = answer.refusal()
            return answer

        for name in rpc:
            shape = SHAPES.get(name)
            if shape is None:
                continue
            owners = ("A",) if shape == "own" else ("A", "B", "nobody")
            for owner in owners:
                for principal in PRINCIPALS:
                    cell(principal, name, owner)
            if name in AFTER:
                for owner in ("A", "B", "nobody"):
                    for principal in PRINCIPALS:
                        cell(principal, name, owner, after=True)
            if name == "CreateTransfer":  # a client may pay another client's account
                for payer, payee in (("A", "B"), ("B", "A")):
                    request = transactions.CreateTransferRequest(
                        idempotency_key=_key(),
                        transfer=transactions.TransferInput(
                            source_account_id=world.objects[payer]["account"],
                            destination_account_id=world.objects[payee]["account"],
                            amount="1.00",
                        ),
                    )
                    answer = world.ask(payer, name, request)
                    cells[(payer, OK.name)] += 1
                    label = f"{payer} CreateTransfer to {payee}'s account"
                    expect(answer.ok, f"{label}: expected OK, got {answer.describe()}")
                    if answer.ok:
                        world.learn(payer, name, answer, private=False)
                    check_answer(payer, label, answer)

        # Another client's object is refused exactly as an id that does not exist.
        twins = 0
        for (principal, name, owner), refusal in sorted(refusals.items()):
            twin = refusals.get((principal, name, "nobody"))
            if owner == "theirs" and twin is not None:
                twins += 1
                expect(
                    twin == refusal,
                    f"{principal} {name}: the refusal for another client's object {refusal} differs from the "
                    f"refusal for an id that does not exist {twin}",
                )

        # Lists and streams: staff see both clients' objects, each client only its own.
        def walk(principal: str, name: str) -> set[str]:
            seen: set[str] = set()
            token = ""
            after = ""
            for _ in range(100):
                options = {}
                if name == "ListEvents":
                    request: Message = events.ListEventsRequest(page_size=200, **({"after": after} if after else {}))
                elif name == "StreamEvents":  # patient until it has sent what ListEvents listed, then briefly
                    request = events.StreamEventsRequest()
                    options = {"first": 8.0, "expect": len(walked["ListEvents"][principal])}
                else:
                    request = world.request(name, "A", principal)
                    request.page_token = token
                answer = world.ask(principal, name, request, **options)
                label = f"{principal} {name} (walking the list)"
                check_answer(principal, label, answer)
                if not expect(answer.ok, f"{label}: {answer.describe()}"):
                    return seen
                if name == "StreamEvents":
                    return _ids(answer.response)
                rows = _rows(answer.response)
                seen |= _ids(rows)
                if name == "ListEvents":
                    if not answer.response.more or not rows:
                        return seen
                    after = rows[-1].id
                    continue
                token = answer.response.next_page_token
                if not token:
                    return seen
            expect(False, f"{principal} {name}: more than 100 pages")
            return seen

        lists = {
            "ListAccounts": "account",
            "ListTransactions": "transaction",
            "ListHolds": "hold",
            "ListEvents": "event",
        }
        walked: dict[str, dict[str, set[str]]] = {}
        for name, kind in {**lists, "StreamEvents": "event"}.items():
            seen = {p: walk(p, name) for p in ("A", "B", "staff")}
            for owner in CLIENTS:
                expect(world.objects[owner][kind] in seen["staff"], f"staff's {name} misses {owner}'s {kind}")
                expect(world.objects[owner][kind] in seen[owner], f"{owner}'s {name} misses its own {kind}")
            others = world.private["staff"] | world.private["REST"]
            expect(not (seen["A"] & (world.private["B"] | others)), f"A's {name} shows others' rows")
            expect(not (seen["B"] & (world.private["A"] | others)), f"B's {name} shows others' rows")
            walked[name] = seen
            if name == "StreamEvents":
                for principal in ("A", "B", "staff"):
                    listed = walked["ListEvents"][principal]
                    expect(
                        seen[principal] == listed,
                        f"{principal}'s StreamEvents shows {len(seen[principal])} events, its ListEvents "
                        f"{len(listed)} (not the same: {sorted(seen[principal] ^ listed)[:3]})",
                    )

        # ListHolds filtered on another client's account: the empty page of an account that does not exist.
        for principal, other in (("A", "B"), ("B", "A")):
            pages = {}
            for label, account in (
                ("theirs", world.objects[other]["account"]),
                ("nobody", str(uuid.uuid4())),
                ("own", world.objects[principal]["account"]),
            ):
                for status in (None, "pending"):
                    request = holds.ListHoldsRequest(account_id=account, **({"status": status} if status else {}))
                    answer = world.ask(principal, "ListHolds", request)
                    what = f"{principal} ListHolds on {label} account (status {status})"
                    cells[(principal, OK.name)] += 1
                    expect(answer.ok, f"{what}: {answer.describe()}")
                    check_answer(principal, what, answer)
                    pages[(label, status)] = _ids(answer.response.holds) if answer.ok else None
            for status in (None, "pending"):
                theirs, nobodys = pages[("theirs", status)], pages[("nobody", status)]
                expect(
                    theirs == nobodys == set(),
                    f"{principal} ListHolds on {other}'s account (status {status}): {theirs}, on an account that "
                    f"does not exist: {nobodys}",
                )
                expect(
                    world.objects[principal]["hold"] in (pages[("own", status)] or set()),
                    f"{principal} ListHolds on its own account (status {status}) misses its hold",
                )
        alive = server.serving()
        expect(alive, "the health service does not answer SERVING after the matrix")
        channel.close()

    after = _stored(url)
    stored, captures, placed = (now - then for now, then in zip(after, before, strict=True))
    expect(stored == world.posted, f"{stored} transactions stored, {world.posted} answered OK")
    expect(captures == world.captures, f"{captures} captures stored, {world.captures} answered OK")
    expect(placed == world.placed == len(world.holds), f"{placed} holds stored, {world.placed} answered OK")
    with connect(url) as db:
        held = dict(
            db.execute(
                "SELECT public_id::text, status FROM accounts_hold WHERE public_id::text = ANY(%s)",
                [sorted(world.holds)],
            ).fetchall()
        )
    expect(set(held) == world.holds, f"holds answered OK but not stored: {sorted(world.holds - set(held))[:5]}")
    for hold, status in sorted(held.items()):
        should = "captured" if hold in world.captured else "voided" if hold in world.voided else "pending"
        expect(status == should, f"hold {hold} is {status}, the answers say {should}")

    by_principal: dict[str, Counter] = {p: Counter() for p in PRINCIPALS}
    for (principal, code), count in cells.items():
        by_principal[principal][code] += count
    result.requests += world.requests
    result.checked += checked
    result.violations += violations
    result.figures.update(
        {
            "gRPC methods": f"{len(rpc)} RPCs of {len({m.service for m in rpc.values()})} services from the proto's "
            f"descriptors, {sum(cells.values())} cells; ListEvents and StreamEvents also after each client's event "
            "and one that does not exist",
            **{f"gRPC expected answers to {p}": dict(sorted(c.items())) for p, c in by_principal.items()},
            "gRPC refusal for another client's object = refusal for an id that does not exist": f"{twins} pairs "
            "compared",
            "gRPC transactions stored = answered OK": f"{stored} = {world.posted} ({captures} captures)",
            "gRPC holds stored = answered OK": f"{placed} = {world.placed} ({len(world.captured)} captured, "
            f"{len(world.voided)} voided, the rest pending)",
            "gRPC requests, violations": f"{world.requests} requests, {len(violations)} violations "
            f"in {time.monotonic() - started:.1f} s",
        }
    )


def _messages(answer: Answer) -> list[Message]:
    if not answer.ok or answer.response is None:
        return []
    return answer.response if isinstance(answer.response, list) else [answer.response]


def _rows(response: Message) -> list[Any]:
    """The rows of a list's page: its one repeated field of messages."""
    for descriptor in response.DESCRIPTOR.fields:
        if descriptor.is_repeated and descriptor.message_type is not None:
            return list(getattr(response, descriptor.name))
    return []


def run(ctx: Context) -> Result:
    """The gRPC matrix alone, on a database of its own (scenario 5 runs it after the REST matrix)."""
    result = Result("authz", "5. Authorization matrix")
    started = time.monotonic()
    url = ctx.databases.clone("authz_grpc")
    run_part(ctx, result, url, create_clients(url, API_CLIENTS))
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    result.figures["reconcile"] = line
    result.duration = time.monotonic() - started
    return result

"""Hostile input over gRPC: messages built byte by byte to break the parser, the limits and the checks.

A ``manage.py grpcserver`` on the scenario's database, once the REST cases are done, with a
client of its own. Each case is sent as raw bytes (``channel.unary_unary(path)`` with no
serializers, so nothing the Python library would refuse to build is out of reach) on a fresh
channel, with the client's token unless the metadata is what is under attack, and a deadline of
10 s. The cases:

- sizes: a message just over the 256 KiB limit, one of 4 MiB, one just under; batches of
  100,000 empty operations (200 KB, within the limit), of 1,001 and of 300, of 200 refused ones;
- depth: ``google.protobuf.Struct`` metadata nested 9 (the ledger's bound), 200 and 10,000
  levels deep, lists nested 200 deep;
- invalid UTF-8 in every kind of string field (keys, ids, amounts, currencies, Struct keys and
  values), overlong forms, encoded surrogates;
- the wire format: fields with the wrong wire type, field number 0 and above the largest, wire
  types 6 and 7, groups that never end or never began, varints of 11 bytes, lengths past the end,
  every prefix of a valid request (a few in the short version), random bytes to every method
  that writes or names an object, unknown fields of every wire type (10,000 of them);
- values: amounts such as ``1e400``, ``NaN``, ``-0``, ``0.001``, ``" 1"``, Arabic-Indic and
  fullwidth digits; NaN and infinities in a Struct; timestamps a Timestamp may not hold (year 0,
  year 33,658, nanos out of range) for a balance, a history and a hold's expiry; ids that are
  not UUIDs; idempotency keys of 256 and 10,000 characters, with control characters, NUL or not
  ASCII; a currency, event type, history kind and hold status of 20,000 characters; page sizes
  and page tokens out of bounds or from another list;
- call metadata: a value of 1 MB, an ``authorization`` of 100 KB or 4 KB, of another scheme,
  twice, as binary; an ``x-request-id`` of 100 KB; 2,000 entries;
- methods and services that do not exist; holds captured past their amount or after they left
  ``pending``; the 422 rules (insufficient funds, same account, currency mismatch, a key reused).

Every case expects a contract status (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION,
UNAUTHENTICATED, PERMISSION_DENIED) with a ``google.rpc.ErrorInfo`` of domain ``ledger`` and the
case's reason; only a request beyond gRPC's own limits (the message, or the metadata) may be
RESOURCE_EXHAUSTED from gRPC itself, and only a method that does not exist UNIMPLEMENTED. Never
UNKNOWN or INTERNAL, never the deadline, never a refusal whose trailers a client cannot
receive. After each case nothing was posted (the REST cases' counts: transactions, postings,
keys, accounts, balances, holds, captured amounts, reservations), no write transaction stayed
open longer than ``LOCK_BOUND``, and the health service still answers SERVING. At the end a
deposit posts over gRPC, and the hold every hostile capture and void was refused on is still
pending and whole, is captured in part and voided.
"""

# ruff: noqa: RUF001 -- look-alike characters (fullwidth, Arabic-Indic digits) are what these cases send.
# ruff: noqa: S311 -- pseudo-random bytes for the cases; nothing here is a secret.
from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import grpc

from grpc_api.v1 import accounts_pb2 as accounts
from grpc_api.v1 import batches_pb2 as batches
from grpc_api.v1 import events_pb2 as events
from grpc_api.v1 import holds_pb2 as holds
from grpc_api.v1 import transactions_pb2 as transactions
from harness.books import check_at
from torture.grpc_client import (
    MAX_BODY,
    Answer,
    contract_problems,
    field_number,
    methods,
    opening,
    server_causes,
    token_metadata,
    unary,
)
from torture.hostile import LOCK_BOUND, LockWatch, counts
from torture.infra import Context, GrpcInstance, create_clients, instances
from torture.invariants import reconcile
from torture.report import Result

CLIENT = "hostile-grpc-a"
S = grpc.StatusCode
REFUSALS = (S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.UNAUTHENTICATED, S.PERMISSION_DENIED)
DAY = 86400


# --- The wire format, by hand ------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as protobuf writes them: ten bytes
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint((number << 3) | wire)


def ld(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field (a string, bytes or a message)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return tag(number, 2) + varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def struct(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A google.protobuf.Struct: map<string, Value> fields = 1, each entry {1: key, 2: value}."""
    return b"".join(ld(1, ld(1, key) + ld(2, value)) for key, value in entries)


def value_string(text: bytes) -> bytes:
    return ld(3, text)  # Value.string_value


def value_number(number: float) -> bytes:
    import struct as packing

    return tag(2, 1) + packing.pack("<d", number)  # Value.number_value, a double


def deep_struct(levels: int) -> bytes:
    """A Struct nested ``levels`` deep: {"a": {"a": ... {}}} (three messages per level)."""
    inner = b""
    for _ in range(levels):
        inner = struct([(b"a", ld(5, inner))])  # Value.struct_value
    return inner


def deep_list(levels: int) -> bytes:
    """A Struct {"a": [[[...]]]} with lists nested ``levels`` deep (Value.list_value = 6, ListValue.values = 1)."""
    inner = b""
    for _ in range(levels):
        inner = ld(1, ld(6, inner))
    return struct([(b"a", ld(6, inner))])


def deposit_input(account: bytes | str, amount: bytes | str = "1.00", *extra: bytes) -> bytes:
    return ld(1, account) + ld(2, amount) + b"".join(extra)


# --- The cases ------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    method: str  # an RPC's name, or a path ("/ledger.v1.X/Y") of one that does not exist
    body: bytes
    expected: tuple[grpc.StatusCode, ...]
    reasons: tuple[str, ...] = ()  # acceptable ErrorInfo reasons; empty: any contract code
    metadata: list[tuple[str, str | bytes]] | None = None  # None: the client's token
    size_limited: bool = False  # beyond gRPC's own limits: RESOURCE_EXHAUSTED from gRPC is an answer
    grpc_own: bool = False  # a method that does not exist: gRPC answers UNIMPLEMENTED itself


@dataclass
class Seeded:
    account: str
    other: str
    euro: str
    pending: str  # a hold of 5.00 that every case leaves pending
    captured: str
    voided: str
    transaction: str
    batch: str
    event: str
    funding_key: str
    accounts_token: str  # a next_page_token of ListAccounts (page_size 1)
    history_token: str  # a next_page_token of ``account``'s history
    extra: dict[str, str] = field(default_factory=dict)


def _key() -> bytes:
    return f"hostile-grpc-{uuid.uuid4()}".encode()


def cases(seeded: Seeded, *, short: bool, seed: int) -> list[Case]:
    account, other = seeded.account.encode(), seeded.other.encode()
    rng = random.Random(seed)
    invalid = (S.INVALID_ARGUMENT,)
    validation = ("validation_error",)
    parse = ("parse_error",)
    key_required = ("idempotency_key_required",)

    def dep(name: str, deposit: bytes, reasons=validation, *, key: bytes | None = None, expected=invalid) -> Case:
        limited = expected == (S.RESOURCE_EXHAUSTED,)
        return Case(
            name, "CreateDeposit", ld(1, key or _key()) + ld(2, deposit), expected, reasons, size_limited=limited
        )

    def hold(name: str, hold_input: bytes, reasons=validation, expected=invalid) -> Case:
        return Case(name, "CreateHold", ld(1, _key()) + ld(2, hold_input), expected, reasons)

    def capture(name: str, body: bytes, reasons=validation, expected=invalid, target: bytes | None = None) -> Case:
        return Case(
            name, "CaptureHold", ld(1, _key()) + ld(2, target or seeded.pending.encode()) + body, expected, reasons
        )

    def batch(name: str, operations: bytes, reasons=validation, expected=invalid) -> Case:
        return Case(name, "CreateBatch", ld(1, _key()) + operations, expected, reasons)

    def opened(currency: bytes) -> bytes:
        """An OpenAccountRequest of ``currency``, field numbers as the proto has them (with a key if it has one)."""
        keyed = opening(_key().decode()).SerializeToString()  # the key alone (nothing, if the proto has none)
        return keyed + ld(field_number(accounts.OpenAccountRequest, "currency"), currency)

    valid_deposit = ld(1, b"hostile-grpc-template") + ld(2, deposit_input(account, "1.00", ld(3, "a description")))
    listed: list[Case] = [
        # Sizes.
        dep(
            "a deposit just over the 256 KiB limit",
            deposit_input(account, "1.00", ld(3, "x" * MAX_BODY)),
            (),
            expected=(S.RESOURCE_EXHAUSTED,),
        ),
        Case(
            "a message of 4 MiB",
            "CreateDeposit",
            ld(1, b"k" * (4 * 1024 * 1024)),
            (S.RESOURCE_EXHAUSTED,),
            size_limited=True,
        ),
        dep(
            "a deposit just under 256 KiB (a description far too long)",
            deposit_input(account, "1.00", ld(3, "x" * (MAX_BODY - 120))),
        ),
        batch("a batch of 100,000 empty operations (200 KB, within the limit)", b"\x12\x00" * 100_000),
        batch("a batch of 1,001 empty operations", b"\x12\x00" * 1001),
        batch("a batch of 300 empty operations", b"\x12\x00" * 300),
        batch(
            "a batch of 1,001 deposits",
            ld(2, ld(1, deposit_input(account))) * 1001,
        ),
        batch(
            "a batch of 200 deposits of an amount that is no number", ld(2, ld(1, deposit_input(account, "x"))) * 200
        ),
        batch("a batch with no operation", b""),
        # Depth.
        dep(
            "metadata nested 9 deep (within protobuf's limit, beyond the ledger's)",
            deposit_input(account, "1.00", ld(5, deep_struct(9))),
        ),
        dep("metadata nested 200 deep", deposit_input(account, "1.00", ld(5, deep_struct(200))), parse),
        dep("metadata nested 10,000 deep", deposit_input(account, "1.00", ld(5, deep_struct(10_000))), parse),
        dep("metadata with lists nested 200 deep", deposit_input(account, "1.00", ld(5, deep_list(200))), parse),
        hold("a hold's metadata nested 200 deep", ld(1, account) + ld(2, "1.00") + ld(7, deep_struct(200)), parse),
        # Invalid UTF-8.
        Case(
            "an idempotency key of invalid UTF-8",
            "CreateDeposit",
            ld(1, b"\xff\xfe") + ld(2, deposit_input(account)),
            invalid,
            parse,
        ),
        dep("an account id of invalid UTF-8", deposit_input(account[:-1] + b"\xff"), parse),
        dep("an amount of invalid UTF-8", deposit_input(account, b"1.0\xc3"), parse),
        dep("an overlong '/' (C0 AF) in the description", deposit_input(account, "1.00", ld(3, b"a\xc0\xafb")), parse),
        dep(
            "a UTF-8-encoded surrogate in the reference", deposit_input(account, "1.00", ld(4, b"\xed\xa0\x80")), parse
        ),
        dep(
            "invalid UTF-8 in a metadata key",
            deposit_input(account, "1.00", ld(5, struct([(b"k\xff", value_string(b"v"))]))),
            parse,
        ),
        dep(
            "invalid UTF-8 in a metadata value",
            deposit_input(account, "1.00", ld(5, struct([(b"k", value_string(b"\x80\x80"))]))),
            parse,
        ),
        Case("an account id of invalid UTF-8 (GetAccount)", "GetAccount", ld(1, b"\xfe" * 36), invalid, parse),
        Case("a currency of invalid UTF-8", "OpenAccount", opened(b"US\xc4"), invalid, parse),
        # Wrong wire types, impossible fields.
        Case(
            "the idempotency key (field 1) as a varint",
            "CreateDeposit",
            vi(1, 5) + ld(2, deposit_input(account)),
            invalid,
            (*parse, *key_required),
        ),
        Case(
            "the deposit (field 2) as a varint",
            "CreateDeposit",
            ld(1, _key()) + vi(2, 7),
            invalid,
            (*parse, *validation),
        ),
        Case(
            "the deposit (field 2) as a fixed64",
            "CreateDeposit",
            ld(1, _key()) + tag(2, 1) + b"\x00" * 8,
            invalid,
            (*parse, *validation),
        ),
        dep("the amount as a fixed32", ld(1, account) + tag(2, 5) + b"\x01\x00\x00\x00", (*parse, *validation)),
        Case("an account id as a varint", "GetAccount", vi(1, 12345), (S.INVALID_ARGUMENT, S.NOT_FOUND)),
        Case(
            "a page size as a string, and 500",
            "ListAccounts",
            ld(1, "50") + vi(1, 500),
            invalid,
            ("invalid_page_size",),
        ),
        Case("an end-group tag with no start", "CreateDeposit", tag(1, 4), invalid, parse),
        Case("a group that never ends", "CreateDeposit", tag(7, 3) + vi(1, 1), invalid, parse),
        Case("field number 0", "CreateDeposit", vi(0, 1), invalid, parse),
        Case("wire type 6", "CreateDeposit", tag(1, 6) + b"\x01", invalid, parse),
        Case("wire type 7", "CreateDeposit", tag(1, 7) + b"\x01", invalid, parse),
        Case("a varint of 11 bytes", "ListAccounts", tag(1, 0) + b"\xff" * 10 + b"\x01", invalid, parse),
        Case("a length past the end", "CreateDeposit", tag(1, 2) + varint(1000) + b"abc", invalid, parse),
        Case("a length of 2^64 - 1", "CreateDeposit", tag(1, 2) + varint(-1) + b"abc", invalid, parse),
        Case("field number 2^29 (above the largest)", "CreateDeposit", vi(2**29, 1), invalid, parse),
        # Unknown fields: skipped, and the request refused for what it is.
        dep(
            "unknown fields of every wire type, and an amount of 0.001",
            deposit_input(
                account,
                "0.001",
                vi(99, 1),
                tag(98, 1) + b"\x00" * 8,
                ld(97, "x" * 100),
                tag(96, 5) + b"\x00" * 4,
                tag(95, 3) + vi(1, 1) + tag(95, 4),
            ),
        ),
        Case(
            "10,000 unknown fields in a read of an id that does not exist",
            "GetAccount",
            ld(1, str(uuid.uuid4())) + vi(1000, 1) * 10_000,
            (S.NOT_FOUND,),
            ("not_found",),
        ),
        Case(
            "unknown field 2^29 - 1 (the largest), no idempotency key",
            "CreateDeposit",
            vi(2**29 - 1, 1) + ld(2, deposit_input(account)),
            invalid,
            key_required,
        ),
        # Amounts.
        *[
            dep(f"amount {text!r}", deposit_input(account, text))
            for text in (
                "1e400",
                "NaN",
                "-0",
                "0.001",
                " 1",
                "١٢",
                "１０.００",
                "Infinity",
                "-1.00",
                "0",
                "",
                "1.005",
                "10.00\u00a0",
                "1000000000000000",
                "9" * 5000,
                "1e-400",
                "0x10",
            )
        ],
        hold("a hold of 1e400", ld(1, account) + ld(2, "1e400")),
        hold("a hold of -0", ld(1, account) + ld(2, "-0")),
        capture("a capture of NaN", ld(3, "NaN")),
        capture("a capture of 0.001", ld(3, "0.001")),
        # Struct numbers JSON cannot carry.
        dep("NaN in the metadata", deposit_input(account, "1.00", ld(5, struct([(b"x", value_number(float("nan")))])))),
        dep(
            "Infinity in the metadata",
            deposit_input(account, "1.00", ld(5, struct([(b"x", value_number(float("inf")))]))),
        ),
        hold(
            "-Infinity in a hold's metadata",
            ld(1, account) + ld(2, "1.00") + ld(7, struct([(b"x", value_number(float("-inf")))])),
        ),
        # Instants a Timestamp may not hold.
        Case(
            "a balance at the year 33,658 (Timestamp seconds 10^12)",
            "GetBalance",
            ld(1, account) + ld(2, vi(1, 10**12)),
            invalid,
            validation,
        ),
        Case(
            "a balance at the year 0",
            "GetBalance",
            ld(1, account) + ld(2, vi(1, -62135596801)),
            invalid,
            validation,
        ),
        Case(
            "a balance at negative nanos",
            "GetBalance",
            ld(1, account) + ld(2, vi(1, 1_700_000_000) + vi(2, -1)),
            invalid,
            validation,
        ),
        Case(
            "a history after the year 33,658",
            "ListHistory",
            ld(1, account) + ld(3, vi(1, 10**12)),
            invalid,
            validation,
        ),
        hold(
            "a hold expiring at the year 33,658",
            ld(1, account) + ld(2, "1.00") + ld(4, vi(1, 10**12)),
        ),
        hold(
            "a hold expiring with nanos of 2^31 - 1",
            ld(1, account) + ld(2, "1.00") + ld(4, vi(1, int(time.time()) + DAY) + vi(2, 2**31 - 1)),
        ),
        hold("a hold expiring an hour ago", ld(1, account) + ld(2, "1.00") + ld(4, vi(1, int(time.time()) - 3600))),
        hold("a hold expiring in 31 days", ld(1, account) + ld(2, "1.00") + ld(4, vi(1, int(time.time()) + 31 * DAY))),
        # Ids that are not UUIDs.
        *[
            Case(f"{what} {label}", method, ld(number, value), (S.NOT_FOUND,), ("not_found",))
            for label, value in (
                ("' OR 1=1 --", b"' OR 1=1 --"),
                ("of 3,000 characters", b"a" * 3000),
                ("empty", b""),
                ("in fullwidth digits", seeded.account.translate(_FULLWIDTH).encode()),
                ("with a NUL character", seeded.account.encode()[:-1] + b"\x00"),
                ("in braces", b"{" + account + b"}"),
                ("as a URN", b"urn:uuid:" + account),
                ("without hyphens", account.replace(b"-", b"")),
            )
            for what, method, number in (("account id", "GetAccount", 1), ("hold id", "GetHold", 1))
        ],
        Case(
            "a transaction id of 3,000 characters", "GetTransaction", ld(1, "7" * 3000), (S.NOT_FOUND,), ("not_found",)
        ),
        Case(
            "a transaction id and a newline",
            "GetTransaction",
            ld(1, f"{seeded.transaction}\n"),
            (S.NOT_FOUND,),
            ("not_found",),
        ),
        Case("a batch id and a space", "GetBatch", ld(1, f"{seeded.batch} "), (S.NOT_FOUND,), ("not_found",)),
        Case(
            "an event id in fullwidth digits",
            "GetEvent",
            ld(1, seeded.event.translate(_FULLWIDTH)),
            (S.NOT_FOUND,),
            ("not_found",),
        ),
        Case(
            "a batch id with SQL", "GetBatch", ld(1, "1; DROP TABLE accounts_account"), (S.NOT_FOUND,), ("not_found",)
        ),
        Case("an event id that is not one", "GetEvent", ld(1, "../../etc/passwd"), (S.NOT_FOUND,), ("not_found",)),
        capture("a capture of a hold id that is not one", b"", ("not_found",), (S.NOT_FOUND,), b"not-a-uuid"),
        Case(
            "a void of a hold id with a NUL character",
            "VoidHold",
            ld(1, _key()) + ld(2, seeded.pending.encode()[:-1] + b"\x00"),
            (S.NOT_FOUND,),
            ("not_found",),
        ),
        dep(
            "a deposit to an account id that is not one",
            deposit_input(b"' OR 1=1 --"),
            expected=(S.INVALID_ARGUMENT, S.NOT_FOUND),
            reasons=("validation_error", "not_found"),
        ),
        Case(
            "a reversal by a client, of an id that is not one",
            "ReverseTransaction",
            ld(1, _key()) + ld(2, "x" * 3000) + ld(3, "why"),
            (S.PERMISSION_DENIED,),
            ("permission_denied",),
        ),
        # Idempotency keys.
        *[
            dep(f"an idempotency key {label}", deposit_input(account), key_required, key=value)
            for label, value in (
                ("of 256 characters", b"k" * 256),
                ("of 10,000 characters", b"k" * 10_000),
                ("with a control character", b"key\x01bell"),
                ("with a newline", b"key\nline"),
                ("with DEL", b"key\x7f"),
                ("with a NUL character", b"key\x00nul"),
                ("not ASCII", "ключ-🔑".encode()),
            )
        ],
        Case("no idempotency key", "CreateDeposit", ld(2, deposit_input(account)), invalid, key_required),
        Case("a capture with no idempotency key", "CaptureHold", ld(2, seeded.pending), invalid, key_required),
        # Long values: a refusal that repeats them would not fit gRPC's metadata limits.
        Case("a currency of 20,000 characters", "OpenAccount", opened(b"U" * 20_000), invalid, validation),
        Case("an event type of 20,000 characters", "ListEvents", ld(2, "t" * 20_000), invalid, validation),
        Case(
            "a history kind of 20,000 characters",
            "ListHistory",
            ld(1, account) + ld(2, "k" * 20_000),
            invalid,
            validation,
        ),
        Case("a hold status of 20,000 characters", "ListHolds", ld(1, "s" * 20_000), invalid, validation),
        # Pages.
        Case("a page size of -1", "ListAccounts", vi(1, -1), invalid, ("invalid_page_size",)),
        Case("a page size of 2^31 - 1", "ListEvents", vi(3, 2**31 - 1), invalid, ("invalid_page_size",)),
        Case("a page token of 3,000 characters", "ListTransactions", ld(3, "A" * 3000), invalid, ("invalid_cursor",)),
        Case(
            "an accounts page token in the transactions list",
            "ListTransactions",
            ld(3, seeded.accounts_token),
            invalid,
            ("invalid_cursor",),
        ),
        Case(
            "one account's history token in another's history",
            "ListHistory",
            ld(1, other) + ld(6, seeded.history_token),
            invalid,
            ("invalid_cursor",),
        ),
        Case("events after an id that is not one", "ListEvents", ld(1, "zzz"), invalid, validation),
        Case("transactions of an unknown kind", "ListTransactions", ld(1, "reversal; --"), invalid, validation),
        # The 422 rules, and holds that left pending.
        Case(
            "a withdrawal of more than the balance",
            "CreateWithdrawal",
            ld(1, _key()) + ld(2, deposit_input(account, "999999.00")),
            (S.FAILED_PRECONDITION,),
            ("insufficient_funds",),
        ),
        Case(
            "a transfer to the same account",
            "CreateTransfer",
            ld(1, _key()) + ld(2, ld(1, account) + ld(2, account) + ld(3, "1.00")),
            (S.FAILED_PRECONDITION,),
            ("same_account",),
        ),
        Case(
            "a transfer to a EUR account",
            "CreateTransfer",
            ld(1, _key()) + ld(2, ld(1, account) + ld(2, seeded.euro) + ld(3, "1.00")),
            (S.FAILED_PRECONDITION,),
            ("currency_mismatch",),
        ),
        dep(
            "the funding deposit's key, with another amount",
            deposit_input(account, "2.00"),
            ("idempotency_key_reused",),
            key=seeded.funding_key.encode(),
            expected=(S.FAILED_PRECONDITION,),
        ),
        capture(
            "a capture above the hold (6.00 of 5.00)",
            ld(3, "6.00"),
            ("capture_exceeds_hold",),
            (S.FAILED_PRECONDITION,),
        ),
        capture(
            "a capture of a captured hold",
            b"",
            ("hold_not_pending",),
            (S.FAILED_PRECONDITION,),
            seeded.captured.encode(),
        ),
        capture(
            "a final capture of a voided hold",
            ld(3, "0.01") + vi(4, 1),
            ("hold_not_pending",),
            (S.FAILED_PRECONDITION,),
            seeded.voided.encode(),
        ),
        Case(
            "a void of a voided hold",
            "VoidHold",
            ld(1, _key()) + ld(2, seeded.voided),
            (S.FAILED_PRECONDITION,),
            ("hold_not_pending",),
        ),
        capture("a capture with a description of 501 characters", ld(5, "d" * 501)),
        Case(
            "a void with a reason of 501 characters",
            "VoidHold",
            ld(1, _key()) + ld(2, seeded.pending) + ld(3, "r" * 501),
            invalid,
            validation,
        ),
        batch(
            "a batch: a deposit, then a hold of NaN",
            ld(2, ld(1, deposit_input(account))) + ld(2, ld(4, ld(1, account) + ld(2, "NaN"))),
        ),
        batch(
            "a batch: holds beyond the available balance",
            ld(2, ld(4, ld(1, account) + ld(2, "600.00"))) * 2,
            ("insufficient_funds",),
            (S.FAILED_PRECONDITION,),
        ),
        # Call metadata.
        Case(
            "a metadata value of 1 MB",
            "CreateDeposit",
            valid_deposit,
            (S.RESOURCE_EXHAUSTED,),
            metadata=[("x-filler", "a" * 1_000_000)],
            size_limited=True,
        ),
        Case(
            "an authorization of 100 KB",
            "CreateDeposit",
            valid_deposit,
            (S.RESOURCE_EXHAUSTED, S.UNAUTHENTICATED),
            metadata=[("authorization", "Token " + "a" * 100_000)],
            size_limited=True,
        ),
        Case(
            "an x-request-id of 100 KB",
            "CreateDeposit",
            valid_deposit,
            (S.RESOURCE_EXHAUSTED,),
            metadata=[("x-request-id", "r" * 100_000)],
            size_limited=True,
        ),
        Case(
            "2,000 metadata entries",
            "CreateDeposit",
            valid_deposit,
            (S.RESOURCE_EXHAUSTED,),
            metadata=[(f"x-filler-{i}", "x") for i in range(2000)],
            size_limited=True,
        ),
        Case(
            "an authorization of 4 KB",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("authentication_failed",),
            metadata=[("authorization", "Token " + "a" * 4000)],
        ),
        Case(
            "authorization: Bearer with the right token",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("authentication_failed",),
            metadata=[("authorization", f"Bearer {seeded.extra['token']}")],
        ),
        Case(
            "authorization: Token, no key",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("authentication_failed",),
            metadata=[("authorization", "Token")],
        ),
        Case(
            "authorization: the right token and one more word",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("authentication_failed",),
            metadata=[("authorization", f"Token {seeded.extra['token']} x")],
        ),
        Case(
            "two authorizations, a wrong one first",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("authentication_failed",),
            metadata=[("authorization", "Token wrong"), ("authorization", f"Token {seeded.extra['token']}")],
        ),
        Case(
            "the token as binary metadata (authorization-bin)",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("not_authenticated",),
            metadata=[("authorization-bin", f"Token {seeded.extra['token']}".encode())],
        ),
        Case(
            "a token of SQL",
            "CreateDeposit",
            valid_deposit,
            (S.UNAUTHENTICATED,),
            ("authentication_failed",),
            metadata=[("authorization", "Token ' OR '1'='1")],
        ),
        # Methods that do not exist.
        Case(
            "a method the service lacks",
            "/ledger.v1.AccountService/DeleteAccount",
            b"",
            (S.UNIMPLEMENTED,),
            grpc_own=True,
        ),
        Case("a service that does not exist", "/ledger.v1.VaultService/Open", b"", (S.UNIMPLEMENTED,), grpc_own=True),
        Case(
            "a path outside the package",
            "/ledger.v2.AccountService/GetAccount",
            ld(1, account),
            (S.UNIMPLEMENTED,),
            grpc_own=True,
        ),
    ]
    # Every prefix of a valid deposit, or some in the short version: never a request that posts.
    template = ld(1, _key()) + ld(2, deposit_input(account, "1.00", ld(3, "truncated")))
    cuts = list(range(len(template)))
    if short:
        cuts = sorted({0, 1, 2, len(template) - 1, *rng.sample(cuts, 6)})
    listed += [
        Case(f"a deposit cut at byte {n} of {len(template)}", "CreateDeposit", template[:n], invalid) for n in cuts
    ]
    # Random bytes to every method that writes or names an object.
    targets = [name for name, method in methods().items() if method.writes or not name.startswith(("List", "Stream"))]
    targets.remove("OpenAccount")  # random bytes could name a currency; they never do, but keep the books still
    for number in range(12 if short else 200):
        name = targets[number % len(targets)]
        size = rng.choice((1, 2, 5, 16, 64, 300, 4000))
        body = bytes(rng.getrandbits(8) for _ in range(size))
        listed.append(Case(f"{size} random bytes to {name} (#{number})", name, body, REFUSALS))
    return listed


_FULLWIDTH = str.maketrans("0123456789abcdef", "０１２３４５６７８９ａｂｃｄｅｆ")


# --- Running them ---------------------------------------------------------------------------------


class World:
    """The client's accounts (one funded), holds (one pending, one captured, one voided) and tokens, over gRPC."""

    def __init__(self, target: str, token: str) -> None:
        self.channel = grpc.insecure_channel(target)
        self.metadata = token_metadata(token)
        self.rpc = methods()
        self.requests = 0
        self.token = token

    def ask(self, name: str, request) -> Answer:
        self.requests += 1
        return unary(self.channel, self.rpc[name], request, self.metadata)

    def must(self, name: str, request):
        answer = self.ask(name, request)
        if not answer.ok:
            raise RuntimeError(f"seeding {name}: {answer.describe()}")
        return answer.response

    def seed(self) -> Seeded:
        account = self.must("OpenAccount", opening(_key().decode(), currency="USD", name="hostile")).id
        other = self.must("OpenAccount", opening(_key().decode(), currency="USD")).id
        euro = self.must("OpenAccount", opening(_key().decode(), currency="EUR")).id
        funding_key = f"hostile-grpc-funding-{uuid.uuid4()}"
        funded = self.must(
            "CreateDeposit",
            transactions.CreateDepositRequest(
                idempotency_key=funding_key, deposit=transactions.DepositInput(account_id=account, amount="1000.00")
            ),
        )
        batch = self.must(
            "CreateBatch",
            batches.CreateBatchRequest(
                idempotency_key=_key().decode(),
                operations=[batches.BatchOperation(deposit=transactions.DepositInput(account_id=other, amount="1.00"))],
            ),
        )
        placed = [
            self.must(
                "CreateHold",
                holds.CreateHoldRequest(
                    idempotency_key=_key().decode(), hold=holds.HoldInput(account_id=account, amount=amount)
                ),
            ).id
            for amount in ("5.00", "2.00", "3.00")
        ]
        pending, captured, voided = placed
        self.must("CaptureHold", holds.CaptureHoldRequest(idempotency_key=_key().decode(), hold_id=captured))
        self.must("VoidHold", holds.VoidHoldRequest(idempotency_key=_key().decode(), hold_id=voided))
        listed = self.must("ListAccounts", accounts.ListAccountsRequest(page_size=1))
        self.must("CreateDeposit", transactions.CreateDepositRequest(
            idempotency_key=_key().decode(), deposit=transactions.DepositInput(account_id=account, amount="1.00")
        ))  # fmt: skip
        history = self.must("ListHistory", accounts.ListHistoryRequest(account_id=account, page_size=1))
        event = ""
        for _ in range(100):
            found = self.must("ListEvents", events.ListEventsRequest(page_size=1))
            if found.events:
                event = found.events[0].id
                break
            time.sleep(0.1)
        return Seeded(
            account=account,
            other=other,
            euro=euro,
            pending=pending,
            captured=captured,
            voided=voided,
            transaction=funded.id,
            batch=batch.id,
            event=event,
            funding_key=funding_key,
            accounts_token=listed.next_page_token,
            history_token=history.next_page_token,
            extra={"token": self.token},
        )


def judge(case: Case, answer: Answer) -> list[str]:
    """What is wrong with ``answer`` to ``case``, one line (nothing: it passed)."""
    wanted = "/".join(code.name for code in case.expected)
    if case.grpc_own:
        return [] if answer.code in case.expected else [f"expected {wanted}, got {answer.describe()}"]
    problems = contract_problems(answer, size_limited=case.size_limited)
    if answer.code not in case.expected:
        trailers = any("trailing metadata" in problem for problem in problems)
        why = (
            "; the answer's trailing metadata is over gRPC's default limit, so the client never sees the "
            "ledger's status"
            if trailers
            else ""
        )
        return [f"expected {wanted}, got {answer.describe()}{why}"]
    if problems:
        return problems
    if case.reasons and answer.reason not in case.reasons:
        return [f"reason {answer.reason!r}, expected {'/'.join(case.reasons)}"]
    return []


def run_part(ctx: Context, result: Result, url: str, token: str) -> None:
    """The gRPC cases on the database ``url`` as the client whose token is ``token``, counted into ``result``
    (scenario 6) beside the REST cases: figures and violations prefixed "gRPC". The caller checks the books."""
    started = time.monotonic()
    violations: list[str] = []
    checked = 0

    def expect(ok: bool, message: str) -> bool:
        nonlocal checked
        checked += 1
        if not ok:
            violations.append(f"gRPC {message}")
        return ok

    answers: dict[str, str] = {}
    internal: dict[int, str] = {}  # a violation's index -> its answer's request id, to find the server's cause
    lock_ages: dict[str, float] = {}
    codes: Counter = Counter()
    with instances(GrpcInstance("hostile-grpc", url, ctx.workdir)) as (server,):
        world = World(server.target, token)
        seeded = world.seed()
        every = cases(seeded, short=ctx.short, seed=ctx.seed)
        rpc = methods()
        watch = LockWatch(url)
        with watch:
            for case in every:
                method = rpc.get(case.method) or _Path(case.method)
                metadata = world.metadata if case.metadata is None else case.metadata
                before = counts(url)
                watch.start_case()
                with grpc.insecure_channel(server.target) as channel:  # a fresh channel, as REST's fresh connection
                    answer = unary(channel, method, case.body, metadata)  # type: ignore[arg-type]
                lock_ages[case.name] = watch.end_case()
                alive = server.serving(timeout=5)  # on a channel of its own
                world.requests += 2
                codes[answer.code.name] += 1
                answers[case.name] = f"{answer.code.name} {answer.reason or ''}".strip()
                for problem in judge(case, answer):
                    expect(False, f"{case.name} ({case.method}): {problem}")
                    internal[len(violations) - 1] = answer.metadata.get("request_id", "")
                checked += 1
                after = counts(url)
                expect(after == before, f"{case.name}: the database changed: {before} -> {after}")
                expect(
                    lock_ages[case.name] < LOCK_BOUND,
                    f"{case.name}: a write transaction stayed open {lock_ages[case.name]:.2f} s (bound {LOCK_BOUND} s)",
                )
                healthy = expect(
                    alive and server.alive, f"after {case.name}: the health service does not answer SERVING"
                )
                if not healthy and not server.alive:
                    violations.append(f"gRPC the server died after {case.name}:\n{server.log_tail()}")
                    break
        expect(watch.error is None, f"the lock watcher failed: {watch.error}")
        expect(watch.samples >= len(every), f"the lock watcher looked only {watch.samples} times")
        # Afterwards: a deposit posts, the hold every hostile capture and void was refused on is whole, and works.
        posted = world.ask(
            "CreateDeposit",
            transactions.CreateDepositRequest(
                idempotency_key=_key().decode(),
                deposit=transactions.DepositInput(account_id=seeded.account, amount="2.50"),
            ),
        )
        still = world.ask("GetHold", holds.GetHoldRequest(hold_id=seeded.pending))
        part = world.ask(
            "CaptureHold",
            holds.CaptureHoldRequest(idempotency_key=_key().decode(), hold_id=seeded.pending, amount="1.25"),
        )
        rest = world.ask("VoidHold", holds.VoidHoldRequest(idempotency_key=_key().decode(), hold_id=seeded.pending))
        expect(posted.ok, f"a normal deposit after the hostile input: {posted.describe()}")
        expect(
            still.ok and still.response.status == "pending" and still.response.remaining_amount == "5.00",
            f"the hold every hostile case was refused on: {still.describe()}",
        )
        expect(
            part.ok and part.response.hold_id == seeded.pending and part.response.amount == "1.25",
            f"a capture of 1.25 after the hostile input: {part.describe()}",
        )
        expect(
            rest.ok and rest.response.status == "voided" and rest.response.captured_amount == "1.25",
            f"a void of the rest: {rest.describe()}",
        )
        world.channel.close()

    causes = server_causes(server.log)  # the server has stopped: its log is complete
    for index, request_id in internal.items():
        if causes.get(request_id):
            violations[index] += f" (server: {causes[request_id]})"
    result.requests += world.requests
    result.checked += checked
    result.violations += violations
    result.figures.update(
        {
            "gRPC cases": [f"{name}: {answer}" for name, answer in answers.items()],
            "gRPC answers": dict(sorted(codes.items())),
            "gRPC after each case": "nothing posted (the same counts as the REST cases), the health service SERVING",
            "gRPC longest write transaction open during a case (s)": round(max(lock_ages.values(), default=0.0), 3),
            "gRPC afterwards": "a deposit posts; the hold every hostile capture and void was refused on is still "
            "pending and whole, is captured in part and voided",
            "gRPC requests, violations": f"{world.requests} requests, {len(violations)} violations "
            f"in {time.monotonic() - started:.1f} s",
        }
    )


@dataclass(frozen=True)
class _Path:
    """A method that does not exist: only its path (``unary`` needs no more to be refused)."""

    path: str


def run(ctx: Context) -> Result:
    """The gRPC cases alone, on a database of their own (scenario 6 runs them after the REST cases)."""
    result = Result("hostile", "6. Hostile input")
    started = time.monotonic()
    url = ctx.databases.clone("hostile_grpc")
    run_part(ctx, result, url, create_clients(url, {CLIENT: False})[CLIENT])
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    result.figures["reconcile"] = line
    result.duration = time.monotonic() - started
    return result

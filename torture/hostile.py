"""Scenario 6, hostile input: requests built to break parsers, limits and assumptions.

Each case is sent on a fresh connection with client A's valid token (and a valid, fresh
``Idempotency-Key`` unless the key is what is under attack): huge bodies, JSON nested far too
deep, long and non-ASCII idempotency keys, odd Unicode where only ASCII belongs (digits,
currency codes, ids), lone surrogates and NUL characters, numbers with thousands of digits,
duplicate JSON keys, wrong or lying content types and charsets, and odd paths.

Holds get their own cases (:func:`hold_cases`): huge and deep metadata, amounts with enormous
exponents, zero and negative amounts, ``expires_at`` strings that are huge, far in the future,
in the past or written with other scripts' digits, hold ids in the path that are no UUID or far
too long, ``final`` of every wrong type, captures above what the hold reserves, and captures and
voids of holds that already left ``pending``, also as a batch's ``{"kind": "hold"}`` operations.

Every case expects a clear 4xx: a problem document with the contract's code when the app
answers, or gunicorn's own 4xx when the HTTP request itself is beyond its limits (a request
line or a header field too long, too many headers). After each case: nothing was posted
(transactions, postings, idempotency records, accounts, balances, holds, what they captured and
what the accounts reserve, counted in the database) and ``/healthz`` still answers. While each
case runs, a watcher polls ``pg_stat_activity`` for the oldest open write transaction of the
service (one that locked a row): none may stay open longer than ``LOCK_BOUND`` seconds, far
above normal work (a few milliseconds), so no input is ever parsed or normalised under a lock.
At the end a normal deposit still posts, a hold is placed, captured in part and voided, and the
books balance.

Then the same kind of attack is made over gRPC (:mod:`torture.hostile_grpc`), on the same
database, against a ``manage.py grpcserver``: raw messages built byte by byte (sizes, depth,
invalid UTF-8, wrong wire types, truncation, random bytes, odd amounts, ids and keys, oversized
metadata), each expecting a contract status with its ``google.rpc.ErrorInfo``, never UNKNOWN or
INTERNAL nor a hang, and nothing posted. Its figures and violations are prefixed "gRPC"; the
books and ``reconcile`` are checked once both are done.
"""

# ruff: noqa: RUF001 -- look-alike characters (fullwidth, Arabic-Indic digits) are what these cases send.
from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

from harness.books import check_at
from torture.client import Connection, Reply, api_headers, call, open_accounts
from torture.infra import Context, Instance, create_clients, instances
from torture.invariants import connect, reconcile
from torture.known import known_bug
from torture.report import Result

MAX_BODY = 256 * 1024  # DJANGO_MAX_BODY_BYTES, the default
LOCK_BOUND = 2.0  # seconds a write transaction may stay open during a case; normal work takes milliseconds
# Combining marks, an emoji, right-to-left override and embedding, a zero-width space, Arabic, astral letters.
ODD_NAME = "Zoe\u0301 \U0001f9fe \u202eabc\u202c \u200b \u0645\u0631\u062d\u0628\u0627 \U0001d518\U0001d52b"


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: bytes | None
    expected: tuple[int, ...]  # acceptable statuses
    code: str | None = None  # the problem code, when the app answers
    headers: dict[str, str | bytes] = field(default_factory=dict)
    key: str | bytes | None = "fresh"  # "fresh": a new valid key; None: no key header
    problem: bool = True  # False: gunicorn answers before the app, with its own 4xx


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def cases(account: str, other: str, batch: str) -> list[Case]:
    deposit = "/api/v1/deposits/"
    transfer = "/api/v1/transfers/"
    ok = {"account_id": account, "amount": "1.00"}

    def dep(name: str, raw: bytes, code: str = "validation_error", expected: tuple[int, ...] = (400,)) -> Case:
        return Case(name, "POST", deposit, raw, expected, code)

    deep_array = b"[" * 100_000 + b"]" * 100_000
    deep_meta = b'{"account_id": "%s", "amount": "1.00", "metadata": %s}' % (
        account.encode(),
        b'{"a": ' * 40 + b"1" + b"}" * 40,
    )
    thousand_digits = "9" * 5000
    return [
        # Sizes.
        Case(
            "body just over the limit (256 KiB + 1)",
            "POST",
            deposit,
            _json({**ok, "description": "x" * MAX_BODY}),
            (413,),
            "payload_too_large",
        ),
        Case("1 MiB body", "POST", deposit, b" " * (1024 * 1024), (413,), "payload_too_large"),
        Case(
            "batch of 1001 operations",
            "POST",
            "/api/v1/batches/",
            _json({"operations": [{"kind": "deposit", **ok}] * 1001}),
            (400,),
            "validation_error",
        ),
        # Depth.
        dep("JSON nested 100,000 deep", deep_array, "parse_error"),
        dep("metadata nested 40 deep", deep_meta, "parse_error"),
        # Idempotency keys.
        Case(
            "idempotency key of 256 characters",
            "POST",
            deposit,
            _json(ok),
            (400,),
            "idempotency_key_required",
            key="k" * 256,
        ),
        Case(
            "idempotency key of 8,000 characters",
            "POST",
            deposit,
            _json(ok),
            (400,),
            "idempotency_key_required",
            key="k" * 8000,
        ),
        Case(
            "idempotency key of 20,000 characters (beyond gunicorn's header limit)",
            "POST",
            deposit,
            _json(ok),
            (400, 431),
            key="k" * 20_000,
            problem=False,
        ),
        Case("empty idempotency key", "POST", deposit, _json(ok), (400,), "idempotency_key_required", key=""),
        Case(
            "non-ASCII idempotency key (UTF-8)",
            "POST",
            deposit,
            _json(ok),
            (400,),
            "idempotency_key_required",
            key="ключ-🔑".encode(),
        ),
        Case(
            "idempotency key with a control character (gunicorn refuses the header)",
            "POST",
            deposit,
            _json(ok),
            (400,),
            key="key\x01bell",
            problem=False,
        ),
        Case("no idempotency key", "POST", deposit, _json(ok), (400,), "idempotency_key_required", key=None),
        # Odd Unicode where only ASCII belongs, and characters PostgreSQL cannot store.
        dep("fullwidth digits in the amount", _json({**ok, "amount": "１０.００"})),
        dep("Arabic-Indic digits in the amount", _json({**ok, "amount": "١٠"})),
        dep("amount with a no-break space", _json({**ok, "amount": "10.00\u00a0"})),
        dep("amount with a Unicode minus sign", _json({**ok, "amount": "\u22121.00"})),
        Case(
            "fullwidth currency code on an account",
            "POST",
            "/api/v1/accounts/",
            _json({"currency": "ＵＳＤ"}),
            (400,),
            "validation_error",
            key=None,
        ),
        dep("account id in fullwidth digits", _json({**ok, "account_id": account.translate(_FULLWIDTH)})),
        dep(
            "lone surrogate in the description",
            b'{"account_id": "%s", "amount": "1.00", "description": "\\ud800"}' % account.encode(),
        ),
        dep("NUL character in the description", _json({**ok, "description": "a\u0000b"})),
        dep("NUL character in the metadata", _json({**ok, "metadata": {"note": "a\u0000b"}})),
        dep("NUL character in a metadata key", _json({**ok, "metadata": {"a\u0000b": 1}})),
        dep(
            "lone surrogate in the metadata",
            b'{"account_id": "%s", "amount": "1.00", "metadata": {"x": "\\udfff"}}' % account.encode(),
        ),
        dep("body in UTF-16", json.dumps(ok).encode("utf-16"), "parse_error"),
        dep("body with a UTF-8 byte order mark", b"\xef\xbb\xbf" + _json(ok), "parse_error"),
        dep(
            "invalid UTF-8 in a string",
            b'{"account_id": "%s", "amount": "1.00", "description": "\xff\xfe"}' % account.encode(),
            "parse_error",
        ),
        # Numbers.
        dep(
            "amount: an integer of 5,000 digits",
            b'{"account_id": "%s", "amount": %s}' % (account.encode(), thousand_digits.encode()),
            "parse_error",
        ),
        dep("amount: a string of 5,000 digits", _json({**ok, "amount": thousand_digits})),
        dep(
            "amount: a decimal with 5,000 fraction digits (longer than any number may be)",
            b'{"account_id": "%s", "amount": 0.%s1}' % (account.encode(), b"0" * 5000),
            "parse_error",
        ),
        dep(
            "amount: exactly 1, written as 1 and 150,000 zeros e-150000 (once normalised under a lock)",
            b'{"account_id": "%s", "amount": 1%se-150000}' % (account.encode(), b"0" * 150_000),
            "parse_error",
        ),
        dep("amount: USD 1.000 (three places as written)", _json({**ok, "amount": "1.000"})),
        dep("amount: a trailing newline", _json({**ok, "amount": "10\n"})),
        dep("amount: 1e999999999", b'{"account_id": "%s", "amount": 1e999999999}' % account.encode()),
        dep("amount: 1E-999999999", b'{"account_id": "%s", "amount": 1E-999999999}' % account.encode()),
        dep("amount: NaN", b'{"account_id": "%s", "amount": NaN}' % account.encode(), "parse_error"),
        dep("amount: Infinity", b'{"account_id": "%s", "amount": Infinity}' % account.encode(), "parse_error"),
        dep('amount: "NaN"', _json({**ok, "amount": "NaN"})),
        dep('amount: "-0"', _json({**ok, "amount": "-0"})),
        dep("amount: 10^15", _json({**ok, "amount": "1000000000000000"})),
        dep("amount: true", _json({**ok, "amount": True})),
        Case(
            "page_size of 5,000 digits",
            "GET",
            f"/api/v1/accounts/?page_size={'9' * 3000}",
            None,
            (400,),
            "invalid_page_size",
            key=None,
        ),
        Case(
            "cursor of 3,000 characters",
            "GET",
            f"/api/v1/accounts/?cursor={'A' * 3000}",
            None,
            (400,),
            "invalid_cursor",
            key=None,
        ),
        Case(
            "balance at the year 99999",
            "GET",
            f"/api/v1/accounts/{account}/balance/?at=99999-01-01T00:00:00Z",
            None,
            (400,),
            "validation_error",
            key=None,
        ),
        # Duplicate keys and odd JSON.
        dep(
            "duplicate key: amount twice",
            b'{"account_id": "%s", "amount": "1.00", "amount": "900.00"}' % account.encode(),
            "parse_error",
        ),
        dep(
            "duplicate key inside the metadata",
            b'{"account_id": "%s", "amount": "1.00", "metadata": {"a": 1, "a": 2}}' % account.encode(),
            "parse_error",
        ),
        Case(
            "duplicate key in a transfer",
            "POST",
            transfer,
            b'{"source_account_id": "%s", "destination_account_id": "%s", "destination_account_id": "%s", '
            b'"amount": "1.00"}' % (account.encode(), other.encode(), account.encode()),
            (400,),
            "parse_error",
        ),
        dep("top-level JSON array", _json([ok])),
        dep("top-level JSON string", _json("deposit")),
        dep("JSON null", b"null"),
        dep("not JSON", b"account_id=1&amount=2", "parse_error"),
        dep("empty body", b""),
        dep("truncated JSON", _json(ok)[:-5], "parse_error"),
        # Content types.
        *[
            Case(
                f"Content-Type: {content_type}",
                "POST",
                deposit,
                body,
                (415,),
                "unsupported_media_type",
                headers={"Content-Type": content_type},
            )
            for content_type, body in [
                ("text/plain", _json(ok)),
                ("application/x-www-form-urlencoded", f"account_id={account}&amount=1.00".encode()),
                (
                    "multipart/form-data; boundary=x",
                    b'--x\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1\r\n--x--\r\n',
                ),
                ("application/xml", b"<deposit><amount>1</amount></deposit>"),
                ("application/jsonx", _json(ok)),
            ]
        ],
        Case(
            "no Content-Type with a JSON body",
            "POST",
            deposit,
            _json(ok),
            (415,),
            "unsupported_media_type",
            headers={"Content-Type": b""},
        ),
        Case(
            "JSON declared as UTF-16, sent as UTF-8",
            "POST",
            deposit,
            _json(ok),
            (400,),
            "parse_error",
            headers={"Content-Type": "application/json; charset=utf-16"},
        ),
        Case(
            "unknown charset, body not UTF-8",
            "POST",
            deposit,
            b'{"account_id": "%s", "amount": "1.00", "description": "caf\xe9"}' % account.encode(),
            (400,),
            "parse_error",
            headers={"Content-Type": "application/json; charset=no-such-charset"},
        ),
        # Paths and the HTTP request itself.
        Case(
            "request line of 10,000 characters",
            "GET",
            "/api/v1/accounts/" + "a" * 10_000,
            None,
            (400, 414),
            key=None,
            problem=False,
        ),
        Case(
            "150 header fields",
            "GET",
            "/api/v1/accounts/",
            None,
            (400, 431),
            key=None,
            problem=False,
            headers={f"X-Filler-{i}": "x" for i in range(150)},
        ),
        Case(
            "an id that is not a UUID",
            "GET",
            "/api/v1/accounts/'%20OR%201=1%20--/",
            None,
            (404,),
            "not_found",
            key=None,
        ),
        Case("format suffix on a batch", "GET", f"/api/v1/batches/{batch}.json", None, (404,), "not_found", key=None),
        Case(
            "format suffix on a balance",
            "GET",
            f"/api/v1/accounts/{account}/balance.json",
            None,
            (404,),
            "not_found",
            key=None,
        ),
        Case("POST to a path no route matches", "POST", "/api/v1/nothing-here/", _json(ok), (404,), "not_found"),
        Case(
            "batch operation whose kind is an array",
            "POST",
            "/api/v1/batches/",
            _json({"operations": [{"kind": ["deposit"], **ok}]}),
            (400,),
            "validation_error",
        ),
        Case(
            "batch operation whose kind is an object",
            "POST",
            "/api/v1/batches/",
            _json({"operations": [{"kind": {"deposit": 1}, **ok}]}),
            (400,),
            "validation_error",
        ),
    ]


def hold_cases(account: str, other: str, pending: str, captured: str, voided: str) -> list[Case]:
    """Hostile requests to the hold endpoints: ``pending`` is a hold of 5.00 on ``account`` that
    stays pending (every case here is refused), ``captured`` and ``voided`` have left pending."""
    holds = "/api/v1/holds/"
    capture, void = f"{holds}{pending}/capture/", f"{holds}{pending}/void/"
    ok = {"account_id": account, "amount": "1.00"}
    raw_account = account.encode()

    def hold(name: str, raw: bytes, code: str = "validation_error", expected: tuple[int, ...] = (400,)) -> Case:
        return Case(f"hold: {name}", "POST", holds, raw, expected, code)

    def cap(name: str, raw: bytes, code: str = "validation_error", expected: tuple[int, ...] = (400,)) -> Case:
        return Case(f"capture: {name}", "POST", capture, raw, expected, code)

    def expiring(name: str, value: object) -> Case:
        return hold(f"expires_at {name}", _json({**ok, "expires_at": value}))

    def nested(depth: int) -> bytes:
        return b'{"account_id": "%s", "amount": "1.00", "metadata": %s}' % (
            raw_account,
            b'{"a": ' * depth + b"1" + b"}" * depth,
        )

    long_id = "f" * 3000
    return [
        # Metadata: deep, large, many keys.
        hold("metadata nested 40 deep (beyond the parser's depth)", nested(40), "parse_error"),
        hold("metadata nested 9 deep (beyond the metadata's depth)", nested(9)),
        hold("metadata of 9,000 bytes (beyond its 8 KiB)", _json({**ok, "metadata": {"note": "x" * 9000}})),
        hold("metadata with 10,000 keys", _json({**ok, "metadata": {f"k{i}": i for i in range(10_000)}})),
        hold("metadata with a NUL character", _json({**ok, "metadata": {"a\u0000b": "c\u0000d"}})),
        hold(
            "body just over the limit (256 KiB + 1)",
            _json({**ok, "metadata": {"note": "x" * MAX_BODY}}),
            "payload_too_large",
            (413,),
        ),
        # Amounts.
        hold("amount: 1e999999999", b'{"account_id": "%s", "amount": 1e999999999}' % raw_account),
        hold('amount: "1e999999999"', _json({**ok, "amount": "1e999999999"})),
        hold("amount: 1E-999999999", b'{"account_id": "%s", "amount": 1E-999999999}' % raw_account),
        hold(
            "amount: exactly 1, written as 1 and 150,000 zeros e-150000",
            b'{"account_id": "%s", "amount": 1%se-150000}' % (raw_account, b"0" * 150_000),
            "parse_error",
        ),
        hold("amount: a string of 5,000 digits", _json({**ok, "amount": "9" * 5000})),
        hold("amount: 10^15", _json({**ok, "amount": "1000000000000000"})),
        hold("amount: 0", _json({**ok, "amount": "0"})),
        hold("amount: 0.00 as a number", b'{"account_id": "%s", "amount": 0.00}' % raw_account),
        hold("amount: -1.00", _json({**ok, "amount": "-1.00"})),
        hold("amount: -5 as a number", b'{"account_id": "%s", "amount": -5}' % raw_account),
        hold('amount: "-0"', _json({**ok, "amount": "-0"})),
        hold("amount: USD 1.005", _json({**ok, "amount": "1.005"})),
        hold("amount above the available balance", _json({**ok, "amount": "1000000.00"}), "insufficient_funds", (422,)),
        hold(
            "destination is the held account",
            _json({**ok, "destination_account_id": account}),
            "same_account",
            (422,),
        ),
        # Expiry instants.
        expiring("of 100,000 characters", "2030-01-01T00:00:00Z" + "0" * 100_000),
        expiring("in the year 9999 (past 30 days)", "9999-12-31T23:59:59Z"),
        expiring("in the year 99999", "99999-01-01T00:00:00Z"),
        expiring("in the past", "2000-01-01T00:00:00Z"),
        expiring("in Arabic-Indic digits", "٢٠٣٠-٠١-٠١T00:00:00Z"),
        expiring("in fullwidth digits", "２０３０-０１-０１T００:００:００Z"),
        expiring("with 5,000 fraction digits", "2030-01-01T00:00:00." + "1" * 5000 + "Z"),
        expiring("with an offset of +99:00", "2030-01-01T00:00:00+99:00"),
        expiring("at a leap second", "2030-12-31T23:59:60Z"),
        expiring("with a trailing newline", "2030-01-01T00:00:00Z\n"),
        expiring('"infinity"', "infinity"),
        expiring("as a number", 1e20),
        expiring("as null", None),
        expiring("as an object", {"at": "2030-01-01T00:00:00Z"}),
        # Hold ids in the path.
        Case("hold id that is not a UUID", "GET", f"{holds}'%20OR%201=1%20--/", None, (404,), "not_found", key=None),
        Case(
            "capture of a hold id that is not a UUID", "POST", f"{holds}not-a-uuid/capture/", b"{}", (404,), "not_found"
        ),
        Case(
            "void of a hold id that is not a UUID",
            "POST",
            f"{holds}..%2F..%2Faccounts/void/",
            b"{}",
            (404,),
            "not_found",
        ),
        Case("hold id of 3,000 characters", "GET", f"{holds}{long_id}/", None, (404,), "not_found", key=None),
        Case(
            "capture of a hold id of 3,000 characters", "POST", f"{holds}{long_id}/capture/", b"{}", (404,), "not_found"
        ),
        Case("void of a hold id of 3,000 characters", "POST", f"{holds}{long_id}/void/", b"{}", (404,), "not_found"),
        Case(
            "hold id with fullwidth digits (a UUID only as Unicode digits read it)",
            "GET",
            f"{holds}{quote(pending.translate(_FULLWIDTH_DIGITS))}/",
            None,
            (404,),
            "not_found",
            key=None,
        ),
        Case(
            "capture of a hold id with a NUL character",
            "POST",
            f"{holds}{pending[:8]}%00{pending[9:]}/capture/",
            b"{}",
            (404,),
            "not_found",
        ),
        Case(
            "holds filtered on an account id that is not a UUID",
            "GET",
            f"{holds}?account_id={'9' * 3000}",
            None,
            (400,),
            "validation_error",
            key=None,
        ),
        Case(
            "holds filtered on an unknown status",
            "GET",
            f"{holds}?status=pending%00",
            None,
            (400,),
            "validation_error",
            key=None,
        ),
        # "final" of every wrong type.
        *[
            cap(f"final {name}", _json({"amount": "1.00", "final": value}))
            for name, value in [
                ('"true"', "true"),
                ("1", 1),
                ("0", 0),
                ("null", None),
                ("[]", []),
                ("{}", {}),
                ('"yes"', "yes"),
            ]
        ],
        # Capture amounts.
        cap("amount above the hold (6.00 of 5.00)", _json({"amount": "6.00"}), "capture_exceeds_hold", (422,)),
        cap(
            "amount far above the hold",
            _json({"amount": "999999999999.99", "final": True}),
            "capture_exceeds_hold",
            (422,),
        ),
        cap("amount 0", _json({"amount": "0"})),
        cap("amount -1.00", _json({"amount": "-1.00"})),
        cap("amount -5 as a number", b'{"amount": -5}'),
        cap("amount: 1e999999999", b'{"amount": 1e999999999}'),
        cap('amount: "1E+999999999"', _json({"amount": "1E+999999999"})),
        cap("amount: 1E-999999999", b'{"amount": 1E-999999999}'),
        cap("amount: USD 0.001", _json({"amount": "0.001"})),
        cap("amount: null", _json({"amount": None})),
        cap("description of 501 characters", _json({"description": "d" * 501})),
        cap("a JSON array", _json([{"amount": "1.00"}])),
        cap("duplicate key: amount twice", b'{"amount": "1.00", "amount": "5.00"}', "parse_error"),
        # Voids.
        Case("void: reason of 501 characters", "POST", void, _json({"reason": "r" * 501}), (400,), "validation_error"),
        Case("void: reason as an object", "POST", void, _json({"reason": {"why": 1}}), (400,), "validation_error"),
        Case("void: no idempotency key", "POST", void, b"{}", (400,), "idempotency_key_required", key=None),
        # Holds that left pending.
        Case("capture of a captured hold", "POST", f"{holds}{captured}/capture/", b"{}", (422,), "hold_not_pending"),
        Case("void of a captured hold", "POST", f"{holds}{captured}/void/", b"{}", (422,), "hold_not_pending"),
        Case(
            "capture of a voided hold, final",
            "POST",
            f"{holds}{voided}/capture/",
            _json({"amount": "0.01", "final": True}),
            (422,),
            "hold_not_pending",
        ),
        Case("void of a voided hold", "POST", f"{holds}{voided}/void/", b"{}", (422,), "hold_not_pending"),
        # Batches of holds.
        Case(
            "batch: a hold with an enormous exponent after a deposit",
            "POST",
            "/api/v1/batches/",
            b'{"operations": [{"kind": "deposit", "account_id": "%s", "amount": "1.00"}, '
            b'{"kind": "hold", "account_id": "%s", "amount": 1e999999999}]}' % (raw_account, raw_account),
            (400,),
            "validation_error",
        ),
        Case(
            "batch: a hold expiring in the year 9999",
            "POST",
            "/api/v1/batches/",
            _json({"operations": [{"kind": "hold", **ok, "expires_at": "9999-12-31T23:59:59Z"}]}),
            (400,),
            "validation_error",
        ),
        Case(
            "batch: holds beyond the available balance, the last refused",
            "POST",
            "/api/v1/batches/",
            _json({"operations": [{"kind": "hold", **ok, "amount": "600.00"}] * 2}),
            (422,),
            "insufficient_funds",
        ),
        Case(
            "batch: a hold with metadata nested 9 deep",
            "POST",
            "/api/v1/batches/",
            b'{"operations": [{"kind": "hold", "account_id": "%s", "amount": "1.00", "metadata": %s}]}'
            % (raw_account, b'{"a": ' * 9 + b"1" + b"}" * 9),
            (400,),
            "validation_error",
        ),
        Case(
            "batch: 1001 hold operations",
            "POST",
            "/api/v1/batches/",
            _json({"operations": [{"kind": "hold", **ok}] * 1001}),
            (400,),
            "validation_error",
        ),
        Case(
            "batch: a hold on another account of the client's, to itself",
            "POST",
            "/api/v1/batches/",
            _json(
                {
                    "operations": [
                        {"kind": "hold", "account_id": other, "amount": "1.00", "destination_account_id": other}
                    ]
                }
            ),
            (422,),
            "same_account",
        ),
    ]


class LockWatch:
    """Polls ``pg_stat_activity`` for the service's oldest open write transaction while a case runs."""

    def __init__(self, url: str, interval: float = 0.005) -> None:
        self.url = url
        self.interval = interval
        self.longest = 0.0  # seconds, over every case
        self.case_longest = 0.0
        self.samples = 0  # looks taken while a case ran
        self.error: str | None = None  # why the watcher stopped, if it did
        self._watching = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-watch", daemon=True)

    def _run(self) -> None:
        try:
            with connect(self.url, autocommit=True) as db:
                while not self._stop.is_set():
                    if not self._watching.wait(0.05):
                        continue
                    age = db.execute(
                        """
                        SELECT COALESCE(MAX(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)), 0)::float
                        FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
                        """
                    ).fetchone()[0]
                    self.case_longest = max(self.case_longest, age)
                    self.samples += 1
                    self._stop.wait(self.interval)
        except Exception as exc:  # A watcher that cannot watch must say so, not report "no lock".
            self.error = f"{type(exc).__name__}: {exc}"

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def start_case(self) -> None:
        self.case_longest = 0.0
        self._watching.set()

    def end_case(self) -> float:
        time.sleep(self.interval * 2)  # one more look after the answer
        self._watching.clear()
        self.longest = max(self.longest, self.case_longest)
        return self.case_longest


_FULLWIDTH = str.maketrans("0123456789abcdef", "０１２３４５６７８９ａｂｃｄｅｆ")
_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def counts(url: str) -> tuple[int, ...]:
    with connect(url) as db:
        return db.execute(
            """
            SELECT (SELECT COUNT(*) FROM transactions_transaction), (SELECT COUNT(*) FROM transactions_posting),
                   (SELECT COUNT(*) FROM transactions_idempotencyrecord), (SELECT COUNT(*) FROM accounts_account),
                   (SELECT COALESCE(SUM(balance_minor), 0) FROM accounts_account WHERE NOT is_system),
                   (SELECT COUNT(*) FROM accounts_hold),
                   (SELECT COUNT(*) FROM accounts_hold WHERE status = 'pending'),
                   (SELECT COALESCE(SUM(captured_minor), 0) FROM accounts_hold),
                   (SELECT COALESCE(SUM(reserved_minor), 0) FROM accounts_account)
            """
        ).fetchone()


def send(base: str, token: str, case: Case) -> Reply:
    headers: dict[str, str | bytes] = {"Accept": "application/json", "Authorization": f"Token {token}"}
    if case.body is not None:
        headers["Content-Type"] = "application/json"
    if case.key == "fresh":
        headers["Idempotency-Key"] = f"hostile-{uuid.uuid4()}"
    elif case.key is not None:
        headers["Idempotency-Key"] = case.key
    for name, value in case.headers.items():
        if value == b"":
            headers.pop(name, None)
        else:
            headers[name] = value
    conn = Connection(base, timeout=30)
    try:
        return conn.request(case.method, case.path, case.body, headers)
    finally:
        conn.close()


def run(ctx: Context) -> Result:
    result = Result("hostile", "6. Hostile input")
    started = time.monotonic()
    url = ctx.databases.clone("hostile")
    from torture import hostile_grpc  # imported here: it imports this module (its counts, its lock watch)

    tokens = create_clients(url, {"hostile-a": False, "hostile-b": False, hostile_grpc.CLIENT: False})
    token = tokens["hostile-a"]
    with instances(Instance("hostile", url, ctx.workdir)) as (instance,):
        account, other = (a.id for a in open_accounts(instance.base, {"hostile-a": token}, 2))
        conn = Connection(instance.base)
        funded = call(
            conn,
            "POST",
            "/api/v1/deposits/",
            {"account_id": account, "amount": "1000.00"},
            token=token,
            key="hostile-funding",
        )
        batch = call(
            conn,
            "POST",
            "/api/v1/batches/",
            {"operations": [{"kind": "deposit", "account_id": other, "amount": "1.00"}]},
            token=token,
            key="hostile-batch",
        )
        result.expect(funded.status == 201 and batch.status == 201, "could not fund the account")
        placed = [
            call(
                conn,
                "POST",
                "/api/v1/holds/",
                {"account_id": account, "amount": amount},
                token=token,
                key=f"hostile-hold-{n}",
            )
            for n, amount in enumerate(("5.00", "2.00", "3.00"))
        ]
        result.expect(all(r.status == 201 for r in placed), f"could not place holds: {[r.describe() for r in placed]}")
        pending, captured, voided = ((r.json or {}).get("id", str(uuid.uuid4())) for r in placed)
        taken = call(conn, "POST", f"/api/v1/holds/{captured}/capture/", {}, token=token, key="hostile-capture")
        dropped = call(conn, "POST", f"/api/v1/holds/{voided}/void/", {}, token=token, key="hostile-void")
        result.expect(taken.status == 201 and dropped.status == 200, "could not capture and void the seeded holds")
        answers = {}
        lock_ages: dict[str, float] = {}
        watch = LockWatch(url)
        watch.__enter__()
        on_holds = hold_cases(account, other, pending, captured, voided)
        all_cases = cases(account, other, batch.json["id"]) + on_holds
        for case in all_cases:
            before = counts(url)
            watch.start_case()
            reply = send(instance.base, token, case)
            lock_ages[case.name] = watch.end_case()
            result.requests += 1
            label = f"{case.name}: {case.method} {case.path[:80]}"
            bug = known_bug(
                case.method,
                case.path,
                reply.status,
                reply.header("Content-Type") or "",
                (case.body or b"").decode(errors="replace"),
            )
            if bug is not None:
                result.known[bug.name] = result.known.get(bug.name, 0) + 1
                answers[case.name] = f"{reply.status} (known bug {bug.name})"
            else:
                answers[case.name] = f"{reply.status} {reply.code or ''}".strip()
                result.expect(
                    reply.status in case.expected, f"{label}: expected {case.expected}, got {reply.describe()}"
                )
                if case.problem and 400 <= reply.status < 500:
                    result.expect(reply.is_problem, f"{label}: not a problem document: {reply.describe()}")
                    if case.code:
                        result.expect(reply.code == case.code, f"{label}: code {reply.code}, expected {case.code}")
            after = counts(url)
            result.expect(after == before, f"{label}: the database changed: {before} -> {after}")
            result.expect(
                lock_ages[case.name] < LOCK_BOUND,
                f"{label}: a write transaction stayed open {lock_ages[case.name]:.2f} s (bound {LOCK_BOUND} s)",
            )
            health = conn.request("GET", "/healthz", None, api_headers())
            result.requests += 1
            result.expect(health.status == 200, f"after {label}: /healthz {health.describe()}")
        posted = call(
            conn,
            "POST",
            "/api/v1/deposits/",
            {"account_id": account, "amount": "2.50"},
            token=token,
            key=f"hostile-after-{uuid.uuid4()}",
        )
        watch.__exit__()
        result.expect(watch.error is None, f"the lock watcher failed: {watch.error}")
        result.expect(watch.samples >= len(all_cases), f"the lock watcher looked only {watch.samples} times")
        result.expect(posted.status == 201, f"a normal deposit after the hostile input: {posted.describe()}")
        # The hold that every hostile capture and void was refused on is still whole, and works.
        still = call(conn, "GET", f"/api/v1/holds/{pending}/", token=token)
        part = call(
            conn, "POST", f"/api/v1/holds/{pending}/capture/", {"amount": "1.25"}, token=token, key="hostile-part"
        )
        rest = call(conn, "POST", f"/api/v1/holds/{pending}/void/", {"reason": "done"}, token=token, key="hostile-rest")
        result.requests += 3
        result.expect(
            still.status == 200
            and (still.json or {}).get("status") == "pending"
            and (still.json or {}).get("remaining_amount") == "5.00",
            f"the hold every hostile case was refused on: {still.describe()}",
        )
        result.expect(
            part.status == 201 and (part.json or {}).get("hold_id") == pending and part.json.get("amount") == "1.25",
            f"a capture of 1.25 after the hostile input: {part.describe()}",
        )
        result.expect(
            rest.status == 200
            and (rest.json or {}).get("status") == "voided"
            and rest.json.get("captured_amount") == "1.25",
            f"a void of the rest: {rest.describe()}",
        )
        # Odd but valid Unicode is no reason to refuse: it is stored and read back exactly.
        opened = call(conn, "POST", "/api/v1/accounts/", {"currency": "USD", "name": ODD_NAME}, token=token)
        read = call(conn, "GET", f"/api/v1/accounts/{(opened.json or {}).get('id')}/", token=token)
        result.requests += 5
        result.expect(
            opened.status == 201 and read.status == 200 and read.json.get("name") == ODD_NAME,
            f"an account named {ODD_NAME!r}: {opened.describe()} / {read.describe()}",
        )
        conn.close()
    rest = (result.requests, len(result.violations))
    try:  # The same attack over gRPC, on the same books, by a client of its own.
        hostile_grpc.run_part(ctx, result, url, tokens[hostile_grpc.CLIENT])
    except Exception:  # A gRPC part that cannot finish is a failure to show, not a reason to drop REST's figures.
        result.violations.append(f"gRPC: the hostile cases could not finish:\n{traceback.format_exc()}")
    over_grpc = {name: result.figures.pop(name) for name in list(result.figures) if name.startswith("gRPC")}
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    statuses: dict[str, int] = {}
    for answer in answers.values():
        status = answer.split()[0]
        statuses[status] = statuses.get(status, 0) + 1
    result.figures.update(
        {
            "cases": [f"{name}: {answer}" for name, answer in answers.items()],
            "answers": dict(sorted(statuses.items())),
            "hold cases": len(on_holds),
            "after each case": "nothing posted (transactions, postings, keys, accounts, balances, holds, captured "
            "amounts, reservations unchanged), /healthz 200",
            "longest write transaction open during a case (s)": round(max(lock_ages.values(), default=0.0), 3),
            "afterwards": "a normal deposit posts; the hold every hostile capture and void was refused on is still "
            "pending and whole, is captured in part and voided; an account named with odd but valid Unicode "
            "(combining marks, emoji, right-to-left override, zero-width space, Arabic, astral letters) is stored "
            "and read back exactly",
            "REST requests, violations": f"{rest[0]} requests, {rest[1]} violations",
            **over_grpc,
            "reconcile": f"{line} (after the REST and the gRPC cases)",
        }
    )
    result.duration = time.monotonic() - started
    return result

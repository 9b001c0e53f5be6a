"""Scenario 6, hostile input: requests built to break parsers, limits and assumptions.

Each case is sent on a fresh connection with client A's valid token (and a valid, fresh
``Idempotency-Key`` unless the key is what is under attack): huge bodies, JSON nested far too
deep, long and non-ASCII idempotency keys, odd Unicode where only ASCII belongs (digits,
currency codes, ids), lone surrogates and NUL characters, numbers with thousands of digits,
duplicate JSON keys, wrong or lying content types and charsets, and odd paths.

Every case expects a clear 4xx: a problem document with the contract's code when the app
answers, or gunicorn's own 4xx when the HTTP request itself is beyond its limits (a request
line or a header field too long, too many headers). After each case: nothing was posted
(transactions, postings, idempotency records and accounts counted in the database) and
``/healthz`` still answers. At the end a normal deposit still posts, and the books balance.
"""

# ruff: noqa: RUF001 -- look-alike characters (fullwidth, Arabic-Indic digits) are what these cases send.
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from harness.books import check_at
from torture.client import Connection, Reply, api_headers, call, open_accounts
from torture.infra import Context, Instance, create_clients, instances
from torture.invariants import connect, reconcile
from torture.known import known_bug
from torture.report import Result

MAX_BODY = 256 * 1024  # DJANGO_MAX_BODY_BYTES, the default
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


_FULLWIDTH = str.maketrans("0123456789abcdef", "０１２３４５６７８９ａｂｃｄｅｆ")


def counts(url: str) -> tuple[int, ...]:
    with connect(url) as db:
        return db.execute(
            """
            SELECT (SELECT COUNT(*) FROM transactions_transaction), (SELECT COUNT(*) FROM transactions_posting),
                   (SELECT COUNT(*) FROM transactions_idempotencyrecord), (SELECT COUNT(*) FROM accounts_account),
                   (SELECT COALESCE(SUM(balance_minor), 0) FROM accounts_account WHERE NOT is_system)
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
    tokens = create_clients(url, {"hostile-a": False, "hostile-b": False})
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
        answers = {}
        for case in cases(account, other, batch.json["id"]):
            before = counts(url)
            reply = send(instance.base, token, case)
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
        result.expect(posted.status == 201, f"a normal deposit after the hostile input: {posted.describe()}")
        # Odd but valid Unicode is no reason to refuse: it is stored and read back exactly.
        opened = call(conn, "POST", "/api/v1/accounts/", {"currency": "USD", "name": ODD_NAME}, token=token)
        read = call(conn, "GET", f"/api/v1/accounts/{(opened.json or {}).get('id')}/", token=token)
        result.requests += 5
        result.expect(
            opened.status == 201 and read.status == 200 and read.json.get("name") == ODD_NAME,
            f"an account named {ODD_NAME!r}: {opened.describe()} / {read.describe()}",
        )
        conn.close()
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
            "after each case": "nothing posted (transactions, postings, keys, accounts, balances unchanged), "
            "/healthz 200",
            "afterwards": "a normal deposit posts; an account named with odd but valid Unicode (combining marks, "
            "emoji, right-to-left override, zero-width space, Arabic, astral letters) is stored and read back "
            "exactly",
            "reconcile": line,
        }
    )
    result.duration = time.monotonic() - started
    return result

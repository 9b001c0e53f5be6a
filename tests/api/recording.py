"""A fixed conversation with the API, recorded byte for byte, to prove a change alters no answer.

:func:`converse` plays the same requests in the same order every time: opening accounts,
every kind of movement, replays, reversals, batches, holds, history pages, balances at instants,
and every refusal the contract lists. Everything an answer could vary by is pinned while it
plays: public ids count up from 1, the clock reads the request's number in milliseconds
after a fixed instant (whatever the code reads it for, as often as it likes), cursors are
signed at a fixed time and named by the order they appear, and each request carries its own
``X-Request-ID``. The answers (status, the headers a client reads, the body exactly as sent)
are kept in ``recorded_answers.json``.

``tests/api/test_recorded_answers.py`` compares a fresh conversation with the file. After a
change meant to alter answers, record anew and review the diff of the file::

    LEDGER_RECORD_ANSWERS=1 make pytest PYTEST_ARGS=tests/api/test_recorded_answers.py
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

RECORDING = Path(__file__).with_name("recorded_answers.json")
HEADERS = ("Content-Type", "Cache-Control", "Idempotent-Replayed", "Retry-After", "Allow", "X-Request-ID")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_CLOCK = [START]  # What timezone.now() answers while the conversation plays: set before each request.


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """Pin what answers vary by: public ids, the clock, the cursors' signing time, throttle clocks."""
    from accounts.models import Account, Hold
    from transactions.models import Batch, Transaction

    counter = itertools.count(1)

    def next_uuid() -> uuid.UUID:
        return uuid.UUID(int=next(counter))

    def now() -> datetime:
        return _CLOCK[0]

    fields = [model._meta.get_field("public_id") for model in (Account, Transaction, Batch, Hold)]
    defaults = [field.default for field in fields]
    for field in fields:
        field.default = next_uuid
        field.__dict__.pop("_get_default", None)  # Django caches the default's callable.
    fixed = START.timestamp()
    try:
        with (
            mock.patch("django.utils.timezone.now", now),
            mock.patch("time.time", return_value=fixed),  # Cursors' signatures; failed-authentication windows.
            mock.patch("rest_framework.throttling.SimpleRateThrottle.timer", return_value=fixed),
        ):
            yield
    finally:
        for field, default in zip(fields, defaults, strict=True):
            field.default = default
            field.__dict__.pop("_get_default", None)


_CURSOR = re.compile(r"cursor=([A-Za-z0-9_%:.\-]+)")


class Conversation:
    """The requests made so far and their answers, as recorded."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.clients: dict[str, APIClient] = {}
        self.cursors: dict[str, str] = {}

    def named(self, text: str) -> str:
        """Return ``text`` with each cursor named by the order it first appeared (``cursor=<1>``, ...).

        A cursor carries the id of the database transaction that wrote the row it continues from
        (``api.pagination.CommitOrderPagination``), which differs from run to run; which link
        repeats which is still recorded.
        """

        def name(match: re.Match[str]) -> str:
            return f"cursor=<{self.cursors.setdefault(match[1], str(len(self.cursors) + 1))}>"

        return _CURSOR.sub(name, text)

    def client(self, name: str, *, staff: bool = False) -> APIClient:
        if name not in self.clients:
            api = APIClient()
            if name != "anonymous":
                user = get_user_model().objects.create(username=f"recorded-{name}", is_staff=staff)
                token = Token.objects.create(user=user, key=f"{name:x<40}"[:40])
                api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            self.clients[name] = api
        return self.clients[name]

    def __call__(self, who: str, method: str, path: str, body: Any = None, *, key: str | None = None,
                 raw: str | None = None, content_type: str = "application/json", **headers: str) -> Any:  # fmt: skip
        """Make one request as ``who`` and record it; return the decoded JSON body, if any."""
        number = len(self.entries) + 1
        _CLOCK[0] = START + timedelta(milliseconds=number)
        extra = {"HTTP_X_REQUEST_ID": f"recorded-{number}", **headers}
        if key is not None:
            extra["HTTP_IDEMPOTENCY_KEY"] = key
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client(who), method.lower())
        response = call(path, data, content_type=content_type, **extra) if data is not None else call(path, **extra)
        text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
        self.entries.append(
            {
                "request": self.named(f"{method} {path} as {who}" + (f" key={key}" if key else "")),
                "body": data,
                "status": response.status_code,
                "headers": {name: response[name] for name in HEADERS if response.has_header(name)},
                "answer": self.named(text),
            }
        )
        try:
            return json.loads(text)
        except ValueError:
            return None


def converse() -> list[dict[str, Any]]:
    """Play the conversation (on an empty ledger, inside a test's database) and return its entries.

    The system accounts, made when the database was migrated, get pinned ids and times first.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Account, Hold
    from transactions.models import Batch, IdempotencyRecord, Posting, Transaction

    # Cursors carry row ids: every table's ids start from the same, unused, number.
    with connection.cursor() as cursor:
        for model in (get_user_model(), Account, Transaction, Posting, Batch, IdempotencyRecord, Hold):
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1000000000, false)", [model._meta.db_table])
    for n, world in enumerate(Account.objects.filter(is_system=True).order_by("currency"), start=1):
        Account.objects.filter(pk=world.pk).update(
            public_id=uuid.UUID(int=10**6 + n), created_at=START, updated_at=START
        )
    talk = Conversation()
    talk.client("alice")
    talk.client("bob")
    talk.client("staff", staff=True)
    with pinned():
        _play(talk)
    return talk.entries


def _play(talk: Callable[..., Any]) -> None:
    api = "/api/v1"
    # Accounts.
    alice = talk("alice", "POST", f"{api}/accounts/", {"currency": "USD", "name": "Alice", "metadata": {"tier": 1}})
    savings = talk("alice", "POST", f"{api}/accounts/", {"currency": "USD", "name": "Savings"})
    yen = talk("alice", "POST", f"{api}/accounts/", {"currency": "JPY"})
    bob = talk("bob", "POST", f"{api}/accounts/", {"currency": "USD", "name": "Bob"})
    euro = talk("bob", "POST", f"{api}/accounts/", {"currency": "EUR"})
    talk("alice", "POST", f"{api}/accounts/", {"currency": "XXX"})
    talk("alice", "POST", f"{api}/accounts/", {"currency": "USD", "metadata": []})
    talk("alice", "GET", f"{api}/accounts/")
    talk("alice", "GET", f"{api}/accounts/{alice['id']}/")
    talk("bob", "GET", f"{api}/accounts/{alice['id']}/")
    talk("alice", "GET", f"{api}/accounts/not-a-uuid/")
    talk("staff", "GET", f"{api}/accounts/?page_size=2")

    # Money in, around and out.
    a, b = alice["id"], bob["id"]
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "250.00", "reference": "INV-1"}, key="d-1")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "250.00", "reference": "INV-1"}, key="d-1")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "1.00"}, key="d-1")
    talk("alice", "POST", f"{api}/deposits/", raw=f'{{"account_id": "{a}", "amount": 12.5}}', key="d-2")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": yen["id"], "amount": "1500"}, key="d-3")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": savings["id"], "amount": "5", "metadata": {"n": 1.5}},
         key="d-4")  # fmt: skip
    transfer = talk(
        "alice", "POST", f"{api}/transfers/",
        {"source_account_id": a, "destination_account_id": b, "amount": "75.50", "description": "rent"}, key="t-1",
    )  # fmt: skip
    talk("alice", "POST", f"{api}/withdrawals/", {"account_id": a, "amount": "20.00"}, key="w-1")
    # Refusals, each a problem document.
    talk("alice", "POST", f"{api}/withdrawals/", {"account_id": a, "amount": "1000"}, key="w-2")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "1.005"}, key="d-5")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "-1"}, key="d-6")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "1000000000000000"}, key="d-7")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": yen["id"], "amount": "1.5"}, key="d-8")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a}, key="d-9")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "1.00"})
    talk("alice", "POST", f"{api}/deposits/", {"account_id": a, "amount": "1.00"}, key="x" * 256)
    talk("alice", "POST", f"{api}/deposits/", raw="{not json", key="d-10")
    talk("alice", "POST", f"{api}/deposits/", raw="amount=1", content_type="text/plain", key="d-11")
    talk("alice", "POST", f"{api}/deposits/", {"account_id": b, "amount": "1.00"}, key="d-12")
    talk("alice", "POST", f"{api}/transfers/", {"source_account_id": a, "destination_account_id": a, "amount": "1"},
         key="t-2")  # fmt: skip
    talk("alice", "POST", f"{api}/transfers/",
         {"source_account_id": a, "destination_account_id": euro["id"], "amount": "1"}, key="t-3")  # fmt: skip
    talk("alice", "POST", f"{api}/transfers/",
         {"source_account_id": b, "destination_account_id": a, "amount": "1"}, key="t-4")  # fmt: skip
    talk("anonymous", "GET", f"{api}/accounts/")
    talk("anonymous", "GET", f"{api}/accounts/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    talk("alice", "DELETE", f"{api}/accounts/{a}/")

    # Reversals.
    talk("alice", "POST", f"{api}/transactions/{transfer['id']}/reverse/", {"reason": "mine"}, key="r-1")
    reversal = talk("staff", "POST", f"{api}/transactions/{transfer['id']}/reverse/", {"reason": "refund"}, key="r-1")
    talk("staff", "POST", f"{api}/transactions/{transfer['id']}/reverse/", {"reason": "again"}, key="r-2")
    talk("staff", "POST", f"{api}/transactions/{reversal['id']}/reverse/", {"reason": "undo"}, key="r-3")
    talk("staff", "POST", f"{api}/transactions/{transfer['id']}/reverse/", {"reason": ""}, key="r-4")

    # Batches.
    ops = [
        {"kind": "deposit", "account_id": a, "amount": "10"},
        {"kind": "transfer", "source_account_id": a, "destination_account_id": b, "amount": "5"},
        {"kind": "withdrawal", "account_id": a, "amount": "1"},
    ]
    batch = talk("alice", "POST", f"{api}/batches/", {"operations": ops}, key="b-1")
    talk("alice", "POST", f"{api}/batches/", {"operations": ops}, key="b-1")
    talk("alice", "POST", f"{api}/batches/", {"operations": [*ops, {**ops[2], "amount": "100000"}]}, key="b-2")
    talk("alice", "POST", f"{api}/batches/", {"operations": [ops[0], {"kind": "loan"}]}, key="b-3")
    talk("alice", "POST", f"{api}/batches/", {"operations": []}, key="b-4")
    talk("alice", "GET", f"{api}/batches/{batch['id']}/")
    talk("bob", "POST", f"{api}/withdrawals/", {"account_id": b, "amount": "0.50"}, key="w-1")
    talk("bob", "GET", f"{api}/batches/{batch['id']}/")

    # Reads.
    for path in ("transactions", "deposits", "withdrawals", "transfers"):
        talk("alice", "GET", f"{api}/{path}/")
    talk("bob", "GET", f"{api}/transactions/")
    talk("staff", "GET", f"{api}/transactions/?page_size=3")
    talk("alice", "GET", f"{api}/transactions/{transfer['id']}/")
    talk("bob", "GET", f"{api}/transactions/{transfer['id']}/")
    talk("staff", "GET", f"{api}/transactions/{transfer['id']}/")
    talk("alice", "GET", f"{api}/deposits/{transfer['id']}/")
    first = talk("alice", "GET", f"{api}/accounts/{a}/history/?page_size=2")
    talk("alice", "GET", first["next"].replace("http://testserver", ""))
    talk("alice", "GET", f"{api}/accounts/{a}/history/?kind=deposit")
    talk("alice", "GET", f"{api}/accounts/{a}/history/?page_size=0")
    talk("alice", "GET", f"{api}/accounts/{a}/history/?cursor=forged")
    talk("alice", "GET", f"{api}/accounts/{a}/balance/")
    talk("alice", "GET", f"{api}/accounts/{a}/balance/?at=2026-03-02T09:00:00.010Z")
    talk("alice", "GET", f"{api}/accounts/{a}/balance/?at=yesterday")
    talk("alice", "GET", f"{api}/accounts/{a}/")
    world = talk("staff", "GET", f"{api}/accounts/?page_size=200")["results"][-1]
    talk("staff", "GET", f"{api}/accounts/{world['id']}/history/?page_size=2")
    talk("anonymous", "GET", f"{api}/problems/insufficient_funds/")
    talk("anonymous", "GET", f"{api}/problems/no_such_code/")
    talk("anonymous", "GET", f"{api}/no-such-thing/")
    talk("anonymous", "GET", "/api/schema/")
    with override_settings(LEDGER_THROTTLE_RATE="3/min"):
        for _ in range(4):
            talk("carol", "GET", f"{api}/accounts/")  # A client that has not been counted yet.

    # Holds: placed, refused, captured in part, voided, captured whole; in batches, lists and balances.
    card = {"account_id": a, "amount": "40.00", "description": "card auth", "metadata": {"order": "A-1"}}
    held = talk("alice", "POST", f"{api}/holds/", card, key="h-1")
    talk("alice", "POST", f"{api}/holds/", card, key="h-1")
    talk("alice", "POST", f"{api}/holds/", {**card, "amount": "41.00"}, key="h-1")
    talk("alice", "GET", f"{api}/accounts/{a}/")
    talk("alice", "GET", f"{api}/accounts/{a}/balance/")
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "amount": "100000"}, key="h-2")
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "amount": "1", "expires_at": "2026-03-01T09:00:00Z"},
         key="h-3")  # fmt: skip
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "amount": "1", "expires_at": "2026-05-01T09:00:00Z"},
         key="h-4")  # fmt: skip
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "amount": "1", "expires_at": "soon"}, key="h-5")
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "destination_account_id": euro["id"], "amount": "1"},
         key="h-6")  # fmt: skip
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "destination_account_id": a, "amount": "1"}, key="h-7")
    talk("alice", "POST", f"{api}/holds/", {"account_id": b, "amount": "1"}, key="h-8")
    talk("alice", "POST", f"{api}/holds/", {"account_id": a, "amount": "1"})
    capture = talk("alice", "POST", f"{api}/holds/{held['id']}/capture/",
                   {"amount": "15.00", "description": "first shipment"}, key="c-1")  # fmt: skip
    talk("alice", "POST", f"{api}/holds/{held['id']}/capture/", {"amount": "25.01"}, key="c-2")
    talk("alice", "GET", f"{api}/holds/{held['id']}/")
    talk("bob", "GET", f"{api}/holds/{held['id']}/")
    talk("alice", "GET", f"{api}/holds/not-a-uuid/")
    talk("alice", "GET", f"{api}/transactions/{capture['id']}/")
    talk("alice", "POST", f"{api}/holds/{held['id']}/void/", {"reason": "order cancelled"}, key="v-1")
    talk("alice", "POST", f"{api}/holds/{held['id']}/void/", {"reason": "order cancelled"}, key="v-1")
    talk("alice", "POST", f"{api}/holds/{held['id']}/capture/", {}, key="c-3")
    talk("alice", "POST", f"{api}/holds/{held['id']}/void/", {}, key="v-2")
    payout = {"account_id": a, "destination_account_id": b, "amount": "5", "reference": "PAY-1",
              "expires_at": "2026-03-05T09:00:00Z"}  # fmt: skip
    paid = talk("alice", "POST", f"{api}/holds/", payout, key="h-9")
    talk("alice", "POST", f"{api}/holds/{paid['id']}/capture/", {}, key="c-4")
    talk("alice", "GET", f"{api}/holds/{paid['id']}/")
    holds = [{"kind": "deposit", "account_id": a, "amount": "2"}, {"kind": "hold", "account_id": a, "amount": "3"}]
    talk("alice", "POST", f"{api}/batches/", {"operations": holds}, key="b-5")
    talk("alice", "POST", f"{api}/batches/", {"operations": [*holds, {**holds[1], "amount": "100000"}]}, key="b-6")
    talk("alice", "GET", f"{api}/holds/")
    talk("alice", "GET", f"{api}/holds/?status=pending&page_size=1")
    talk("alice", "GET", f"{api}/holds/?status=open")
    talk("alice", "GET", f"{api}/holds/?account_id={savings['id']}")
    talk("bob", "GET", f"{api}/holds/")
    talk("staff", "GET", f"{api}/holds/?page_size=2")
    talk("alice", "GET", f"{api}/accounts/{a}/balance/?at={held['created_at']}")
    talk("alice", "GET", f"{api}/accounts/{a}/balance/?at={capture['created_at']}")
    talk("alice", "GET", f"{api}/accounts/{a}/")
    talk("anonymous", "GET", f"{api}/problems/hold_not_pending/")

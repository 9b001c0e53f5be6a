"""Scenario 5, the authorization matrix: every endpoint and method, as five different callers.

The operations come from the service's own OpenAPI schema; each path is also tried with the
methods it does not offer. The callers: anonymous, a wrong token, client A, client B, and a
staff client. Each operation on an object is tried on A's object, on B's object and on an id
that does not exist. The expected status of every cell:

- anonymous and a wrong token: 401 (``not_authenticated``, ``authentication_failed``);
- a method the path does not offer: 405;
- a reversal by a client that is not staff: 403, whosever the transaction (the only 403);
- another client's object, or one that does not exist: 404, never 403 (no client learns that
  an id exists); a client's own object: 200 (201 for a post, 200 for a hold's void);
- staff: every object, 200 or 201 -- except webhook endpoints, below.

Events (``/events/``) are read-only: a client reads the events touching its accounts (the
``transaction.posted`` of its deposit is its object), staff read every event; another client's
event is 404, the same problem document as an id that does not exist. Webhook endpoints are
their creator's alone, **staff included**: staff get 404 for A's or B's endpoint (and 201 for a
post, which creates one of their own, as A and B do: the body names no owner). The owner reads
(200), rotates the secret (200) and deletes (204) its endpoint; every cell that deletes one gets
an endpoint of its own, created just before (a deleted endpoint is 404). The endpoints' URL is
``https://127.0.0.1:9/…``, which the instance allows (``LEDGER_WEBHOOK_ALLOWED_HOSTS``): nothing
listens there and no relay runs, so they have no deliveries.

Holds are objects like the others: each client places one to read (``GET /holds/{id}/``), and
every cell that captures or voids one gets a hold of its own, placed just before and still
pending, so that its expected status does not depend on the cells before it (a hold leaves
``pending`` once; a second capture or void would be 422 ``hold_not_pending``). A hold's list
filtered on another client's account is the same empty page as one filtered on an account
that does not exist.

Every error is a problem document with the contract's code. No answer to A contains an id of
B's accounts, transactions, batches, holds, events or webhook endpoints, and the reverse; the one
exception is a transfer between them (also the capture of a hold whose destination is the other's
account), whose payee sees the payer's account id as ``source_account_id`` and the hold's id as
``hold_id`` (never the payer's posting, nor the hold itself), in the transaction and in its
``transaction.posted`` event alike. A secret (``whsec_…``) is only in the answer to the creation
or the rotation of an endpoint, to its owner, and in no other caller's answer ever. A 404 for
another client's object is the very same problem document as the 404 for an id that does not
exist. Staff lists show both clients' objects, events included, but neither client's webhook
endpoints. Afterwards the books balance (reservations included), and exactly the posts answered
201 are in the database: transactions (captures among them) and holds counted apart, each hold
captured or voided exactly when a capture answered 201 or a void 200 for it; webhook endpoints
too, each deleted exactly when a DELETE answered 204 for it, each with the secret last shown.

Then the same matrix runs over gRPC (:mod:`torture.authz_grpc`), on the same database, against
a ``manage.py grpcserver``: every RPC of the five services, as the same five kinds of caller
(UNAUTHENTICATED, PERMISSION_DENIED for a reversal by a client, NOT_FOUND for another client's
object, OK for the owner and staff). Its figures and violations are prefixed "gRPC"; the books
and ``reconcile`` are checked once both matrices are done.
"""

from __future__ import annotations

import re
import secrets
import time
import traceback
import uuid
from collections import Counter
from typing import Any

from harness.books import check_at
from torture.client import Connection, Reply, api_headers, call, open_accounts
from torture.infra import Context, Instance, create_clients, instances
from torture.invariants import connect, reconcile
from torture.report import Result

PRINCIPALS = ("anonymous", "wrong token", "A", "B", "staff")
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CODES = {
    401: ("not_authenticated", "authentication_failed"),
    403: ("permission_denied",),
    404: ("not_found",),
    405: ("method_not_allowed",),
}
COLLECTION = {
    "accounts": "account",
    "batches": "batch",
    "deposits": "deposit",
    "withdrawals": "withdrawal",
    "transfers": "transfer",
    "transactions": "transaction",
    "holds": "hold",
    "events": "event",
    "webhook-endpoints": "webhook_endpoint",
}
HOLD_ACTIONS = ("/capture/", "/void/")  # posts that take a hold out of pending
WEBHOOKS = "/api/v1/webhook-endpoints/"
WEBHOOK_ENDPOINT = "/api/v1/webhook-endpoints/{id}/"
ROTATION = "/api/v1/webhook-endpoints/{id}/rotate-secret/"
OWN_COLLECTIONS = ("/api/v1/accounts/", WEBHOOKS)  # a post that names no owner: the caller's own new object
# Nothing listens on port 9 of this machine; the instance allows the host (LEDGER_WEBHOOK_ALLOWED_HOSTS).
WEBHOOK_HOST = "127.0.0.1"
WEBHOOK_BODY = {"url": f"https://{WEBHOOK_HOST}:9/authz-hook", "event_types": ["*"], "description": "authz"}
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
EVENT_TIMEOUT = 10.0  # seconds for the seeding's events to appear (every transaction begun before has ended)


class World:
    """Two clients' accounts and movements, made through the API; which ids belong to whom."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.tokens = tokens
        self.private: dict[str, set[str]] = {"A": set(), "B": set()}  # ids the other client must never see
        self.shared: set[str] = set()  # transfers between A and B: both see them
        self.objects: dict[str, dict[str, str]] = {"A": {}, "B": {}}
        self.reversible: dict[str, list[str]] = {"A": [], "B": []}  # for staff reversals
        self.posted = 0  # transactions posted (seeding and matrix), captures included
        self.placed = 0  # holds placed (seeding, matrix, batches): a hold is not a transaction
        self.captures = 0  # captures answered 201
        self.captured: set[str] = set()  # holds a capture answered 201 for (each captures all that remains)
        self.voided: set[str] = set()  # holds a void answered 200 for
        self.endpoints: dict[str, str] = {}  # webhook endpoint id -> the secret last shown for it
        self.secrets: dict[str, set[str]] = {"A": set(), "B": set(), "staff": set()}  # shown to whom
        self.deleted: set[str] = set()  # endpoints a DELETE answered 204 for
        self.conn = Connection(base, timeout=20)
        conn = self.conn
        for owner in ("A", "B"):
            token = tokens[owner]
            first, second = open_accounts(base, {owner: token}, 2)
            objects = self.objects[owner]
            objects["account"], objects["other_account"] = first.id, second.id
            self.private[owner] |= {first.id, second.id}
            objects["deposit"] = self._post(
                conn, owner, "/api/v1/deposits/", {"account_id": first.id, "amount": "500.00"}
            )
            objects["transfer"] = self._post(
                conn,
                owner,
                "/api/v1/transfers/",
                {"source_account_id": first.id, "destination_account_id": second.id, "amount": "20.00"},
            )
            objects["withdrawal"] = self._post(
                conn, owner, "/api/v1/withdrawals/", {"account_id": second.id, "amount": "5.00"}
            )
            objects["transaction"] = objects["deposit"]
            for _ in range(4):
                self.reversible[owner].append(
                    self._post(conn, owner, "/api/v1/deposits/", {"account_id": second.id, "amount": "1.00"})
                )
            objects["batch"] = self._post(
                conn,
                owner,
                "/api/v1/batches/",
                {
                    "operations": [
                        {"kind": "deposit", "account_id": second.id, "amount": "2.00"},
                        {"kind": "hold", "account_id": second.id, "amount": "1.00"},
                    ]
                },
            )
            objects["hold"] = self.place_hold(owner)  # read, never captured nor voided
            objects["webhook_endpoint"] = self.add_endpoint(owner)  # read and rotated, never deleted
        # B pays A: the payee sees it (and the payer's account id as its source), but not B's leg.
        self.shared.add(
            self._post(
                conn,
                "B",
                "/api/v1/transfers/",
                {
                    "source_account_id": self.objects["B"]["account"],
                    "destination_account_id": self.objects["A"]["account"],
                    "amount": "7.00",
                },
                private=False,
            )
        )
        # A holds money for B's account and captures it: the capture is a transfer B sees as payee.
        payee_hold = self._post(
            conn,
            "A",
            "/api/v1/holds/",
            {
                "account_id": self.objects["A"]["account"],
                "destination_account_id": self.objects["B"]["account"],
                "amount": "3.00",
            },
        )
        self.objects["A"]["payee_hold"] = payee_hold
        self.shared.add(payee_hold)  # it names B's account as its destination; its id stays A's
        self.shared.add(self._post(conn, "A", f"/api/v1/holds/{payee_hold}/capture/", {}, private=False))
        # Each client's event: the transaction.posted of its deposit (B never reads A's, nor the reverse).
        for owner in ("A", "B"):
            self.objects[owner]["event"] = self._event_of(owner, self.objects[owner]["deposit"])
            self.private[owner].add(self.objects[owner]["event"])

    def _event_of(self, owner: str, subject: str) -> str:
        """The id of the ``transaction.posted`` event of ``subject``, as ``owner`` lists it.

        An event is listed once every database transaction begun before its own has ended: at
        once here (the seeding's posts have committed), but it is asked again for a while."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        path = "/api/v1/events/?type=transaction.posted&page_size=200"
        while True:
            reply = call(self.conn, "GET", path, token=self.tokens[owner])
            if reply.status != 200 or not isinstance(reply.json, dict):
                raise RuntimeError(f"seeding: {path} as {owner}: {reply.describe()}")
            for event in reply.json.get("results") or []:
                if (event.get("data") or {}).get("id") == subject:
                    return event["id"]
            if time.monotonic() > deadline:
                raise RuntimeError(f"seeding: {path} as {owner} lists no event of {subject} after {EVENT_TIMEOUT} s")
            time.sleep(0.1)

    def add_endpoint(self, owner: str) -> str:
        """A new webhook endpoint of ``owner``."""
        reply = call(self.conn, "POST", WEBHOOKS, WEBHOOK_BODY, token=self.tokens[owner], key=f"authz-{uuid.uuid4()}")
        if reply.status != 201:
            raise RuntimeError(f"seeding {WEBHOOKS} as {owner}: {reply.describe()}")
        self.learn_endpoint(owner, reply)
        return reply.json["id"]

    def learn_endpoint(self, principal: str, reply: Reply) -> None:
        """Note a webhook endpoint ``principal`` created (201) or whose secret it rotated (200): its secret."""
        body = reply.json
        if not isinstance(body, dict) or not isinstance(body.get("secret"), str):
            return
        self.endpoints[body["id"]] = body["secret"]
        self.secrets[principal].add(body["secret"])
        if principal in self.private:
            self.private[principal].add(body["id"])

    def place_hold(self, owner: str) -> str:
        """A new pending hold of 1.00 on ``owner``'s first account."""
        return self._post(
            self.conn, owner, "/api/v1/holds/", {"account_id": self.objects[owner]["account"], "amount": "1.00"}
        )

    def _post(self, conn: Connection, owner: str, path: str, payload: dict, *, private: bool = True) -> str:
        reply = call(conn, "POST", path, payload, token=self.tokens[owner], key=f"authz-{uuid.uuid4()}")
        if reply.status != 201:
            raise RuntimeError(f"seeding {path} as {owner}: {reply.describe()}")
        self.learn(owner, reply, private=private)
        return reply.json["id"]

    def learn(self, owner: str, reply: Reply, *, private: bool = True) -> None:
        """Note the ids in a 201 answer to ``owner`` (the other client must never see them), and
        what it stored: transactions (a capture is one), holds, and the hold a capture resolved."""
        body = reply.json
        if not isinstance(body, dict):
            return
        ids = {body["id"]}
        if "transactions" in body:  # a batch, with the holds it placed
            ids |= {t["id"] for t in body["transactions"]} | {h["id"] for h in body.get("holds") or []}
            self.posted += len(body["transactions"])
            self.placed += len(body.get("holds") or [])
        elif "kind" in body:  # a transaction; a capture names its hold
            self.posted += 1
            if body.get("hold_id"):
                self.captures += 1
                self.captured.add(body["hold_id"])
        elif "captures" in body:  # a hold just placed
            self.placed += 1
        if private:
            self.private[owner] |= ids
        else:
            self.shared |= ids


def leaks(body: Any, foreign: set[str], shared: set[str], *, key: str = "", owner_id: str = "") -> list[str]:
    """Foreign ids in ``body``; a shared transfer may name the other client's account as its source or
    destination, and the payer's hold it captures (never in its postings)."""
    found = []
    if isinstance(body, dict):
        here = body.get("id") if isinstance(body.get("id"), str) else owner_id
        for name, value in body.items():
            found += leaks(value, foreign, shared, key=name, owner_id=here)
    elif isinstance(body, list):
        for item in body:
            found += leaks(item, foreign, shared, key=key, owner_id=owner_id)
    elif isinstance(body, str):
        for candidate in re.findall(UUID_RE, body):
            allowed = owner_id in shared and key in ("source_account_id", "destination_account_id", "hold_id")
            if candidate in foreign and not allowed:
                found.append(f"{key}={candidate}")
    return found


def schema_operations(base: str) -> dict[str, set[str]]:
    conn = Connection(base, timeout=30)
    reply = conn.request("GET", "/api/schema/?format=json", None, {"Accept": "application/json"})
    conn.close()
    if reply.status != 200:
        raise RuntimeError(f"/api/schema/: {reply.describe()}")
    return {path: {m.upper() for m in ops if m.upper() in ALL_METHODS} for path, ops in reply.json["paths"].items()}


def run(ctx: Context) -> Result:
    result = Result("authz", "5. Authorization matrix")
    started = time.monotonic()
    url = ctx.databases.clone("authz")
    from torture import authz_grpc  # imported here: it imports this module (its callers, its leak search)

    made = create_clients(url, {"authz-a": False, "authz-b": False, "authz-staff": True, **authz_grpc.API_CLIENTS})
    tokens = {"A": made["authz-a"], "B": made["authz-b"], "staff": made["authz-staff"]}
    wrong = secrets.token_hex(20)
    extra_methods = ("DELETE",) if ctx.short else ("PUT", "PATCH", "DELETE")
    cells: Counter = Counter()
    not_found: dict[tuple[str, str, str, str], dict] = {}  # 404 bodies, to compare "theirs" with "nobody's"
    with instances(Instance("authz", url, ctx.workdir, LEDGER_WEBHOOK_ALLOWED_HOSTS=WEBHOOK_HOST)) as (instance,):
        world = World(instance.base, tokens)
        operations = schema_operations(instance.base)
        result.expect(len(operations) >= 14, f"the schema lists only {len(operations)} paths")
        conn = Connection(instance.base, timeout=20)

        def ask(principal: str, method: str, path: str, payload: Any = None) -> Reply:
            token = {"anonymous": None, "wrong token": wrong}.get(principal, tokens.get(principal))
            if method in ("GET", "DELETE") or payload is None:
                headers = api_headers(token, f"authz-{uuid.uuid4()}" if method == "POST" else None)
                body = None
                if method in ("POST", "PUT", "PATCH"):
                    headers["Content-Type"], body = "application/json", b"{}"
                return conn.request(method, path, body, headers)
            return call(conn, method, path, payload, token=token, key=f"authz-{uuid.uuid4()}")

        def check(principal: str, method: str, template: str, owner: str, path: str, expected: int, reply: Reply):
            cells[(principal, expected)] += 1
            if template.startswith(WEBHOOKS):  # the caller's own endpoint, staff's too
                if reply.status in (200, 201) and principal in ("A", "B", "staff"):
                    world.learn_endpoint(principal, reply)
                if reply.status == 204 and method == "DELETE":
                    world.deleted.add(path.split("/")[4])
            elif reply.status == 201 and principal in ("A", "B", "staff"):  # whose new object is it?
                learner = principal if principal != "staff" else owner if owner in ("A", "B") else "A"
                world.learn(learner, reply, private=owner != "payee")
            if reply.status == 200 and method == "POST" and template.endswith("/void/"):
                world.voided.add(path.split("/")[4])
            label = f"{principal} {method} {path} ({template}, {owner}'s)"
            result.requests += 1
            if reply.status == 404 and principal in ("A", "B") and isinstance(reply.json, dict):
                body = {k: v for k, v in reply.json.items() if k != "request_id"}
                not_found[(principal, method, template, "theirs" if owner in ("A", "B") else owner)] = body
            result.expect(reply.status == expected, f"{label}: expected {expected}, got {reply.describe()}")
            if reply.status >= 400:
                codes = CODES.get(reply.status)
                result.expect(
                    reply.is_problem and (codes is None or reply.code in codes),
                    f"{label}: not the problem document of a {reply.status}: {reply.describe()}",
                )
            if principal in ("A", "B"):
                other = "B" if principal == "A" else "A"
                found = leaks(reply.json, world.private[other], world.shared)
                result.expect(not found, f"{label}: the answer shows {other}'s data: {found[:5]}")
                result.expect(tokens[other].encode() not in reply.body, f"{label}: the answer shows {other}'s token")
            # A secret only in the answer to its creation or rotation, and only to whom it belongs.
            shows_secret = method == "POST" and template in (WEBHOOKS, ROTATION) and reply.status in (200, 201)
            result.expect(shows_secret or b"whsec_" not in reply.body, f"{label}: the answer shows a secret")
            theirs = {s for p, shown in world.secrets.items() if p != principal for s in shown}
            found = [s[:10] + "…" for s in theirs if s.encode() in reply.body]
            result.expect(not found, f"{label}: the answer shows another caller's secret: {found[:3]}")

        def body_for(template: str, owner: str) -> dict | None:
            objects = world.objects.get(owner, {})
            account = objects.get("account", str(uuid.uuid4()))
            if template == "/api/v1/accounts/":
                return {"currency": "USD", "name": "authz"}
            if template == WEBHOOKS:
                return WEBHOOK_BODY
            if template in ("/api/v1/deposits/", "/api/v1/withdrawals/"):
                return {"account_id": account, "amount": "1.00"}
            if template == "/api/v1/transfers/":
                destination = objects.get("other_account", world.objects["A"]["account"])
                return {"source_account_id": account, "destination_account_id": destination, "amount": "1.00"}
            if template == "/api/v1/batches/":  # the hold first: a refusal names operation 0, the hold
                return {
                    "operations": [
                        {"kind": "hold", "account_id": account, "amount": "1.00"},
                        {"kind": "deposit", "account_id": account, "amount": "1.00"},
                    ]
                }
            if template == "/api/v1/holds/":
                return {"account_id": account, "amount": "1.00", "description": "authz"}
            if template.endswith("/capture/"):
                return {"description": "authorization matrix"}  # all that remains: the hold is captured
            if template.endswith("/void/"):
                return {"reason": "authorization matrix"}
            if template.endswith("/reverse/"):
                return {"reason": "authorization matrix"}
            return None

        for template, offered in sorted(operations.items()):
            collection = template.split("/")[3]
            kind = COLLECTION.get(collection, "transaction")
            has_id = "{id}" in template
            for method in (*sorted(offered), *[m for m in extra_methods if m not in offered]):
                if has_id:
                    owners: tuple[str, ...] = ("A", "B", "nobody")
                elif method == "POST" and template not in OWN_COLLECTIONS:
                    owners = ("A", "B", "nobody")  # a movement on A's account, on B's, on one that does not exist
                else:
                    owners = ("A",)  # whoever asks, the answer is about the caller's own objects
                for owner in owners:
                    for principal in PRINCIPALS:
                        if has_id:
                            reversal = template.endswith("/reverse/") and method == "POST"
                            consumes = method == "POST" and template.endswith(HOLD_ACTIONS)
                            deletes = method == "DELETE" and template == WEBHOOK_ENDPOINT and method in offered
                            if reversal and principal == "staff" and owner in ("A", "B"):
                                target = world.reversible[owner].pop()
                            elif consumes and owner in ("A", "B"):
                                target = world.place_hold(owner)  # a pending hold of its own, every cell
                            elif deletes and owner in ("A", "B"):
                                target = world.add_endpoint(owner)  # an endpoint of its own, every cell
                            else:
                                target = world.objects.get(owner, {}).get(kind, str(uuid.uuid4()))
                            path = template.replace("{id}", target)
                        else:
                            path = template
                        payload = body_for(template, owner) if method == "POST" else None
                        reply = ask(principal, method, path, payload)
                        expected = expected_status(principal, method, template, offered, owner)
                        check(principal, method, template, owner, path, expected, reply)
            # A client may pay another client's account: the payee's account is the destination.
            if template == "/api/v1/transfers/":
                for payer, payee in (("A", "B"), ("B", "A")):
                    payload = {
                        "source_account_id": world.objects[payer]["account"],
                        "destination_account_id": world.objects[payee]["account"],
                        "amount": "1.00",
                    }
                    reply = ask(payer, "POST", template, payload)
                    check(payer, "POST", template, "payee", template, 201, reply)

        # Another client's object answers exactly as an id that does not exist: nothing tells them apart.
        twins = 0
        for (principal, method, template, owner), body in sorted(not_found.items()):
            if owner == "theirs" and (principal, method, template, "nobody") in not_found:
                twin = not_found.get((principal, method, template, "nobody"))
                twins += 1
                result.expect(
                    twin == body,
                    f"{principal} {method} {template}: the 404 for another client's object {body} differs from "
                    f"the 404 for an id that does not exist {twin}",
                )

        # Staff lists show both clients' objects; each client's lists show only its own.
        for path in (
            "/api/v1/accounts/?page_size=200",
            "/api/v1/transactions/?page_size=200",
            "/api/v1/holds/?page_size=200",
            "/api/v1/events/?page_size=200",
        ):
            seen = {
                p: set(re.findall(r'"id":\s*"([0-9a-f-]{36})"', ask(p, "GET", path).body.decode()))
                for p in ("A", "B", "staff")
            }
            result.requests += 3
            kind = COLLECTION[path.split("/")[3].split("?")[0]]
            for owner in ("A", "B"):
                result.expect(world.objects[owner][kind] in seen["staff"], f"staff {path} misses {owner}'s {kind}")
                result.expect(world.objects[owner][kind] in seen[owner], f"{owner} {path} misses its own {kind}")
            result.expect(not (seen["A"] & world.private["B"]), f"A's {path} shows B's objects")
            result.expect(not (seen["B"] & world.private["A"]), f"B's {path} shows A's objects")

        # Webhook endpoints are their owner's alone: staff's list shows neither client's, each client its own.
        seen = {
            p: set(re.findall(r'"id":\s*"([0-9a-f-]{36})"', ask(p, "GET", f"{WEBHOOKS}?page_size=100").body.decode()))
            for p in ("A", "B", "staff")
        }
        result.requests += 3
        for owner in ("A", "B"):
            endpoint = world.objects[owner]["webhook_endpoint"]
            result.expect(endpoint in seen[owner], f"{owner}'s {WEBHOOKS} misses its own endpoint")
            result.expect(endpoint not in seen["staff"], f"staff's {WEBHOOKS} shows {owner}'s endpoint")
        result.expect(not (seen["A"] & world.private["B"]), f"A's {WEBHOOKS} shows B's endpoints")
        result.expect(not (seen["B"] & world.private["A"]), f"B's {WEBHOOKS} shows A's endpoints")

        # The holds' filters never reach another client's holds: B's account and no account at all
        # give the same empty page; the client's own account and status give its own holds.
        for principal, other in (("A", "B"), ("B", "A")):
            pages = {}
            for name, account in (
                ("theirs", world.objects[other]["account"]),
                ("nobody", str(uuid.uuid4())),
                ("own", world.objects[principal]["account"]),
            ):
                for status in ("", "&status=pending"):
                    path = f"/api/v1/holds/?account_id={account}{status}"
                    reply = ask(principal, "GET", path)
                    check(principal, "GET", "/api/v1/holds/", principal, path, 200, reply)
                    pages[(name, status)] = reply.json.get("results") if isinstance(reply.json, dict) else None
            for status in ("", "&status=pending"):
                theirs, nobodys = pages[("theirs", status)], pages[("nobody", status)]
                result.expect(
                    theirs == nobodys == [],
                    f"{principal}'s holds on {other}'s account{status}: {theirs!r}, on an account that does not "
                    f"exist: {nobodys!r}",
                )
                own = {h.get("id") for h in pages[("own", status)] or []}
                result.expect(
                    world.objects[principal]["hold"] in own, f"{principal}'s holds on its own account{status}: {own}"
                )
        conn.close()
        world.conn.close()

    with connect(url) as db:
        stored = db.execute("SELECT COUNT(*) FROM transactions_transaction").fetchone()[0]
        captures = db.execute("SELECT COUNT(*) FROM transactions_transaction WHERE hold_id IS NOT NULL").fetchone()[0]
        holds = dict(db.execute("SELECT public_id::text, status FROM accounts_hold").fetchall())
        endpoints = {
            row[0]: row[1:]
            for row in db.execute("SELECT public_id::text, status, secret FROM webhooks_webhookendpoint").fetchall()
        }
    result.expect(stored == world.posted, f"{stored} transactions stored, {world.posted} answered 201")
    result.expect(captures == world.captures, f"{captures} captures stored, {world.captures} answered 201")
    result.expect(len(holds) == world.placed, f"{len(holds)} holds stored, {world.placed} answered 201")
    for hold, status in sorted(holds.items()):
        expected = "captured" if hold in world.captured else "voided" if hold in world.voided else "pending"
        result.expect(status == expected, f"hold {hold} is {status}, the answers say {expected}")
    result.checked += len(holds)
    result.expect(
        set(endpoints) == set(world.endpoints),
        f"{len(endpoints)} webhook endpoints stored, {len(world.endpoints)} answered 201",
    )
    for endpoint, (status, secret) in sorted(endpoints.items()):
        expected = "deleted" if endpoint in world.deleted else "active"
        result.expect(status == expected, f"webhook endpoint {endpoint} is {status}, the answers say {expected}")
        result.expect(
            secret == world.endpoints.get(endpoint),
            f"webhook endpoint {endpoint}: its secret is not the one last shown to its owner",
        )
    result.checked += len(endpoints)
    rest = (result.requests, len(result.violations))
    try:  # The same matrix over gRPC, on the same books, by clients of its own.
        authz_grpc.run_part(ctx, result, url, made, foreign=world.private["A"] | world.private["B"] | world.shared)
    except Exception:  # A gRPC part that cannot finish is a failure to show, not a reason to drop REST's figures.
        result.violations.append(f"gRPC: the matrix could not finish:\n{traceback.format_exc()}")
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    by_principal: dict[str, Counter] = {p: Counter() for p in PRINCIPALS}
    for (principal, status), count in cells.items():
        by_principal[principal][status] += count
    over_grpc = {name: result.figures.pop(name) for name in list(result.figures) if name.startswith("gRPC")}
    result.figures.update(
        {
            "operations": f"{sum(len(m) for m in operations.values())} (method, path) pairs from the schema, plus "
            f"{', '.join(extra_methods)} on every path that does not offer them",
            **{f"expected answers to {p}": dict(sorted(c.items())) for p, c in by_principal.items()},
            "404 for another client's object = 404 for an id that does not exist": f"{twins} pairs compared",
            "transactions stored = answered 201": f"{stored} = {world.posted} ({captures} captures)",
            "holds stored = answered 201": f"{len(holds)} = {world.placed} ({len(world.captured)} captured, "
            f"{len(world.voided)} voided, the rest pending)",
            "webhook endpoints stored = answered 201": f"{len(endpoints)} = {len(world.endpoints)} "
            f"({len(world.deleted)} deleted, the rest active)",
            "REST requests, violations": f"{rest[0]} requests, {rest[1]} violations",
            **over_grpc,
            "reconcile": f"{line} (after both matrices)",
        }
    )
    result.duration = time.monotonic() - started
    return result


def expected_status(principal: str, method: str, template: str, offered: set[str], owner: str) -> int:
    if principal in ("anonymous", "wrong token"):
        return 401
    if template.endswith("/reverse/") and principal != "staff":
        return 403  # the permission is checked first, whatever the method or the transaction
    if method not in offered:
        return 405
    if template.endswith("/reverse/"):
        return 201 if owner in ("A", "B") else 404
    if template.startswith(WEBHOOKS):  # the owner's alone, staff included; a post makes the caller's own
        if "{id}" not in template:
            return 201 if method == "POST" else 200
        if principal != owner:
            return 404
        return 204 if method == "DELETE" else 200
    ok = 201 if method == "POST" and not template.endswith("/void/") else 200
    if "{id}" not in template and method == "GET":
        return ok
    if template == "/api/v1/accounts/":
        return ok
    if owner == "nobody":
        return 404
    return ok if principal in ("staff", owner) else 404

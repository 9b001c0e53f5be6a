"""An answered request leaves its objects to reference counting, not to the cycle collector.

REST framework links a view, its request and its answer in reference cycles; left alone, a
history page's rows, its paginator and the answer's body waited for a full pass of Python's
cycle collector, which comes every few hundred requests, and a worker kept about 15 MiB more
(``api.viewsets.LedgerViewSet``, docs/benchmarks.md). Each request here goes through Django's
handler as a WSGI server calls it (``ClientHandler``; the test client itself adds cycles of its
own), the collector off; then one collection with ``DEBUG_SAVEALL`` lists what only it could
have freed.
"""

from __future__ import annotations

import gc
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db.models import Model
from django.http import HttpRequest
from django.test import RequestFactory
from django.test.client import ClientHandler
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from tests.factories import AccountFactory
from transactions import services

pytestmark = pytest.mark.django_db


HANDLER = ClientHandler()  # Django's handler as a WSGI server calls it; one per process, as a worker has.


def _answer(method: str, path: str, token: str, body: bytes) -> tuple[int, bytes]:
    """Return the status and body of one request through Django's handler; the answer is then let go."""
    headers = {"authorization": f"Token {token}", "idempotency-key": f"cycles-{uuid.uuid4()}"}
    request = RequestFactory().generic(method, path, data=body, content_type="application/json", headers=headers)
    response = HANDLER(request.environ)
    return response.status_code, response.content


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Turn the cycle collector off for the test, and on again after it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _cyclic_garbage() -> list[object]:
    """Return what one collection finds unreachable: what only the cycle collector would free."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    found = list(gc.garbage)
    gc.set_debug(0)
    gc.garbage.clear()
    return found


def _requests(source: str, destination: str) -> dict[str, tuple[str, str, bytes]]:
    transfer = f'{{"source_account_id": "{source}", "destination_account_id": "{destination}", "amount": "1.00"}}'
    return {
        "history": ("GET", f"/api/v1/accounts/{source}/history/", b""),
        "account": ("GET", f"/api/v1/accounts/{source}/", b""),
        "list": ("GET", "/api/v1/transactions/", b""),
        "transfer": ("POST", "/api/v1/transfers/", transfer.encode()),
    }


@pytest.mark.parametrize("what", ["history", "account", "list", "transfer"])
def test_an_answer_leaves_no_view_response_or_rows_to_the_cycle_collector(user, collector_off, what):
    source = AccountFactory(owner=user, currency="USD")
    destination = AccountFactory(owner=user, currency="USD")
    for _ in range(60):
        services.deposit_create(actor=user, account_id=source.public_id, amount=Decimal("1.00"))
    method, path, body = _requests(str(source.public_id), str(destination.public_id))[what]
    token = user.auth_token.key
    # Once first: what a worker builds once (caches, lazy imports) is not the request's garbage.
    _answer(method, path, token, body)
    gc.collect()

    status, content = _answer(method, path, token, body)
    assert status in (200, 201), content
    garbage = _cyclic_garbage()

    kinds = Counter(type(thing).__qualname__ for thing in garbage)
    assert not [thing for thing in garbage if isinstance(thing, GenericViewSet | Response | HttpRequest)], kinds
    answer = json.loads(content)
    shown = {uuid.UUID(row.get("transaction_id") or row["id"]) for row in answer.get("results", [answer])}
    left = {getattr(thing, "public_id", thing) for thing in garbage if isinstance(thing, Model | uuid.UUID)}
    assert not shown & left, kinds  # No row the answer shows (the rows of a page, or the one posted).
    assert not [thing for thing in garbage if isinstance(thing, bytes) and thing == content], kinds
    print(f"\n{what}: {len(garbage)} objects left to the cycle collector: {kinds.most_common(8)}")

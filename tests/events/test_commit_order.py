"""Readers never skip a row that commits late: events ``after`` an id, and every list page by page.

A database transaction draws its ids (and its PostgreSQL transaction id) when it writes, and
may commit long after transactions that began later. Each test holds such a transaction open
in a thread, with its own connection, while other postings commit and a reader walks the
pages; then lets it commit, and checks that the reader, carrying on as a client would, sees
every row exactly once. Each test first checks the late row really has a lower id than rows
committed before it, so that a reader by id alone would have walked past it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from django.db import connection

from accounts.models import Account, Hold
from events.models import Event
from tests.api.helpers import assert_json, deposited, place_hold
from tests.clients import client_for
from tests.factories import AccountFactory, StaffFactory, UserFactory
from transactions import holds, services
from transactions.engine.journal import Journal
from transactions.models import Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30  # seconds a thread may wait for the test before it gives up


@contextlib.contextmanager
def held_open(write: Callable[[], Any]) -> Iterator[None]:
    """Run ``write``, a service, in another thread and connection; keep its transaction open until the block ends.

    The service runs as it always does (its own durable transaction); once it has written its
    rows, its thread waits before the transaction commits, until the block ends.
    """
    written, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    real_write = Journal.write

    def pause() -> None:
        if threading.current_thread().name == "late-commit":
            written.set()
            if not release.wait(TIMEOUT):
                raise TimeoutError("the test never released the open transaction")

    def write_then_wait(journal: Journal, **kwargs: Any) -> Any:
        written_rows = real_write(journal, **kwargs)
        pause()
        return written_rows

    def run() -> None:
        try:
            write()
        except BaseException as failure:  # Reported by the test, not lost in the thread.
            failures.append(failure)
            written.set()
        finally:
            connection.close()

    with (
        mock.patch.object(Journal, "write", write_then_wait),
        mock.patch.object(holds, "store_holds", _paused(holds.store_holds, pause)),
    ):
        thread = threading.Thread(target=run, name="late-commit")
        thread.start()
        assert written.wait(TIMEOUT)
        try:
            yield
        finally:
            release.set()
            thread.join(TIMEOUT)
    assert not failures, failures


def _paused(function: Callable[..., Any], pause: Callable[[], None]) -> Callable[..., Any]:
    def paused(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        pause()
        return result

    return paused


def walk_events(client, **params: Any) -> list[dict[str, Any]]:
    """The events after ``params['after']`` (if any), page by page, as a consumer reads them."""
    seen: list[dict[str, Any]] = []
    while True:
        page = assert_json(client.get("/api/v1/events/", {"page_size": 1, **params}), 200)
        seen += page["results"]
        if not page["results"]:
            return seen
        params = {**params, "after": page["results"][-1]["id"]}


def walk_newest_first(client, path: str) -> list[list[str]]:
    """The ids of a list, page by page, following ``next`` from the first page."""
    pages, url = [], f"{path}?page_size=2"
    while url:
        page = assert_json(client.get(url), 200)
        pages.append([row["id"] for row in page["results"]])
        url = page["next"]
    return pages


def test_a_consumer_asking_after_its_last_event_misses_none_that_commit_late():
    owner = UserFactory()
    api = client_for(owner)
    late_account, busy = AccountFactory(owner=owner), AccountFactory(owner=owner)
    deposited(api, busy.public_id, "1.00")
    read = walk_events(api)
    with held_open(lambda: services.deposit_create(actor=owner, account_id=late_account.public_id, amount="5.00")):
        later = [deposited(api, busy.public_id, "2.00")["id"] for _ in range(3)]
        # The witnesses: the later postings committed, with higher event ids than the one still open.
        committed = Event.objects.filter(subject_id__in=later).values_list("pk", flat=True)
        assert len(committed) == 3
        read += walk_events(api, after=read[-1]["id"])
        assert not {event["data"]["id"] for event in read} & set(later)  # Hidden until the open one ends.
    late_deposit = Transaction.objects.get(destination_account=late_account)
    late = Event.objects.get(type="transaction.posted", subject_id=late_deposit.public_id)
    assert late.pk < min(committed)
    read += walk_events(api, after=read[-1]["id"])
    ids = [event["id"] for event in read]
    assert len(ids) == len(set(ids))  # Nothing twice...
    everything = Event.objects.filter(readers__reader=owner).order_by("txid", "pk")
    assert sorted(ids) == sorted(str(event.public_id) for event in everything)  # ... and nothing missed,
    assert ids == [str(event.public_id) for event in everything]  # in commit order.
    assert ids.index(str(late.public_id)) < ids.index(str(Event.objects.get(subject_id=later[0]).public_id))


def _late_deposit(owner, account: Account) -> Callable[[], Any]:
    return lambda: services.deposit_create(actor=owner, account_id=account.public_id, amount="5.00")


def _late_hold(owner, account: Account) -> Callable[[], Any]:
    return lambda: holds.hold_create(actor=owner, account_id=account.public_id, amount="1.00")


@pytest.mark.parametrize(
    ("path", "late_write", "model", "write"),
    [
        ("/api/v1/transactions/", _late_deposit, Transaction, lambda api, account: deposited(api, account, "1.00")),
        ("/api/v1/deposits/", _late_deposit, Transaction, lambda api, account: deposited(api, account, "1.00")),
        (
            "/api/v1/holds/",
            _late_hold,
            Hold,
            lambda api, account: assert_json(place_hold(api, account, "1.00"), 201),
        ),
    ],
)
def test_a_list_walked_newest_first_never_skips_a_row_that_commits_late(path, late_write, model, write):
    owner = UserFactory()
    api = client_for(owner)
    late_account, busy = AccountFactory(owner=owner), AccountFactory(owner=owner)
    deposited(api, late_account.public_id, "10.00")
    deposited(api, busy.public_id, "10.00")
    for _ in range(3):
        write(api, busy.public_id)
    with held_open(late_write(owner, late_account)):
        later = [write(api, busy.public_id)["id"] for _ in range(2)]
        first_walk = walk_newest_first(api, path)
    late = model.objects.exclude(public_id__in=later).order_by("-pk").first()
    assert late.pk < min(model.objects.filter(public_id__in=later).values_list("pk", flat=True))
    walked = [row for page in first_walk for row in page]
    assert str(late.public_id) not in walked  # Not yet: it comes later,
    assert not set(later) & set(walked)  # and so do those that committed before it.
    # A client coming back reads from the top until it meets what it read: it finds every new row,
    # newest first, the late one below those that committed before it but began after it.
    fresh = [row for page in walk_newest_first(api, path) for row in page]
    assert fresh == [*reversed(later), str(late.public_id), *walked]
    assert len(fresh) == len(set(fresh)) == model.objects.filter(public_id__in=fresh).count()
    # Walking back up from the last page gives the same rows: nothing appeared inside a walked range.
    url = f"{path}?page_size=2"
    while (page := assert_json(api.get(url), 200))["next"]:
        url = page["next"]
    back = [row["id"] for row in reversed(page["results"])]
    while page["previous"]:
        page = assert_json(api.get(page["previous"]), 200)
        back += [row["id"] for row in reversed(page["results"])]
    assert back == list(reversed(fresh))


def test_staff_see_the_system_accounts_history_in_commit_order():
    owner, staff = UserFactory(), StaffFactory()
    api, staff_api = client_for(owner), client_for(staff)
    late_account, busy = AccountFactory(owner=owner), AccountFactory(owner=owner)
    system = Account.objects.get(is_system=True, currency="USD")
    path = f"/api/v1/accounts/{system.public_id}/history/"
    deposited(api, busy.public_id, "1.00")
    with held_open(_late_deposit(owner, late_account)):
        deposited(api, busy.public_id, "1.00")
        first = [row["transaction_id"] for row in assert_json(staff_api.get(path), 200)["results"]]
    now = [row["transaction_id"] for row in assert_json(staff_api.get(path), 200)["results"]]
    assert len(first) == 1
    assert len(now) == 3
    assert now[-1] == first[0]  # The two that committed later are above it, the late one among them.

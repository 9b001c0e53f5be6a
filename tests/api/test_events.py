"""The events endpoint: every change to the books as an event, with its data, to whom it may be shown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.utils import timezone

from accounts.models import Hold
from accounts.services import account_status_change
from events.models import Event
from tests.api.helpers import (
    assert_json,
    assert_problem,
    capture_hold,
    deposited,
    new_key,
    open_account,
    place_hold,
    reverse,
    transfer,
    void_hold,
    withdraw,
)
from tests.factories import AccountFactory
from tests.holds import lapse
from transactions.holds import holds_expire

EVENT_KEYS = {"id", "type", "created_at", "data"}


def events_of(client, **params: Any) -> list[dict[str, Any]]:
    """Every event ``client`` may see, walking the pages ``after`` the last one, as a consumer does."""
    seen: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        page = assert_json(client.get("/api/v1/events/", query), 200)
        assert set(page) == {"next", "previous", "results"}
        assert page["previous"] is None
        for event in page["results"]:
            assert set(event) == EVENT_KEYS
        seen += page["results"]
        if page["next"] is None:
            return seen
        assert f"after={page['results'][-1]['id']}" in page["next"]
        query = {**params, "after": page["results"][-1]["id"]}


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def one(events: list[dict[str, Any]], type: str, subject: str) -> dict[str, Any]:
    [found] = [event for event in events if event["type"] == type and event["data"]["id"] == subject]
    return found


def test_opening_an_account_and_changing_its_status_are_events(api, staff):
    account = open_account(api, name="till")
    [opened] = events_of(api)
    assert opened["type"] == "account.opened"
    assert opened["data"] == account
    account_status_change(operator=staff, account_id=account["id"], action="freeze", reason="fraud review")
    frozen = events_of(api, after=opened["id"])
    assert types_of(frozen) == ["account.status_changed"]
    assert frozen[0]["data"]["status"] == "frozen"
    assert frozen[0]["data"] == assert_json(api.get(f"/api/v1/accounts/{account['id']}/"), 200)


def test_a_deposit_is_posted_with_its_legs_balances_and_sequence_and_reads_like_the_transaction(
    api, staff_api, account
):
    first = deposited(api, account.public_id, "10.00")
    second = deposited(api, account.public_id, "2.50")
    posted = events_of(api, type="transaction.posted")
    assert [event["data"]["id"] for event in posted] == [first["id"], second["id"]]
    # The client's event is the transaction as the client reads it: its own leg only.
    assert posted[0]["data"] == first
    assert posted[1]["data"]["postings"] == [
        {"account_id": str(account.public_id), "amount": "2.50", "balance_after": "12.50", "sequence": 2}
    ]
    # Staff see the system account's leg too, exactly as they read the transaction.
    staff_event = assert_json(staff_api.get(f"/api/v1/events/{posted[0]['id']}/"), 200)
    assert staff_event["data"] == assert_json(staff_api.get(f"/api/v1/transactions/{first['id']}/"), 200)
    assert len(staff_event["data"]["postings"]) == 2


def test_a_transfer_shows_each_client_its_own_leg_and_staff_both(api, other_api, staff_api, account, other_user):
    payee = AccountFactory(owner=other_user, currency="USD")
    deposited(api, account.public_id, "50.00")
    txn = assert_json(transfer(api, account.public_id, payee.public_id, "20.00"), 201)
    mine = one(events_of(api), "transaction.posted", txn["id"])
    theirs = one(events_of(other_api), "transaction.posted", txn["id"])
    everyone = one(events_of(staff_api), "transaction.posted", txn["id"])
    assert mine["id"] == theirs["id"] == everyone["id"]
    assert mine["data"]["postings"] == [
        {"account_id": str(account.public_id), "amount": "-20.00", "balance_after": "30.00", "sequence": 2}
    ]
    assert theirs["data"]["postings"] == [
        {"account_id": str(payee.public_id), "amount": "20.00", "balance_after": "20.00", "sequence": 1}
    ]
    assert sorted(leg["account_id"] for leg in everyone["data"]["postings"]) == sorted(
        [str(account.public_id), str(payee.public_id)]
    )
    # The payee sees its account opened and the transfer; the payer's deposit is not its business.
    assert types_of(events_of(other_api)) == ["account.opened", "transaction.posted"]


def test_a_reversal_posts_and_marks_the_original_reversed(api, staff_api, account):
    original = deposited(api, account.public_id, "10.00")
    reversal = assert_json(reverse(staff_api, original["id"], reason="duplicate"), 201)
    events = events_of(staff_api)
    assert types_of(events)[-2:] == ["transaction.posted", "transaction.reversed"]
    assert events[-2]["data"] == assert_json(staff_api.get(f"/api/v1/transactions/{reversal['id']}/"), 200)
    reversed_original = events[-1]["data"]
    assert reversed_original == assert_json(staff_api.get(f"/api/v1/transactions/{original['id']}/"), 200)
    assert (reversed_original["status"], reversed_original["reversed_by"]) == ("reversed", reversal["id"])
    # The original's transaction.posted event still says what it was when it posted.
    posted = one(events, "transaction.posted", original["id"])
    assert (posted["data"]["status"], posted["data"]["reversed_by"]) == ("posted", None)
    # The client sees both, with its own legs.
    assert types_of(events_of(api, after=events[0]["id"])) == [
        "transaction.posted",
        "transaction.posted",
        "transaction.reversed",
    ]


def test_a_hold_is_created_captured_in_parts_and_each_capture_is_an_event(api, account):
    deposited(api, account.public_id, "100.00")
    hold = assert_json(place_hold(api, account.public_id, "40.00"), 201)
    first = assert_json(capture_hold(api, hold["id"], amount="15.00"), 201)
    last = assert_json(capture_hold(api, hold["id"]), 201)
    events = events_of(api)[1:]  # After the account's opening.
    assert types_of(events) == [
        "transaction.posted",
        "hold.created",
        "transaction.posted",
        "hold.captured",
        "transaction.posted",
        "hold.captured",
    ]
    assert events[1]["data"] == hold
    partial, final = events[3]["data"], events[5]["data"]
    assert (partial["status"], partial["captured_amount"], partial["captures"]) == ("pending", "15.00", [first["id"]])
    assert (final["status"], final["captured_amount"], final["remaining_amount"]) == ("captured", "40.00", "0.00")
    assert final["captures"] == [first["id"], last["id"]]
    assert final == assert_json(api.get(f"/api/v1/holds/{hold['id']}/"), 200)
    assert events[2]["data"]["hold_id"] == hold["id"]


def test_voiding_and_expiring_holds_are_events(api, account):
    deposited(api, account.public_id, "100.00")
    voided = assert_json(place_hold(api, account.public_id, "10.00"), 201)
    assert_json(void_hold(api, voided["id"]), 200)
    lapsing = assert_json(
        place_hold(api, account.public_id, "5.00", expires_at=(timezone.now() + timedelta(minutes=5)).isoformat()),
        201,
    )
    assert holds_expire(now=timezone.now() + timedelta(minutes=6)) == 1
    events = events_of(api)[2:]  # After the account's opening and the deposit.
    assert types_of(events) == ["hold.created", "hold.voided", "hold.created", "hold.expired"]
    assert (events[1]["data"]["status"], events[1]["data"]["remaining_amount"]) == ("voided", "0.00")
    expired = events[3]["data"]
    assert (expired["id"], expired["status"], expired["resolved_at"]) == (
        lapsing["id"],
        "expired",
        lapsing["expires_at"],
    )


def test_a_lapsed_hold_recorded_by_the_next_write_on_its_account_is_an_event(api, account):
    deposited(api, account.public_id, "100.00")
    hold = assert_json(
        place_hold(api, account.public_id, "5.00", expires_at=(timezone.now() + timedelta(minutes=5)).isoformat()),
        201,
    )
    lapse(Hold.objects.get(public_id=hold["id"]))
    withdrawn = assert_json(withdraw(api, account.public_id, "1.00"), 201)
    assert types_of(events_of(api))[-2:] == ["hold.expired", "transaction.posted"]
    assert events_of(api)[-1]["data"]["id"] == withdrawn["id"]


def test_a_batch_posts_an_event_per_transaction_and_hold(api, account):
    deposited(api, account.public_id, "10.00")
    body = {
        "operations": [
            {"kind": "deposit", "account_id": str(account.public_id), "amount": "1.00"},
            {"kind": "withdrawal", "account_id": str(account.public_id), "amount": "2.00"},
            {"kind": "hold", "account_id": str(account.public_id), "amount": "3.00"},
        ]
    }
    batch = assert_json(api.post("/api/v1/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()), 201)
    events = events_of(api)[2:]  # After the account's opening and the deposit.
    assert types_of(events) == ["transaction.posted", "transaction.posted", "hold.created"]
    assert [event["data"] for event in events[:2]] == batch["transactions"]
    assert events[2]["data"] == batch["holds"][0]


def test_a_refused_or_replayed_posting_writes_no_event(api, account):
    key = new_key()
    deposited(api, account.public_id, "5.00", key=key)
    before = Event.objects.count()
    assert_problem(withdraw(api, account.public_id, "6.00"), 422, "insufficient_funds")
    assert deposited(api, account.public_id, "5.00", key=key)
    assert Event.objects.count() == before


def test_a_client_never_sees_another_clients_events(api, other_api, account, other_user):
    theirs = AccountFactory(owner=other_user, currency="USD")
    deposited(other_api, theirs.public_id, "7.00")
    assert types_of(events_of(api)) == ["account.opened"]  # Its own account's.
    [_, event] = events_of(other_api)
    assert_problem(api.get(f"/api/v1/events/{event['id']}/"), 404, "not_found")
    assert_problem(api.get("/api/v1/events/", {"after": event["id"]}), 400, "validation_error", fields=("after",))


def test_the_list_filters_by_type_and_bounds_its_input(api, account):
    deposited(api, account.public_id, "1.00")
    hold = assert_json(place_hold(api, account.public_id, "1.00"), 201)
    assert [event["data"]["id"] for event in events_of(api, type="hold.created")] == [hold["id"]]
    assert_problem(api.get("/api/v1/events/", {"type": "money.moved"}), 400, "validation_error", fields=("type",))
    assert_problem(api.get("/api/v1/events/", {"after": "not-an-id"}), 400, "validation_error", fields=("after",))
    assert_problem(api.get("/api/v1/events/", {"page_size": "0"}), 400, "invalid_page_size")
    assert_problem(api.get("/api/v1/events/not-an-id/"), 404, "not_found")


def test_pages_follow_each_other_without_gaps_or_repeats(api, account):
    posted = [deposited(api, account.public_id, f"{n}.00")["id"] for n in range(1, 8)]
    walked = events_of(api, page_size=3, type="transaction.posted")
    assert [event["data"]["id"] for event in walked] == posted
    first = assert_json(api.get("/api/v1/events/", {"page_size": 3, "type": "transaction.posted"}), 200)
    assert [event["id"] for event in first["results"]] == [event["id"] for event in walked[:3]]
    assert first["next"] is not None
    caught_up = assert_json(api.get("/api/v1/events/", {"after": walked[-1]["id"]}), 200)
    assert caught_up == {"next": None, "previous": None, "results": []}


@pytest.mark.postgres
def test_events_are_immutable_in_the_database(api, account):
    deposited(api, account.public_id, "1.00")
    event = Event.objects.get(type="transaction.posted")
    for statement in ("UPDATE events_event SET type = 'hold.created'", "DELETE FROM events_event"):
        with pytest.raises(IntegrityError), db_transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Event.objects.get(pk=event.pk).type == event.type


@pytest.mark.postgres
def test_a_transaction_has_one_posted_event_in_the_database(api, account):
    deposited(api, account.public_id, "1.00")
    event = Event.objects.get(type="transaction.posted")
    with pytest.raises(IntegrityError), db_transaction.atomic():
        Event.objects.create(type=event.type, subject_id=event.subject_id, data={}, created_at=timezone.now())

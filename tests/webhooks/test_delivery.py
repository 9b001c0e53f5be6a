"""Webhook deliveries end to end: real postings, the relay, a real HTTPS receiver on localhost.

Signatures are checked by the independent implementation of ``tests.webhooks.verify``. The
retry schedule and the timeout are shortened by their settings (the code path is the same);
time is moved by writing the stored instants (a rotation's expiry, ``failing_since``), never by
patching the code.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db import transaction as db_transaction
from django.utils import timezone

from events.models import Event
from tests.factories import AccountFactory, StaffFactory, UserFactory
from tests.webhooks import verify
from tests.webhooks.helpers import body, delivery_of, deposit, posted_event, relay_round, transfer
from tests.webhooks.receiver import Answer
from webhooks import relay
from webhooks.models import FanOutCursor, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create, endpoint_rotate_secret

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client_user():
    return UserFactory(username="acme")


@pytest.fixture
def account(client_user):
    return AccountFactory(owner=client_user, currency="USD", name="acme main")


def endpoint_for(owner, receiver, types=("*",)) -> WebhookEndpoint:
    return endpoint_create(owner=owner, url=receiver.url(), event_types=list(types), description="test")


# --- a delivery -----------------------------------------------------------------------------


def test_a_posting_reaches_the_endpoint_signed_with_only_the_clients_legs(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account, "12.50")

    assert relay_round() == 1

    [request] = receiver.received
    event = posted_event(txn)
    assert request.path == "/hooks"
    assert request.headers["webhook-id"] == str(event.public_id)
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert verify.verifies(endpoint.secret, request.headers, request.body)
    assert len(verify.signatures(request.headers)) == 1
    document = body(request)
    assert (document["id"], document["type"]) == (str(event.public_id), "transaction.posted")
    assert document["data"]["id"] == str(txn.public_id)
    assert [leg["account_id"] for leg in document["data"]["postings"]] == [str(account.public_id)]
    delivery = delivery_of(endpoint, event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "succeeded",
        1,
        200,
        "",
    )
    assert delivery.next_attempt_at is None
    assert delivery.leased_until is None
    assert delivery.succeeded_at is not None


def test_events_from_before_the_endpoint_are_not_delivered(receiver, client_user, account):
    deposit(client_user, account)  # account.opened and this posting: before the endpoint.
    endpoint = endpoint_for(client_user, receiver)

    assert relay_round() == 0
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()
    assert receiver.received == []


def test_fanning_out_again_creates_no_second_delivery(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    assert relay.fan_out() == 2  # account.opened (before the endpoint: no delivery) and the posting.
    FanOutCursor.objects.update(last_txid=0, last_event_id=0)  # As if the cursor had not moved.

    assert relay.fan_out() == 2
    assert WebhookDelivery.objects.filter(endpoint=endpoint, event=posted_event(txn)).count() == 1


def test_http_calls_run_outside_any_database_transaction(receiver, client_user, account):
    """While the receiver is being asked, no connection of the relay's database is inside a transaction."""
    endpoint_for(client_user, receiver)
    deposit(client_user, account)
    seen: list[int] = []

    def count_open_transactions() -> None:
        with connections["default"].cursor() as cursor:  # The server thread's own connection.
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
            )
            seen.append(cursor.fetchone()[0])
        connections["default"].close()

    receiver.on_request.append(count_open_transactions)
    assert relay_round() == 1
    assert seen == [0]


# --- retries, timeouts, failure --------------------------------------------------------------


def test_a_500_is_retried_and_a_later_200_succeeds(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    receiver.answer(Answer(status=500, body=b"database on fire"), Answer(status=200))

    assert relay_round() == 1
    delivery = delivery_of(endpoint, posted_event(txn))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500: database on fire"
    assert delivery.next_attempt_at <= timezone.now()  # The first retry is at once.

    assert relay_round() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "succeeded",
        2,
        200,
        "",
    )
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # The receiver deduplicates by it.


def test_the_retry_schedule_spaces_the_attempts(receiver, client_user, account, settings):
    settings.LEDGER_WEBHOOK_RETRY_SCHEDULE = [0, 300]
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    receiver.answer(Answer(status=503), Answer(status=503))

    relay_round()
    relay_round()
    delivery = delivery_of(endpoint, posted_event(txn))
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    assert timedelta(seconds=290) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=300)
    assert relay_round() == 0  # Not due yet.
    assert len(receiver.received) == 2


def test_the_delivery_fails_after_the_last_retry(receiver, client_user, account, settings):
    settings.LEDGER_WEBHOOK_RETRY_SCHEDULE = [0, 0]
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    receiver.answer(*[Answer(status=500)] * 5)

    for _ in range(3):
        assert relay_round() == 1
    delivery = delivery_of(endpoint, posted_event(txn))
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert relay_round() == 0
    assert len(receiver.received) == 3


def test_an_answer_slower_than_the_timeout_fails_the_attempt(receiver, client_user, account, settings):
    settings.LEDGER_WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    receiver.answer(Answer(delay=2.0))

    began = time.monotonic()
    relay_round()
    assert time.monotonic() - began < 1.8
    delivery = delivery_of(endpoint, posted_event(txn))
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert "timed out" in delivery.last_error


def test_a_redirect_is_not_followed(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    receiver.answer(Answer(status=302, headers={"Location": receiver.url(path="/elsewhere")}))

    relay_round()
    delivery = delivery_of(endpoint, posted_event(txn))
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert "redirects are not followed" in delivery.last_error
    assert [r.path for r in receiver.received] == ["/hooks"]


def test_an_endless_answer_is_read_only_up_to_the_bound(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    receiver.answer(Answer(status=200, endless=True))

    began = time.monotonic()
    relay_round()
    assert time.monotonic() - began < 1.5  # Not the timeout: reading stopped at 64 KiB.
    assert delivery_of(endpoint, posted_event(txn)).status == "succeeded"
    time.sleep(0.2)
    assert receiver.streamed < 16 * 1024 * 1024  # It stopped writing once the relay hung up.


def test_a_certificate_the_bundle_does_not_trust_fails_the_attempt(receiver, client_user, account, settings):
    endpoint = endpoint_for(client_user, receiver)
    txn = deposit(client_user, account)
    settings.LEDGER_WEBHOOK_CA_BUNDLE = ""  # certifi's: the self-signed certificate is not in it.

    relay_round()
    delivery = delivery_of(endpoint, posted_event(txn))
    assert delivery.status == "pending"
    assert "certificate" in delivery.last_error.lower()
    assert receiver.received == []


# --- SSRF at delivery -------------------------------------------------------------------------


def test_an_address_refused_at_delivery_time_fails_the_attempt_without_a_request(
    receiver, client_user, account, settings
):
    endpoint = endpoint_for(client_user, receiver)  # Allowed when created...
    txn = deposit(client_user, account)
    settings.LEDGER_WEBHOOK_ALLOWED_HOSTS = []  # ...not any more.

    relay_round()
    delivery = delivery_of(endpoint, posted_event(txn))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == "refused: The host 127.0.0.1 resolves to 127.0.0.1, a loopback address."
    assert receiver.received == []


# --- rotation -------------------------------------------------------------------------------


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    old_secret = endpoint.secret
    rotated = endpoint_rotate_secret(owner=client_user, endpoint_id=endpoint.public_id)
    assert rotated.secret != old_secret
    assert timedelta(hours=23, minutes=59) < rotated.previous_secret_expires_at - timezone.now() <= timedelta(hours=24)

    deposit(client_user, account)
    relay_round()
    [during] = receiver.received
    assert len(verify.signatures(during.headers)) == 2
    assert verify.verifies(rotated.secret, during.headers, during.body)
    assert verify.verifies(old_secret, during.headers, during.body)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())  # 24 h on.
    deposit(client_user, account)
    relay_round()
    after = receiver.received[1]
    assert len(verify.signatures(after.headers)) == 1
    assert verify.verifies(rotated.secret, after.headers, after.body)
    assert not verify.verifies(old_secret, after.headers, after.body)


# --- visibility -----------------------------------------------------------------------------


def test_each_endpoint_receives_what_its_owner_may_see(receiver):
    alice_client, bob_client, staff = UserFactory(username="alice-co"), UserFactory(username="bob-co"), StaffFactory()
    alice = AccountFactory(owner=alice_client, currency="USD")
    bob = AccountFactory(owner=bob_client, currency="USD")
    alices, bobs, staffs = (endpoint_for(user, receiver) for user in (alice_client, bob_client, staff))
    holds_only = endpoint_for(alice_client, receiver, types=["hold.created"])
    paid_in = deposit(alice_client, alice, "20.00")
    paid_over = transfer(alice_client, alice, bob, "5.00")

    relay_round()

    def delivered(endpoint) -> dict[str, dict]:
        return {
            d.event.public_id.hex: d
            for d in WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").select_related("event")
        }

    deposit_event, transfer_event = posted_event(paid_in), posted_event(paid_over)
    assert set(delivered(alices)) == {deposit_event.public_id.hex, transfer_event.public_id.hex}
    assert set(delivered(bobs)) == {transfer_event.public_id.hex}
    assert set(delivered(staffs)) == {deposit_event.public_id.hex, transfer_event.public_id.hex}
    assert delivered(holds_only) == {}
    legs: dict[tuple[str, str], list[str]] = {}
    for request in receiver.received:
        for endpoint in (alices, bobs, staffs):
            if verify.verifies(endpoint.secret, request.headers, request.body):
                document = body(request)
                legs[(endpoint.owner.username, document["id"])] = [
                    p["account_id"] for p in document["data"]["postings"]
                ]
    transfer_id = str(transfer_event.public_id)
    assert legs[("alice-co", transfer_id)] == [str(alice.public_id)]
    assert legs[("bob-co", transfer_id)] == [str(bob.public_id)]
    assert sorted(legs[(staff.username, transfer_id)]) == sorted([str(alice.public_id), str(bob.public_id)])


# --- leases, concurrency, commit order --------------------------------------------------------


def test_a_leased_delivery_is_not_claimed_again_until_its_lease_runs_out(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    deposit(client_user, account)
    relay.fan_out()

    [first] = relay.claim(10)
    assert relay.claim(10) == []  # Another relay finds nothing due.
    WebhookDelivery.objects.filter(pk=first.delivery.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    [second] = relay.claim(10)  # The lease ran out (the first relay died, say): taken again.

    assert relay.record(first, relay.attempt(first, timeout=2)) is None  # The first relay's answer is dropped.
    assert relay.record(second, relay.attempt(second, timeout=2)) == "succeeded"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_two_relays_never_fan_out_at_once(receiver, client_user, account):
    endpoint_for(client_user, receiver)
    deposit(client_user, account)
    relay.fan_out()  # Creates the cursor row.
    deposit(client_user, account)
    locked, release = threading.Event(), threading.Event()

    def other_relay() -> None:
        with db_transaction.atomic():
            FanOutCursor.objects.select_for_update().get(pk=1)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert locked.wait(10)
        assert relay.fan_out() == 0  # Skipped, not waited for.
    finally:
        release.set()
        thread.join()
    assert relay.fan_out() == 1  # The second posting.


def test_an_event_committed_late_is_fanned_out_not_skipped(receiver, client_user, account):
    """An event whose transaction is still open holds back the fan-out; once committed, it is delivered."""
    endpoint = endpoint_for(client_user, receiver)
    second_account = AccountFactory(owner=client_user, currency="USD")
    relay_round()
    before = WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").count()
    inserted, commit = threading.Event(), threading.Event()

    def slow_posting() -> None:
        with db_transaction.atomic():
            stored = store_event_inside(client_user, second_account)
            inserted.set()
            commit.wait(10)
        connection.close()
        assert stored

    thread = threading.Thread(target=slow_posting)
    thread.start()
    try:
        assert inserted.wait(10)
        deposit(client_user, account)  # Commits after the open one drew its ids.
        assert relay.fan_out() == 0  # Below the horizon: nothing yet.
    finally:
        commit.set()
        thread.join()
    assert relay_round() == 2
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").count() == before + 2


def store_event_inside(user, account):
    """An event stored in the caller's open transaction (a service's own is durable: it cannot be held open)."""
    from events import outbox

    event = outbox.Draft(
        type=Event.Type.ACCOUNT_STATUS_CHANGED,
        subject_id=account.public_id,
        data={"id": str(account.public_id), "status": "active"},
        readers={user.pk: [str(account.public_id)]},
    )
    outbox.store([event], now=timezone.now())
    return event


# --- disabling ----------------------------------------------------------------------------------


def test_an_endpoint_failing_for_5_days_is_disabled_and_its_pending_deliveries_fail(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    deposit(client_user, account)
    deposit(client_user, account)
    relay.fan_out()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    receiver.answer(Answer(status=500), Answer(status=500))

    [claimed, *_] = relay.claim(1)
    relay.record(claimed, relay.attempt(claimed, timeout=2))

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert endpoint.disabled_at is not None
    assert "5 days" in endpoint.disabled_reason
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"failed"}
    assert relay_round() == 0


def test_a_success_clears_the_failing_streak(receiver, client_user, account):
    endpoint = endpoint_for(client_user, receiver)
    deposit(client_user, account)
    receiver.answer(Answer(status=500))
    relay_round()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    relay_round()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert endpoint.status == "active"

"""The webhook endpoints over REST: register, list, read, delete, rotate, deliveries; refusals as problems.

URLs resolve for real: 127.0.0.1 and localhost are allowed only where ``webhook_settings`` says so.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.models import Event
from tests.api.helpers import assert_problem, body_of
from tests.factories import AccountFactory
from tests.webhooks.helpers import deposit
from webhooks import relay
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

ENDPOINT_KEYS = {
    "id",
    "url",
    "event_types",
    "description",
    "status",
    "disabled_at",
    "previous_secret_expires_at",
    "created_at",
}
DELIVERY_KEYS = {
    "id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "created_at",
}
URL = "https://127.0.0.1:8443/hooks"


def create(api, url=URL, event_types=("*",), **extra):
    payload = {"url": url, "event_types": list(event_types), **extra}
    return api.post("/api/v1/webhook-endpoints/", payload, format="json")


@pytest.fixture
def created(api, webhook_settings) -> dict:
    response = create(api, description="orders")
    assert response.status_code == 201, response.content
    return body_of(response)


# --- register, read, list --------------------------------------------------------------------


def test_registering_answers_the_endpoint_with_its_secret_once(created):
    assert set(created) == ENDPOINT_KEYS | {"secret"}
    assert (created["url"], created["event_types"], created["description"]) == (URL, ["*"], "orders")
    assert (created["status"], created["disabled_at"], created["previous_secret_expires_at"]) == ("active", None, None)
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"), validate=True)) == 32


def test_the_secret_is_never_read_again(api, created):
    one = api.get(f"/api/v1/webhook-endpoints/{created['id']}/")
    listed = api.get("/api/v1/webhook-endpoints/")

    assert one.status_code == 200
    assert set(body_of(one)) == ENDPOINT_KEYS
    assert body_of(listed)["results"] == [body_of(one)]
    assert created["secret"] not in one.content.decode() + listed.content.decode()


def test_event_types_are_kept_without_repeats(api, webhook_settings):
    response = create(api, event_types=["transaction.posted", "hold.created", "transaction.posted"])
    assert body_of(response)["event_types"] == ["transaction.posted", "hold.created"]


def test_another_clients_endpoint_is_not_found(other_api, created):
    base = f"/api/v1/webhook-endpoints/{created['id']}/"
    for response in (
        other_api.get(base),
        other_api.delete(base),
        other_api.post(base + "rotate-secret/"),
        other_api.get(base + "deliveries/"),
    ):
        assert_problem(response, 404, "not_found")
    assert body_of(other_api.get("/api/v1/webhook-endpoints/"))["results"] == []


def test_staff_see_only_their_own_endpoints(staff_api, created):
    assert_problem(staff_api.get(f"/api/v1/webhook-endpoints/{created['id']}/"), 404, "not_found")


@pytest.mark.parametrize("path_id", ["not-a-uuid", "{00000000-0000-0000-0000-000000000000}", "0" * 32])
def test_an_id_not_written_as_the_api_writes_it_is_not_found(api, path_id):
    assert_problem(api.get(f"/api/v1/webhook-endpoints/{path_id}/"), 404, "not_found")


def test_anonymous_callers_are_refused(client, created):
    response = client.get("/api/v1/webhook-endpoints/")
    assert response.status_code == 401


# --- delete, rotate ---------------------------------------------------------------------------


def test_a_deleted_endpoint_is_gone_for_its_client_and_kept_as_a_row(api, created):
    response = api.delete(f"/api/v1/webhook-endpoints/{created['id']}/")

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.get(f"/api/v1/webhook-endpoints/{created['id']}/"), 404, "not_found")
    assert_problem(api.delete(f"/api/v1/webhook-endpoints/{created['id']}/"), 404, "not_found")
    assert body_of(api.get("/api/v1/webhook-endpoints/"))["results"] == []
    endpoint = WebhookEndpoint.objects.get(public_id=created["id"])
    assert endpoint.status == "deleted"
    assert endpoint.disabled_at is not None


def test_rotating_answers_a_new_secret_and_when_the_old_one_stops_signing(api, created):
    response = api.post(f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret/")

    assert response.status_code == 200, response.content
    rotated = body_of(response)
    assert set(rotated) == ENDPOINT_KEYS | {"secret"}
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    expires = parse_datetime(rotated["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - timezone.now() <= timedelta(hours=24)
    endpoint = WebhookEndpoint.objects.get(public_id=created["id"])
    assert (endpoint.secret, endpoint.previous_secret) == (rotated["secret"], created["secret"])


# --- deliveries --------------------------------------------------------------------------------


def test_the_deliveries_are_a_page_newest_first(api, user, webhook_settings):
    created = body_of(create(api, event_types=["transaction.posted"]))
    account = AccountFactory(owner=user, currency="USD")
    first, second = deposit(user, account), deposit(user, account)
    relay.fan_out()

    response = api.get(f"/api/v1/webhook-endpoints/{created['id']}/deliveries/", {"page_size": 1})

    assert response.status_code == 200
    page = body_of(response)
    assert set(page) == {"next", "previous", "results"}
    [newest] = page["results"]
    assert set(newest) == DELIVERY_KEYS
    second_event = Event.objects.get(type="transaction.posted", subject_id=second.public_id)
    assert (newest["event_id"], newest["event_type"]) == (str(second_event.public_id), "transaction.posted")
    assert (newest["status"], newest["attempts"], newest["last_status_code"], newest["last_error"]) == (
        "pending",
        0,
        None,
        "",
    )
    assert newest["next_attempt_at"] is not None
    older = body_of(api.get(page["next"]))["results"]
    assert [d["event_id"] for d in older] == [
        str(Event.objects.get(type="transaction.posted", subject_id=first.public_id).public_id)
    ]
    assert WebhookDelivery.objects.count() == 2


def test_a_tampered_deliveries_cursor_is_refused(api, created):
    url = f"/api/v1/webhook-endpoints/{created['id']}/deliveries/"
    assert_problem(api.get(url, {"cursor": "bogus"}), 400, "invalid_cursor")
    assert_problem(api.get(url, {"page_size": 0}), 400, "invalid_page_size")


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.com/hooks", "https://"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10:8443/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hooks", "loopback"),
        ("https://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("https://[fe80::1]/hooks", "link-local"),
        ("https://224.0.0.1/hooks", "multicast"),
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://100.64.0.1/hooks", "non-public"),
        ("https://localhost/hooks", "loopback"),  # A name that resolves to loopback.
        ("https://user:pw@example.com/hooks", "user name"),
        ("https:///hooks", "no host"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
        ("https://exa mple.com/", "spaces"),
    ],
)
def test_a_url_that_may_not_receive_webhooks_is_a_validation_error(api, url, why):
    problem = assert_problem(create(api, url=url), 400, "validation_error", fields=("url",))
    assert why in problem["errors"]["url"][0], problem
    assert not WebhookEndpoint.objects.exists()


def test_allowed_hosts_admit_a_private_host(api, settings):
    settings.LEDGER_WEBHOOK_ALLOWED_HOSTS = ["10.1.2.3:8443"]
    assert create(api, url="https://10.1.2.3:8443/hooks").status_code == 201
    assert_problem(create(api, url="https://10.1.2.3:9443/hooks"), 400, "validation_error", fields=("url",))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event_types": ["*"]}, "url"),
        ({"url": URL}, "event_types"),
        ({"url": URL, "event_types": []}, "event_types"),
        ({"url": URL, "event_types": ["money.moved"]}, "event_types"),
        ({"url": URL, "event_types": ["*", "hold.created"]}, "event_types"),
        ({"url": URL, "event_types": "*"}, "event_types"),
        ({"url": URL, "event_types": ["*"], "description": "x" * 501}, "description"),
        ({"url": 7, "event_types": ["*"]}, "url"),
    ],
)
def test_invalid_fields_are_named(api, webhook_settings, payload, field):
    response = api.post("/api/v1/webhook-endpoints/", payload, format="json")
    assert_problem(response, 400, "validation_error", fields=(field,))


def test_a_body_that_is_not_json_is_a_parse_error(api):
    response = api.post("/api/v1/webhook-endpoints/", b"{nope", content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_a_client_has_at_most_20_endpoints(api, webhook_settings):
    for _ in range(20):
        assert create(api).status_code == 201
    assert_problem(create(api), 400, "validation_error", fields=("url",))

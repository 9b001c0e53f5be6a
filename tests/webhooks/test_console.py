"""Webhooks in the operator console: endpoints (never their secrets), deliveries and their filters, redelivery.

Operators redeliver a failed delivery through the service (pending again, due now, a fresh
schedule, an audit record); auditors see but cannot; a delivery that is not failed is refused.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.utils import timezone

from audit.models import AuditRecord
from tests.console.helpers import AUDITORS, OPERATORS, admin_url, logged_in, make_user, messages_of
from tests.console.helpers import remake_ledger_groups as remake_groups
from tests.factories import AccountFactory, UserFactory
from tests.webhooks.helpers import deposit
from webhooks import relay
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def groups(db):
    from django.contrib.auth.models import Group

    if Group.objects.filter(name__in=[AUDITORS, OPERATORS]).count() < 2:
        remake_groups()
    return {group.name: group for group in Group.objects.filter(name__in=[AUDITORS, OPERATORS])}


@pytest.fixture
def operator(groups):
    return logged_in(make_user("operator", groups=[groups[OPERATORS]]))


@pytest.fixture
def auditor(groups):
    return logged_in(make_user("auditor", groups=[groups[AUDITORS]]))


@pytest.fixture
def endpoint(webhook_settings):
    owner = UserFactory(username="acme")
    account = AccountFactory(owner=owner, currency="USD")
    endpoint = endpoint_create(
        owner=owner, url="https://127.0.0.1:8443/hooks", event_types=["transaction.posted"], description="orders"
    )
    deposit(owner, account)
    relay.fan_out()
    return endpoint


@pytest.fixture
def failed(endpoint) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", next_attempt_at=None, attempts=9, last_status_code=500, last_error="HTTP 500: down"
    )
    delivery.refresh_from_db()
    return delivery


def test_the_endpoint_pages_never_show_the_secret(operator, endpoint):
    listed = operator.get(admin_url("webhooks_webhookendpoint_changelist"))
    shown = operator.get(admin_url("webhooks_webhookendpoint_change", endpoint.pk))

    assert (listed.status_code, shown.status_code) == (200, 200)
    html = listed.content.decode() + shown.content.decode()
    assert "https://127.0.0.1:8443/hooks" in html
    assert "acme" in html
    assert endpoint.secret not in html
    assert endpoint.secret.removeprefix("whsec_") not in html
    assert admin_url("webhooks_webhookdelivery_changelist") + f"?endpoint={endpoint.pk}" in shown.content.decode()


def test_the_deliveries_list_filters_by_status_endpoint_and_type(operator, failed, endpoint):
    def listed(query: str) -> list[WebhookDelivery]:
        response = operator.get(admin_url("webhooks_webhookdelivery_changelist") + query)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert listed("") == [failed]
    assert listed("?status=failed") == [failed]
    assert listed("?status=pending") == []
    assert listed(f"?endpoint={endpoint.pk}") == [failed]
    assert listed("?type=transaction.posted") == [failed]
    assert listed("?type=hold.created") == []
    assert listed(f"?q={failed.event.public_id}") == [failed]
    assert listed("?q=not-an-id") == []
    assert "e=1" in operator.get(admin_url("webhooks_webhookdelivery_changelist") + "?status=nope")["Location"]


def test_an_operator_redelivers_a_failed_delivery_with_a_reason(operator, failed):
    page = operator.get(admin_url("webhooks_webhookdelivery_change", failed.pk))
    redeliver_url = admin_url("webhooks_webhookdelivery_redeliver", failed.pk)
    assert redeliver_url in page.content.decode()
    assert operator.get(redeliver_url).status_code == 200

    response = operator.post(redeliver_url, {"reason": "Receiver fixed"}, follow=True, REMOTE_ADDR=IP)

    assert any("pending again" in m for m in messages_of(response))
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert failed.next_attempt_at <= timezone.now()
    record = AuditRecord.objects.get(action="redeliver_webhook")
    assert (record.target_type, record.target_id, record.reason) == (
        "webhook_delivery",
        str(failed.public_id),
        "Receiver fixed",
    )
    assert record.operator.username == "operator"
    assert record.ip_address == IP
    assert record.details["attempts"] == 9
    assert LogEntry.objects.filter(object_id=str(failed.pk), action_flag=CHANGE).exists()


def test_a_reason_is_required(operator, failed):
    response = operator.post(admin_url("webhooks_webhookdelivery_redeliver", failed.pk), {"reason": ""})
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_delivery_that_is_not_failed_is_not_redelivered(operator, endpoint):
    pending = WebhookDelivery.objects.get(endpoint=endpoint)
    url = admin_url("webhooks_webhookdelivery_redeliver", pending.pk)

    assert url not in operator.get(admin_url("webhooks_webhookdelivery_change", pending.pk)).content.decode()
    response = operator.post(url, {"reason": "try"}, follow=True)

    assert any("Only a failed delivery" in m for m in messages_of(response))
    assert not AuditRecord.objects.filter(action="redeliver_webhook").exists()


def test_auditors_see_deliveries_but_cannot_redeliver(auditor, failed):
    assert auditor.get(admin_url("webhooks_webhookdelivery_change", failed.pk)).status_code == 200
    assert auditor.post(admin_url("webhooks_webhookdelivery_redeliver", failed.pk), {"reason": "x"}).status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_staff_without_permissions_see_nothing(failed):
    bare = logged_in(make_user("bare"))
    assert bare.get(admin_url("webhooks_webhookdelivery_changelist")).status_code == 403
    assert bare.get(admin_url("webhooks_webhookendpoint_changelist")).status_code == 403


def test_nobody_adds_changes_or_deletes_webhook_rows(failed):
    root = logged_in(make_user("root", superuser=True))
    assert root.get(admin_url("webhooks_webhookendpoint_add")).status_code == 403
    assert 'name="_save"' not in root.get(admin_url("webhooks_webhookdelivery_change", failed.pk)).content.decode()
    assert root.post(admin_url("webhooks_webhookdelivery_delete", failed.pk)).status_code == 403


def test_the_webhook_grant_is_a_reversible_migration_of_its_own(groups):
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def holders(codename: str) -> set[str]:
        return set(
            Group.objects.filter(name__in=[AUDITORS, OPERATORS], permissions__codename=codename).values_list(
                "name", flat=True
            )
        )

    granted = (holders("view_webhookdelivery"), holders("view_webhookendpoint"), holders("redeliver_webhookdelivery"))
    assert granted == ({AUDITORS, OPERATORS}, {AUDITORS, OPERATORS}, {OPERATORS})
    MigrationExecutor(connection).migrate([("audit", "0007_redeliver_webhook_action")])
    assert holders("view_webhookdelivery") == holders("redeliver_webhookdelivery") == set()
    assert holders("view_hold") == {AUDITORS, OPERATORS}  # An earlier grant stays.
    MigrationExecutor(connection).migrate([("audit", "0008_webhook_permissions")])
    assert holders("redeliver_webhookdelivery") == {OPERATORS}

"""What ``/metrics`` reads from the database for the alerts: failed webhook deliveries, reconciliation, the replica."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.utils import timezone

from events.models import Event
from events.outbox import Draft, store
from harness.ports import free_port
from ledger_project import metrics
from reconciliation.models import ReconciliationRun
from tests.factories import UserFactory
from tests.scrapes import sample, scrape
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


# --- failed webhook deliveries ------------------------------------------------------------------


def deliveries(*statuses: str) -> None:
    """One delivery of a new event to one endpoint per status given."""
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        owner=UserFactory(), url="https://example.com/hook", event_types=["*"], secret="whsec_x", created_at=now
    )
    drafts = [Draft(type="account.opened", subject_id=uuid.uuid4(), data={}, readers={}) for _ in statuses]
    store(drafts, now=now)
    events = Event.objects.filter(public_id__in=[d.public_id for d in drafts]).order_by("pk")
    for event, status in zip(events, statuses, strict=True):
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            status=status,
            created_at=now,
            next_attempt_at=now if status == "pending" else None,
            succeeded_at=now if status == "succeeded" else None,
        )


def test_metrics_count_the_webhook_deliveries_given_up(settings):
    deliveries("failed", "failed", "pending", "succeeded")

    exposition = scrape(settings)

    assert sample(exposition, "ledger_webhook_deliveries_failed") == 2
    assert sample(exposition, "ledger_webhook_deliveries_pending") == 1
    assert "# TYPE ledger_webhook_deliveries_failed gauge" in exposition


def test_a_redelivered_delivery_no_longer_counts_as_failed(settings):
    deliveries("failed", "failed")
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.order_by("pk").first().pk).update(
        status="pending", next_attempt_at=timezone.now()
    )

    assert sample(scrape(settings), "ledger_webhook_deliveries_failed") == 1


def test_without_failed_deliveries_the_count_is_zero(settings):
    assert sample(scrape(settings), "ledger_webhook_deliveries_failed") == 0


def test_the_failed_deliveries_are_counted_on_their_partial_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test table is tiny: make the planner show its choice
    plan = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).values("pk").explain()

    assert "delivery_failed_idx" in plan


# --- reconciliation -----------------------------------------------------------------------------


def run(scope: str, result: str, *, hours_ago: float) -> ReconciliationRun:
    started = timezone.now() - timedelta(hours=hours_ago)
    return ReconciliationRun.objects.create(
        started_at=started,
        finished_at=started + timedelta(seconds=90),
        scope=scope,
        scope_account="acc_x" if scope == "account" else "",
        result=result,
        run_by="test",
    )


def test_metrics_show_when_the_latest_full_reconciliation_finished_and_that_it_was_clean(settings):
    run("all", "discrepancies", hours_ago=30)
    latest = run("all", "clean", hours_ago=6)
    run("account", "discrepancies", hours_ago=1)  # one account only: not the books' state

    exposition = scrape(settings)

    assert sample(exposition, "ledger_reconcile_last_run_timestamp_seconds") == pytest.approx(
        latest.finished_at.timestamp()
    )
    assert sample(exposition, "ledger_reconcile_last_run_failed") == 0


@pytest.mark.parametrize("result", ["discrepancies", "error"])
def test_a_latest_full_run_with_discrepancies_or_an_error_shows_as_failed(settings, result):
    run("all", "clean", hours_ago=30)
    run("all", result, hours_ago=2)

    assert sample(scrape(settings), "ledger_reconcile_last_run_failed") == 1


def test_before_any_full_run_the_reconciliation_metrics_are_absent(settings):
    run("since", "clean", hours_ago=1)

    exposition = scrape(settings)

    assert "ledger_reconcile_last_run_timestamp_seconds " not in exposition
    assert "ledger_reconcile_last_run_failed " not in exposition


def test_a_database_that_does_not_answer_leaves_the_reconciliation_out(settings, monkeypatch, caplog):
    run("all", "clean", hours_ago=1)

    def unreachable(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(ReconciliationRun.objects, "filter", unreachable)

    exposition = scrape(settings)

    assert "ledger_reconcile_last_run_failed " not in exposition
    assert sample(exposition, "ledger_webhook_deliveries_pending") == 0  # the rest of the scrape is there
    assert "reconciliation left out of the metrics" in caplog.text


# --- the read replica ---------------------------------------------------------------------------


@pytest.fixture
def replica(settings, monkeypatch):
    """Configure a replica alias; return a function that points it at a database wrapper."""

    def point_at(wrapper) -> None:
        monkeypatch.setitem(settings.DATABASES, "replica", wrapper.settings_dict)
        monkeypatch.setattr(metrics, "connections", {"default": connections["default"], "replica": wrapper})

    return point_at


def test_without_a_replica_configured_no_replica_metrics(settings):
    assert "replica" not in settings.DATABASES

    exposition = scrape(settings)
    for family in ("ledger_replica_up", "ledger_replica_lag_bytes", "ledger_replica_lag_seconds"):
        assert family not in exposition


def test_a_replica_that_has_everything_the_primary_wrote_shows_no_lag(settings, replica):
    replica(connections["default"])  # the same database: nothing to replay

    exposition = scrape(settings)

    assert sample(exposition, "ledger_replica_up") == 1
    assert sample(exposition, "ledger_replica_lag_bytes") == 0
    assert sample(exposition, "ledger_replica_lag_seconds") == 0


def test_a_replica_that_does_not_answer_shows_as_down_without_a_lag(settings, replica, caplog):
    down = DatabaseWrapper({**connections["default"].settings_dict, "PORT": str(free_port())}, alias="unreachable")
    replica(down)

    try:
        exposition = scrape(settings)
    finally:
        down.close()

    assert sample(exposition, "ledger_replica_up") == 0
    assert "ledger_replica_lag_bytes " not in exposition
    assert "ledger_replica_lag_seconds " not in exposition
    assert "the replica did not answer the metrics" in caplog.text


class Answering:
    """A stand-in for a standby's connection: its cursor answers the lag query with ``row``."""

    def __init__(self, row: tuple[object, ...]) -> None:
        self.row = row
        self.asked: list[tuple[str, list[str]]] = []

    def cursor(self) -> Answering:
        return self

    def __enter__(self) -> Answering:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: list[str]) -> None:
        self.asked.append((sql, params))

    def fetchone(self) -> tuple[object, ...]:
        return self.row


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ((True, 8192, 4.5), metrics.ReplicaLag(bytes_behind=8192, seconds_behind=4.5)),
        ((True, 0, 600.0), metrics.ReplicaLag(bytes_behind=0, seconds_behind=0.0)),  # idle, caught up
        ((True, -120, 3.0), metrics.ReplicaLag(bytes_behind=0, seconds_behind=0.0)),  # replayed past what we asked
        ((True, 512, None), metrics.ReplicaLag(bytes_behind=512, seconds_behind=None)),  # nothing replayed yet
        ((False, None, None), metrics.ReplicaLag(bytes_behind=0, seconds_behind=0.0)),  # not a standby
    ],
)
def test_a_standbys_lag_is_what_it_has_not_replayed_of_the_primarys_position(row, expected):
    standby = Answering(row)

    assert metrics.replica_lag(standby, "0/3000060") == expected  # type: ignore[arg-type]
    assert standby.asked[0][1] == ["0/3000060"]


def test_the_primarys_position_is_an_lsn_the_lag_query_accepts():
    written = metrics.primary_wal_position(connection)

    assert metrics.replica_lag(connection, written) == metrics.ReplicaLag(bytes_behind=0, seconds_behind=0.0)
    assert "/" in written

"""The Prometheus exposition of ``ledger.metrics``, at ``/metrics`` to the bearer token.

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set (see
``gunicorn.conf.py``) and every worker writes its samples there; the scrape aggregates them.
There the master also serves them, without a token, on ``LEDGER_METRICS_BIND``: a port of its
own, which the public proxy does not route to.

What is read from the database at scrape time rather than counted (:class:`OpenHoldsCollector`:
the open holds and what they reserve, by currency; :class:`EventsPublishingCollector`: how far
the broker publisher lags and when it last ran; :class:`WebhookDeliveriesCollector`: the pending
webhook deliveries, how late they are, and those given up; :class:`ReconciliationCollector`: the
latest full reconciliation; :class:`ReplicaCollector`: the read replica's lag) is collected by
the worker that answers ``/metrics``, alongside either registry (:func:`scrape_registry`); the
master's listener, which has no database, leaves it out. Each is a few indexed queries, never a
scan of the postings, and a database that does not answer leaves only its own metrics out (logged).
Every instance reads the same database, so these report the same values from every instance:
deploy/prometheus/alerts.yml takes their max() or min(), never their sum().
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import Error as DatabaseFailure
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, F, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from accounts.models import Hold
from events.broker import publishing_status
from reconciliation.models import ReconciliationRun
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)


class OpenHoldsCollector(Collector):
    """``ledger_holds_open`` and ``ledger_holds_open_amount_minor`` by currency, read at scrape time.

    An open hold is pending and not yet past its ``expires_at`` (a lapsed one reserves nothing,
    recorded or not); its amount is what it still reserves (amount less captured). One grouped
    query over the pending holds' partial index; every configured currency is reported, 0 when
    it has none. If the database cannot answer, the scrape goes on without them (logged).
    """

    def describe(self) -> Iterable[Metric]:
        """Name the metrics without reading the database (asked when the collector is registered)."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return the open holds of each currency, or nothing if the database cannot answer."""
        try:
            rows = list(
                Hold.objects.filter(status=Hold.Status.PENDING, expires_at__gt=timezone.now())
                .values("currency")
                .annotate(holds=Count("pk"), reserved=Sum(F("amount_minor") - F("captured_minor")))
                .order_by("currency")
            )
        except DatabaseFailure as exc:
            logger.warning("open holds left out of the metrics: the database did not answer: %s", exc)
            return []
        found = {row["currency"]: (int(row["holds"]), int(row["reserved"] or 0)) for row in rows}
        count, amount = self._families()
        for currency in sorted(set(settings.LEDGER_CURRENCIES) | set(found)):
            holds, reserved = found.get(currency, (0, 0))
            count.add_metric([currency], holds)
            amount.add_metric([currency], reserved)
        return [count, amount]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "ledger_holds_open", "Holds pending and not yet expired, by currency.", labels=["currency"]
            ),
            GaugeMetricFamily(
                "ledger_holds_open_amount_minor",
                "What the open holds still reserve, in minor units of the currency.",
                labels=["currency"],
            ),
        ]


OPEN_HOLDS = OpenHoldsCollector()


class EventsPublishingCollector(Collector):
    """How the publishing of events to the broker (``events.broker``) keeps up, read at scrape time.

    Only with ``LEDGER_EVENTS_BROKER_URL`` set (otherwise nothing publishes, and nothing is late):

    - ``ledger_events_broker_lag_seconds``: the age of the oldest committed event the broker has
      not confirmed (the first after the cursor in commit order), 0 when none waits. Events above
      the commit horizon count too: a transaction left open somewhere holds publishing back, and
      that is lag.
    - ``ledger_events_broker_heartbeat_age_seconds``: seconds since a publisher last took the
      cursor's lease (every round of a live relay does); absent until one ever has.

    Two short queries (the cursor row, the first event after it on the commit-order index). If
    the database cannot answer, the scrape goes on without them (logged).
    """

    def describe(self) -> Iterable[Metric]:
        """Name the metrics without reading the database."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return the lag and the heartbeat's age, or nothing without a broker or a database."""
        if not settings.LEDGER_EVENTS_BROKER_URL:
            return []
        try:
            status = publishing_status()
        except DatabaseFailure as exc:
            logger.warning("event publishing left out of the metrics: the database did not answer: %s", exc)
            return []
        now = timezone.now()
        lag, heartbeat = self._families()
        lag.add_metric([], status.lag_seconds(now))
        families = [lag]
        if status.heartbeat_at is not None:
            heartbeat.add_metric([], max(0.0, (now - status.heartbeat_at).total_seconds()))
            families.append(heartbeat)
        return families

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "ledger_events_broker_lag_seconds",
                "Age of the oldest committed event the message broker has not confirmed; 0 when none waits.",
            ),
            GaugeMetricFamily(
                "ledger_events_broker_heartbeat_age_seconds",
                "Seconds since a broker publisher (relay_events) last took its lease.",
            ),
        ]


EVENTS_PUBLISHING = EventsPublishingCollector()


class WebhookDeliveriesCollector(Collector):
    """How the webhook deliveries keep up, read at scrape time (one grouped query over the pending ones).

    - ``ledger_webhook_deliveries_pending``: deliveries not yet succeeded or failed;
    - ``ledger_webhook_deliveries_oldest_pending_seconds``: the age of the oldest of them (0 when
      none): a receiver that keeps failing holds it up for as long as its retries last;
    - ``ledger_webhook_deliveries_overdue_seconds``: how long the most overdue pending delivery
      has been due (0 when none is): the relays falling behind, whatever the receivers answer;
    - ``ledger_webhook_deliveries_failed``: deliveries given up (the retry schedule ran out),
      stored until redelivered, which lowers it again; counted on their partial index
      (``delivery_failed_idx``). A gauge, not a counter: alert on its rise.

    If the database cannot answer, the scrape goes on without them (logged).
    """

    def describe(self) -> Iterable[Metric]:
        """Name the metrics without reading the database."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return the pending deliveries' count and ages and the failed ones' count, or nothing without a database."""
        try:
            found = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).aggregate(
                pending=Count("pk"), oldest=Min("created_at"), due=Min("next_attempt_at")
            )
            given_up = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count()
        except DatabaseFailure as exc:
            logger.warning("webhook deliveries left out of the metrics: the database did not answer: %s", exc)
            return []
        now = timezone.now()
        pending, oldest, overdue, failed = self._families()
        pending.add_metric([], int(found["pending"] or 0))
        oldest.add_metric([], 0.0 if found["oldest"] is None else max(0.0, (now - found["oldest"]).total_seconds()))
        overdue.add_metric([], 0.0 if found["due"] is None else max(0.0, (now - found["due"]).total_seconds()))
        failed.add_metric([], given_up)
        return [pending, oldest, overdue, failed]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily("ledger_webhook_deliveries_pending", "Webhook deliveries pending."),
            GaugeMetricFamily(
                "ledger_webhook_deliveries_oldest_pending_seconds",
                "Age of the oldest pending webhook delivery; 0 when none is pending.",
            ),
            GaugeMetricFamily(
                "ledger_webhook_deliveries_overdue_seconds",
                "How long the most overdue pending webhook delivery has been due; 0 when none is overdue.",
            ),
            GaugeMetricFamily(
                "ledger_webhook_deliveries_failed",
                "Webhook deliveries given up after their last retry and not redelivered.",
            ),
        ]


WEBHOOK_DELIVERIES = WebhookDeliveriesCollector()


class ReconciliationCollector(Collector):
    """The latest full reconciliation (``manage.py reconcile`` over all accounts), read at scrape time.

    - ``ledger_reconcile_last_run_timestamp_seconds``: when its checks finished (Unix time);
    - ``ledger_reconcile_last_run_failed``: 1 if it found discrepancies or did not finish
      (``result`` ``discrepancies`` or ``error``), 0 if it came out clean.

    Runs over one account or since a time check only part of the books and do not count. Both
    are absent until a full run has been recorded. One query: the newest full run, on the
    ``started_at`` index. If the database cannot answer, the scrape goes on without them (logged).
    """

    def describe(self) -> Iterable[Metric]:
        """Name the metrics without reading the database."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return the latest full run's finish time and outcome, or nothing without one or a database."""
        try:
            latest = (
                ReconciliationRun.objects.filter(scope=ReconciliationRun.Scope.ALL)
                .order_by("-started_at")
                .values("finished_at", "result")
                .first()
            )
        except DatabaseFailure as exc:
            logger.warning("reconciliation left out of the metrics: the database did not answer: %s", exc)
            return []
        if latest is None:
            return []
        finished, failed = self._families()
        finished.add_metric([], latest["finished_at"].timestamp())
        failed.add_metric([], 0 if latest["result"] == ReconciliationRun.Result.CLEAN else 1)
        return [finished, failed]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "ledger_reconcile_last_run_timestamp_seconds",
                "When the latest full reconciliation finished, in seconds since the epoch.",
            ),
            GaugeMetricFamily(
                "ledger_reconcile_last_run_failed",
                "1 if the latest full reconciliation found discrepancies or did not finish, else 0.",
            ),
        ]


RECONCILIATION = ReconciliationCollector()


@dataclass(frozen=True)
class ReplicaLag:
    """How far a read replica is behind the primary, in WAL bytes and in seconds (None: unknown).

    Invariants: both are 0 when the replica has replayed everything the primary had written when
    asked; ``seconds_behind`` is otherwise the replica's clock less the commit time of the last
    transaction it replayed, None if it has replayed none since it started.
    """

    bytes_behind: int
    seconds_behind: float | None


def primary_wal_position(primary: BaseDatabaseWrapper) -> str:
    """Return how far the primary has written its WAL (an LSN); raises :class:`django.db.Error` if it cannot answer."""
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        row = cursor.fetchone()
    return str(row[0])


def replica_lag(replica: BaseDatabaseWrapper, written: str) -> ReplicaLag:
    """Return how far ``replica`` is behind the primary's WAL position ``written`` (one short query).

    Ask the primary first (:func:`primary_wal_position`): a primary writing meanwhile then never
    makes the lag look larger than it was. A "replica" that is not in recovery (the primary
    itself, or a promoted standby) has nothing to replay: its lag is 0. Raises
    :class:`django.db.Error` if the replica cannot answer.
    """
    with replica.cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()),"
            " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())",
            [written],
        )
        in_recovery, behind, since_replayed = cursor.fetchone()
    if not in_recovery or behind is None or behind <= 0:
        return ReplicaLag(bytes_behind=0, seconds_behind=0.0)
    seconds = None if since_replayed is None else max(0.0, float(since_replayed))
    return ReplicaLag(bytes_behind=int(behind), seconds_behind=seconds)


REPLICA = "replica"


class ReplicaCollector(Collector):
    """The read replica's state, read at scrape time, only where one is configured (``DATABASE_REPLICA_URL``).

    - ``ledger_replica_up``: 1 if the replica answered this instance, 0 if it did not;
    - ``ledger_replica_lag_bytes``: WAL the primary has written and the replica not yet replayed;
    - ``ledger_replica_lag_seconds``: 0 when it has replayed everything, else the age of the last
      transaction it replayed (absent while unknown: nothing replayed since it started).

    See :func:`replica_lag`. With the replica down, only ``up`` (0); with the primary down,
    nothing (logged): the lag cannot be known.
    """

    def describe(self) -> Iterable[Metric]:
        """Name the metrics without reading the database."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return the replica's state, or nothing without a replica configured or a primary answering."""
        if REPLICA not in settings.DATABASES:
            return []
        try:
            written = primary_wal_position(connections["default"])
        except DatabaseFailure as exc:
            logger.warning("the replica's lag left out of the metrics: the primary did not answer: %s", exc)
            return []
        up, lag_bytes, lag_seconds = self._families()
        try:
            lag = replica_lag(connections[REPLICA], written)
        except DatabaseFailure as exc:
            logger.warning("the replica did not answer the metrics: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        lag_bytes.add_metric([], lag.bytes_behind)
        families = [up, lag_bytes]
        if lag.seconds_behind is not None:
            lag_seconds.add_metric([], lag.seconds_behind)
            families.append(lag_seconds)
        return families

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily("ledger_replica_up", "1 if the read replica answered this instance, else 0."),
            GaugeMetricFamily(
                "ledger_replica_lag_bytes", "WAL the primary has written that the read replica has not replayed."
            ),
            GaugeMetricFamily(
                "ledger_replica_lag_seconds",
                "0 when the read replica has replayed all the primary wrote, else its last replayed transaction's age.",
            ),
        ]


REPLICA_STATE = ReplicaCollector()

# What every scrape reads from the database, beside the counted metrics.
DATABASE_COLLECTORS: tuple[Collector, ...] = (
    OPEN_HOLDS,
    EVENTS_PUBLISHING,
    WEBHOOK_DELIVERIES,
    RECONCILIATION,
    REPLICA_STATE,
)


def scrape_registry() -> CollectorRegistry:
    """Return what a scrape exposes: the counted metrics, and what the collectors above read from the database.

    Multiprocess (``PROMETHEUS_MULTIPROC_DIR``): every worker's samples, aggregated. Otherwise
    this process's default registry, wrapped rather than changed, so that nothing else reading
    it (``REGISTRY.get_sample_value``) queries the database.
    """
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    for collector in DATABASE_COLLECTORS:
        registry.register(collector)
    return registry


def _allowed(request: HttpRequest) -> bool:
    """Return whether the caller offers the token, or comes from a network allowed without it (none by default)."""
    token = settings.LEDGER_METRICS_TOKEN
    if token:
        offered = request.headers.get("Authorization", "")
        if secrets.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.LEDGER_METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the Prometheus exposition; 403 unless the caller has the token or is on an allowed network."""
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)

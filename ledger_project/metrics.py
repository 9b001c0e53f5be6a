"""The Prometheus exposition of ``ledger.metrics``, at ``/metrics`` to the bearer token.

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set (see
``gunicorn.conf.py``) and every worker writes its samples there; the scrape aggregates them.
There the master also serves them, without a token, on ``LEDGER_METRICS_BIND``: a port of its
own, which the public proxy does not route to.

What is read from the database at scrape time rather than counted (:class:`OpenHoldsCollector`:
the open holds and what they reserve, by currency; :class:`EventsPublishingCollector`: how far
the broker publisher lags and when it last ran; :class:`WebhookDeliveriesCollector`: the pending
webhook deliveries and how late they are) is collected by the worker that answers
``/metrics``, alongside either registry (:func:`scrape_registry`); the master's listener, which
has no database, leaves it out.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import Error as DatabaseFailure
from django.db.models import Count, F, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from accounts.models import Hold
from events.broker import publishing_status
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
      has been due (0 when none is): the relays falling behind, whatever the receivers answer.

    If the database cannot answer, the scrape goes on without them (logged).
    """

    def describe(self) -> Iterable[Metric]:
        """Name the metrics without reading the database."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """Return the pending deliveries' count and ages, or nothing if the database cannot answer."""
        try:
            found = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).aggregate(
                pending=Count("pk"), oldest=Min("created_at"), due=Min("next_attempt_at")
            )
        except DatabaseFailure as exc:
            logger.warning("webhook deliveries left out of the metrics: the database did not answer: %s", exc)
            return []
        now = timezone.now()
        pending, oldest, overdue = self._families()
        pending.add_metric([], int(found["pending"] or 0))
        oldest.add_metric([], 0.0 if found["oldest"] is None else max(0.0, (now - found["oldest"]).total_seconds()))
        overdue.add_metric([], 0.0 if found["due"] is None else max(0.0, (now - found["due"]).total_seconds()))
        return [pending, oldest, overdue]

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
        ]


WEBHOOK_DELIVERIES = WebhookDeliveriesCollector()


def scrape_registry() -> CollectorRegistry:
    """Return what a scrape exposes: the counted metrics, and what is read from the database (holds, publishing).

    Multiprocess (``PROMETHEUS_MULTIPROC_DIR``): every worker's samples, aggregated. Otherwise
    this process's default registry, wrapped rather than changed, so that nothing else reading
    it (``REGISTRY.get_sample_value``) queries the database.
    """
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(OPEN_HOLDS)
    registry.register(EVENTS_PUBLISHING)
    registry.register(WEBHOOK_DELIVERIES)
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

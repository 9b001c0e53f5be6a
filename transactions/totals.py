"""Daily transaction counts and volumes per currency and kind, fast on a ledger of millions.

A settled day's figures are counted once and stored (``DailyTotal``); the days not yet
settled are counted live over the ``created_at`` index, so a read touches at most a day or two
of transactions however big the ledger grows, and no posting writes to a shared row.

A day is settled once ``SETTLE_MARGIN`` has passed since it ended: a transaction's
``created_at`` is taken inside the database transaction that posts it, and every write is
bounded (``statement_timeout``, ``lock_timeout``, ``idle_in_transaction_session_timeout``:
seconds, see ``ledger_project.settings``), so a margin of an hour leaves no open write that
could still commit a transaction dated on that day.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from transactions.models import DailyTotal, Transaction

SETTLE_MARGIN = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class DayTotal:
    """The transactions of one kind and currency created on ``day``: how many, and their amounts' sum."""

    day: datetime.date
    currency: str
    kind: str
    count: int
    volume_minor: int


def _start_of(day: datetime.date) -> datetime.datetime:
    """Return the instant ``day`` begins in the current time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _runs(days: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Return sorted ``days`` as runs of consecutive days: ``(first, last)`` each."""
    runs: list[tuple[datetime.date, datetime.date]] = []
    for day in days:
        if runs and day == runs[-1][1] + datetime.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _counted(days: list[datetime.date]) -> list[DayTotal]:
    """Count the transactions created on ``days`` (sorted) by day, currency and kind: one query.

    Each run of consecutive days is one range of the ``created_at`` index, so the days between
    runs (stored already) are not read again.
    """
    ranges = Q()
    for first, last in _runs(days):
        ranges |= Q(created_at__gte=_start_of(first), created_at__lt=_start_of(last + datetime.timedelta(days=1)))
    rows = (
        Transaction.objects.filter(ranges)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "currency", "kind")
        .annotate(count=Count("pk"), volume_minor=Sum("amount_minor"))
        .order_by()
    )
    return [DayTotal(**row) for row in rows]


def settled_before(now: datetime.datetime | None = None) -> datetime.date:
    """Return the first day that is not settled yet at ``now``: every day before it is."""
    return timezone.localdate((now or timezone.now()) - SETTLE_MARGIN)


def _days(first: datetime.date, last: datetime.date) -> Iterable[datetime.date]:
    return (first + datetime.timedelta(days=n) for n in range((last - first).days + 1))


def daily_totals(*, first: datetime.date, last: datetime.date, now: datetime.datetime | None = None) -> list[DayTotal]:
    """Return the totals of every day from ``first`` to ``last``, sorted by day, currency and kind.

    Settled days are read from ``DailyTotal``; those not stored yet are counted in one query
    and stored (all of a day's rows at once, so a day with any row is complete; a racing
    reader's identical rows are ignored). A settled day without transactions has no row, so it
    is counted again, by index probes only. Days not settled are counted live and not stored.
    At most three queries.
    """
    if last < first:
        return []
    boundary = settled_before(now)
    settled_last = min(last, boundary - datetime.timedelta(days=1))
    totals: list[DayTotal] = []
    if first <= settled_last:
        stored = [
            DayTotal(day=row.day, currency=row.currency, kind=row.kind, count=row.count, volume_minor=row.volume_minor)
            for row in DailyTotal.objects.filter(day__gte=first, day__lte=settled_last)
        ]
        stored_days = {total.day for total in stored}
        missing = [day for day in _days(first, settled_last) if day not in stored_days]
        totals += stored
        if missing:
            counted = _counted(missing)
            DailyTotal.objects.bulk_create(
                [DailyTotal(**total.__dict__) for total in counted], ignore_conflicts=True, batch_size=1000
            )
            totals += counted
    live_first = max(first, boundary)
    if live_first <= last:
        totals += _counted(list(_days(live_first, last)))
    return sorted(totals, key=lambda total: (total.day, total.currency, total.kind))

"""The console's index for staff who may read the books: what moved today and this month, at a glance.

Per currency: today's and the last 30 days' counts and volumes by kind with a chart of each
day (``transactions.totals``: settled days are stored once, so the page reads a few hundred
rows however many postings the ledger holds), the open holds, the last reconciliation run,
how far event publishing lags, the accounts frozen lately and the latest reversals. A fixed
number of queries, whatever the size of the books (``tests/console/test_dashboard.py``).

Staff without ``transactions.view_transaction`` get Django's app list only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import open_holds_by_currency
from audit.models import AuditRecord
from console.tools import admin_pages_of, money, short_id, when
from events.broker import publishing_status
from ledger.money import currencies, format_minor
from reconciliation.models import ReconciliationRun
from transactions.models import Transaction
from transactions.totals import daily_totals

DAYS = 30
LATEST = 8
KINDS = [kind for kind, _ in Transaction.Kind.choices]


@dataclass
class CurrencyFigures:
    """One currency's figures: per kind today's and the period's count and volume, and each day's volume."""

    currency: str
    today: dict[str, list[int]] = field(default_factory=lambda: {kind: [0, 0] for kind in KINDS})
    period: dict[str, list[int]] = field(default_factory=lambda: {kind: [0, 0] for kind in KINDS})
    daily: dict[str, list[int]] = field(default_factory=lambda: {kind: [0] * DAYS for kind in KINDS})
    open_holds: int = 0
    reserved_minor: int = 0

    def rows(self) -> list[dict[str, Any]]:
        """The table's rows: one per kind, with money in the currency's digits."""
        return [
            {
                "kind": Transaction.Kind(kind).label,
                "today_count": self.today[kind][0],
                "today_volume": money(self.today[kind][1], self.currency),
                "period_count": self.period[kind][0],
                "period_volume": money(self.period[kind][1], self.currency),
            }
            for kind in KINDS
        ]

    @property
    def active(self) -> bool:
        return any(count for count, _ in self.period.values()) or self.open_holds > 0


def _figures(today: datetime.date) -> list[CurrencyFigures]:
    first = today - datetime.timedelta(days=DAYS - 1)
    figures = {code: CurrencyFigures(code) for code in currencies()}
    for total in daily_totals(first=first, last=today):
        currency = figures.setdefault(total.currency, CurrencyFigures(total.currency))
        for bucket in [currency.period] + ([currency.today] if total.day == today else []):
            bucket[total.kind][0] += total.count
            bucket[total.kind][1] += total.volume_minor
        currency.daily[total.kind][(total.day - first).days] += total.volume_minor
    for code, (count, reserved) in open_holds_by_currency().items():
        currency = figures.setdefault(code, CurrencyFigures(code))
        currency.open_holds, currency.reserved_minor = count, reserved
    return list(figures.values())


def _chart(figures: list[CurrencyFigures], today: datetime.date) -> dict[str, Any]:
    """The chart's data (``json_script``): each active currency's daily volume per kind, in major units as text."""
    first = today - datetime.timedelta(days=DAYS - 1)
    return {
        "days": [(first + datetime.timedelta(days=n)).isoformat() for n in range(DAYS)],
        "kinds": [Transaction.Kind(kind).label for kind in KINDS],
        "currencies": {
            f.currency: [[format_minor(v, f.currency) for v in f.daily[kind]] for kind in KINDS]
            for f in figures
            if f.active
        },
    }


def _publishing() -> dict[str, Any]:
    """How far the event broker lags: the age of the oldest event it has not confirmed, if a broker is set."""
    if not settings.LEDGER_EVENTS_BROKER_URL:
        return {"configured": False}
    status = publishing_status()
    return {
        "configured": True,
        "lag_seconds": round(status.lag_seconds(timezone.now()), 1),
        "heartbeat_at": when(status.heartbeat_at),
    }


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Return what the dashboard shows, or nothing for staff who may not read transactions."""
    if not request.user.has_perm("transactions.view_transaction"):
        return {}
    today = timezone.localdate()
    figures = _figures(today)
    run = ReconciliationRun.objects.order_by("-id").first()
    frozen = list(AuditRecord.objects.filter(action=AuditRecord.Action.FREEZE).order_by("-created_at")[:LATEST])
    frozen_pages = admin_pages_of(Account, {record.target_id for record in frozen})
    reversals = list(
        Transaction.objects.filter(kind=Transaction.Kind.REVERSAL).select_related("reverses").order_by("-id")[:LATEST]
    )
    return {
        "dashboard": {
            "today": today,
            "days": DAYS,
            "currencies": [
                {
                    "code": f.currency,
                    "rows": f.rows(),
                    "open_holds": f.open_holds,
                    "reserved": money(f.reserved_minor, f.currency),
                }
                for f in figures
                if f.active
            ],
            "idle_currencies": [f.currency for f in figures if not f.active],
            "chart": _chart(figures, today),
            "run": run,
            "run_finished": when(run.finished_at) if run else None,
            "run_url": reverse("admin:reconciliation_reconciliationrun_change", args=[run.pk]) if run else None,
            "runs_url": reverse("admin:reconciliation_reconciliationrun_changelist"),
            "publishing": _publishing(),
            "frozen": [
                {
                    "record": record,
                    "when": when(record.created_at),
                    "account": short_id(record.target_id, frozen_pages.get(record.target_id)),
                }
                for record in frozen
            ],
            "reversals": [
                {
                    "txn": txn,
                    "when": when(txn.created_at),
                    "id": short_id(txn.public_id, reverse("admin:transactions_transaction_change", args=[txn.pk])),
                    "reverses": short_id(
                        txn.reverses.public_id, reverse("admin:transactions_transaction_change", args=[txn.reverses.pk])
                    )
                    if txn.reverses
                    else "-",
                    "amount": money(txn.amount_minor, txn.currency),
                }
                for txn in reversals
            ],
        }
    }

"""Reservations: what pending holds keep of an account's balance, stored with the account.

``Account.reserved_minor`` is what the account's holds recorded as ``pending`` still reserve;
a hold past its ``expires_at`` reserves nothing from that instant, recorded or not. So every
write that locks accounts first releases what lapsed holds still reserve on them
(:func:`release_lapsed`), under the same row locks, at the instant it stamps its rows with: the
rules then check the available balance of that instant, and the stored reservation stays equal
to what the pending holds reserve (the database checks it at commit, ``accounts`` migration 0005).
An account that reserves nothing costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction as db_transaction
from django.db.models import F

from accounts.models import Account, Hold
from events import outbox
from events.models import Event
from ledger import metrics
from transactions.engine.events import hold_event

if TYPE_CHECKING:
    from prometheus_client import Counter


def release_lapsed(accounts: Iterable[Account], now: datetime) -> int:
    """Record as expired the holds on ``accounts`` past their expiry at ``now``; release what they reserved.

    ``accounts`` are customer rows this database transaction has locked; their ``reserved_minor``
    is updated in the database and on the instances. An expired hold is resolved at its own
    ``expires_at``, the instant it stopped reserving, and its ``hold.expired`` event is written.
    Returns how many holds expired.
    """
    reserving = {account.pk: account for account in accounts if account.reserved_minor > 0}
    if not reserving:
        return 0
    lapsed = list(
        Hold.objects.filter(account_id__in=reserving, status=Hold.Status.PENDING, expires_at__lte=now)
        .order_by("pk")
        .select_related("destination_account")  # Its id, for the event: the row itself is not locked.
        .select_for_update(of=("self",))
    )
    if not lapsed:
        return 0
    Hold.objects.filter(pk__in=[hold.pk for hold in lapsed]).update(
        status=Hold.Status.EXPIRED, resolved_at=F("expires_at")
    )
    released: dict[int, int] = {}
    for hold in lapsed:
        hold.account = reserving[hold.account_id]
        hold.status, hold.resolved_at = Hold.Status.EXPIRED, hold.expires_at
        released[hold.account_id] = released.get(hold.account_id, 0) + hold.amount_minor - hold.captured_minor
    outbox.store([hold_event(Event.Type.HOLD_EXPIRED, hold) for hold in lapsed], now=now)
    # ``updated_at`` stays: what the account may spend did not change (reads already left lapsed holds out).
    for account_pk, amount in sorted(released.items()):
        Account.objects.filter(pk=account_pk).update(reserved_minor=F("reserved_minor") - amount)
        reserving[account_pk].reserved_minor -= amount
    currencies = [hold.currency for hold in lapsed]
    db_transaction.on_commit(lambda: count_holds(metrics.HOLDS_EXPIRED, currencies))
    return len(lapsed)


def store_reservations(accounts: Iterable[Account], now: datetime) -> None:
    """Write the ``reserved_minor`` of locked ``accounts`` as their instances have it, stamped ``now``."""
    for account in sorted(accounts, key=lambda a: a.pk):
        Account.objects.filter(pk=account.pk).update(reserved_minor=account.reserved_minor, updated_at=now)
        account.updated_at = now


def count_holds(counter: Counter, currencies: Sequence[str]) -> None:
    """Count one hold event per currency in ``currencies`` on ``counter``, one of the hold counters (runs on commit)."""
    for currency in currencies:
        counter.labels(currency).inc()

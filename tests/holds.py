"""Helpers of the tests about holds, on any database."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from accounts.models import Hold


def lapse(hold: Hold, *, seconds_ago: int = 1) -> None:
    """Move a pending hold's expiry into the past, as time would (its status stays as recorded).

    On PostgreSQL the hold's guard refuses any change of ``expires_at``, so it is set aside for
    this one statement, as an operator with the schema owner's rights could.
    """
    past = timezone.now() - timedelta(seconds=seconds_ago)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # The deferred checks of earlier writes run first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE accounts_hold DISABLE TRIGGER hold_guard")
        Hold.objects.filter(pk=hold.pk).update(expires_at=past, created_at=past - timedelta(seconds=1))
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_hold ENABLE TRIGGER hold_guard")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    hold.refresh_from_db()

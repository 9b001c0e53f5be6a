"""The outbox: one event for every change to the books, written in the change's database transaction.

Invariants (enforced by the database, migration ``0001_outbox``):

- an event exists exactly when its change committed: it is inserted by the statement, or in
  the database transaction, that makes the change (``events.outbox``);
- events and their readers are never updated or deleted (a trigger refuses it);
- one ``transaction.posted`` per transaction, one ``transaction.reversed`` per original, one
  ``account.opened`` per account and one ``hold.created``, ``hold.voided`` and ``hold.expired``
  per hold (a unique index on ``(type, subject_id)`` for those types); one ``hold.captured``
  per capture (unique ``cause_id``);
- ``txid`` is the inserting database transaction's id: events are read in ``(txid, id)``
  order below the snapshot's horizon (``ledger.commit_order``), which is commit order.

``data`` is the resource as the API renders it for staff (every leg), at the instant of the
change. A client reads an event only when one of its accounts is touched (an
:class:`EventReader` row names it), with only the legs on its own accounts.

``trace_context`` is the W3C trace context (``traceparent``, ``tracestate``) of the span that
wrote the event when tracing was on (``ledger.tracing``), else NULL: the broker's message
headers and the webhook delivery's span carry it on; no document served to clients shows it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledger.commit_order import txid_field


class Event(models.Model):
    """One committed change to the books, immutable."""

    class Type(models.TextChoices):
        ACCOUNT_OPENED = "account.opened"
        ACCOUNT_STATUS_CHANGED = "account.status_changed"
        TRANSACTION_POSTED = "transaction.posted"
        TRANSACTION_REVERSED = "transaction.reversed"
        HOLD_CREATED = "hold.created"
        HOLD_CAPTURED = "hold.captured"
        HOLD_VOIDED = "hold.voided"
        HOLD_EXPIRED = "hold.expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    type = models.CharField(max_length=32, choices=Type.choices)
    subject_id = models.UUIDField(help_text="The public id of the resource in data: an account, transaction or hold.")
    cause_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="The transaction that caused it, when another than the subject: a capture, a reversal.",
    )
    data = models.JSONField(help_text="The resource as the API renders it for staff, at the instant of the change.")
    created_at = models.DateTimeField()
    txid = txid_field()
    trace_context = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The W3C trace context of the change (traceparent, tracestate) when it was traced; never served.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["type", "subject_id"],
                condition=~Q(type__in=["account.status_changed", "hold.captured"]),
                name="event_once_per_subject",
            ),
            models.UniqueConstraint(
                fields=["cause_id"], condition=Q(type="hold.captured"), name="event_one_capture_per_transaction"
            ),
            models.CheckConstraint(
                condition=Q(
                    type__in=[
                        "account.opened",
                        "account.status_changed",
                        "transaction.posted",
                        "transaction.reversed",
                        "hold.created",
                        "hold.captured",
                        "hold.voided",
                        "hold.expired",
                    ]
                ),
                name="event_type_valid",
            ),
        ]
        # What every posting maintains, so no more than the reads need: the commit order (a type
        # filter reads it too), the public id, and the uniqueness above.
        indexes = [models.Index(fields=["txid", "id"], name="event_commit_order_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class EventReader(models.Model):
    """A client that reads an event: the owner of an account it touches, and which of its accounts.

    ``txid`` repeats the event's (the same database transaction writes both), so a client's
    events are one range of the index ``(reader, txid, event)``.
    """

    # No index of their own: (event, reader) is unique, and (reader, txid, event) orders a client's events.
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="readers", db_index=False)
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    account_ids = models.JSONField(help_text="The public ids of the reader's accounts the event touches.")
    txid = txid_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "reader"], name="event_reader_once")]
        indexes = [models.Index(fields=["reader", "txid", "event"], name="event_reader_order_idx")]

    def __str__(self) -> str:
        return f"{self.reader_id} reads {self.event_id}"


class BrokerCursor(models.Model):
    """Where publishing to the message broker stands (``events.broker``): one row, ``name`` ``"broker"``.

    Invariants: ``(last_txid, last_event_id)`` is the commit-order position of the last event the
    broker confirmed, and every event before it was confirmed too (events are published in
    commit order and the position only moves to a confirmed one); it never moves backwards. Only
    the holder of the lease (``lease_owner``, until ``leased_until``, the database's clock)
    publishes or moves the position. ``heartbeat_at`` is the last time a publisher took the
    lease: a relay that is alive writes it every round.
    """

    name = models.CharField(max_length=32, unique=True)
    last_txid = models.BigIntegerField(default=0, help_text="The txid of the last event confirmed (0: none yet).")
    last_event_id = models.BigIntegerField(default=0, help_text="The row id of the last event confirmed (0: none).")
    published_at = models.DateTimeField(null=True, blank=True, help_text="When the position last moved.")
    lease_owner = models.CharField(max_length=128, blank=True, default="")
    leased_until = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="When a publisher last took the lease.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(last_txid__gte=0) & Q(last_event_id__gte=0), name="broker_cursor_position_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} at ({self.last_txid}, {self.last_event_id})"

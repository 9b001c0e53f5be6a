"""The outbox: events and their readers, append-only (a trigger refuses updates and deletes).

New tables, so nothing existing is rewritten; ``txid`` defaults to the inserting database
transaction's id (``ledger.commit_order``).
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import ledger.commit_order
from ledger.migration_operations import run_sql_on_postgresql

APPEND_ONLY = """
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % of % % refused', TG_OP, TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON events_event
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER event_reader_append_only BEFORE UPDATE OR DELETE ON events_eventreader
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS event_reader_append_only ON events_eventreader;
DROP TRIGGER IF EXISTS event_append_only ON events_event;
DROP FUNCTION IF EXISTS events_refuse_change();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="id")),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("account.opened", "Account Opened"),
                            ("account.status_changed", "Account Status Changed"),
                            ("transaction.posted", "Transaction Posted"),
                            ("transaction.reversed", "Transaction Reversed"),
                            ("hold.created", "Hold Created"),
                            ("hold.captured", "Hold Captured"),
                            ("hold.voided", "Hold Voided"),
                            ("hold.expired", "Hold Expired"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "subject_id",
                    models.UUIDField(
                        help_text="The public id of the resource in data: an account, transaction or hold."
                    ),
                ),
                (
                    "cause_id",
                    models.UUIDField(
                        blank=True,
                        help_text="The transaction that caused it, when another than the subject: a capture, a reversal.",
                        null=True,
                    ),
                ),
                (
                    "data",
                    models.JSONField(
                        help_text="The resource as the API renders it for staff, at the instant of the change."
                    ),
                ),
                ("created_at", models.DateTimeField()),
                (
                    "txid",
                    ledger.commit_order.TransactionIdField(
                        db_default=ledger.commit_order.CurrentTransactionId(),
                        editable=False,
                        help_text="The database transaction that inserted the row; lists page in (txid, id) order.",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["txid", "id"], name="event_commit_order_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("type__in", ["account.status_changed", "hold.captured"]), _negated=True),
                        fields=("type", "subject_id"),
                        name="event_once_per_subject",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("type", "hold.captured")),
                        fields=("cause_id",),
                        name="event_one_capture_per_transaction",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "type__in",
                                [
                                    "account.opened",
                                    "account.status_changed",
                                    "transaction.posted",
                                    "transaction.reversed",
                                    "hold.created",
                                    "hold.captured",
                                    "hold.voided",
                                    "hold.expired",
                                ],
                            )
                        ),
                        name="event_type_valid",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="EventReader",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "account_ids",
                    models.JSONField(help_text="The public ids of the reader's accounts the event touches."),
                ),
                (
                    "txid",
                    ledger.commit_order.TransactionIdField(
                        db_default=ledger.commit_order.CurrentTransactionId(),
                        editable=False,
                        help_text="The database transaction that inserted the row; lists page in (txid, id) order.",
                    ),
                ),
                (
                    "event",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="readers",
                        to="events.event",
                    ),
                ),
                (
                    "reader",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["reader", "txid", "event"], name="event_reader_order_idx")],
                "constraints": [models.UniqueConstraint(fields=("event", "reader"), name="event_reader_once")],
            },
        ),
        run_sql_on_postgresql(APPEND_ONLY, DROP_APPEND_ONLY),
    ]

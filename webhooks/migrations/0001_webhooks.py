"""Webhook endpoints, their deliveries (one per endpoint and event) and the fan-out cursor, with their CHECKs."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import ledger.commit_order


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("events", "0001_outbox"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FanOutCursor",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("last_txid", models.BigIntegerField(default=0)),
                ("last_event_id", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=models.Q(("id", 1)), name="fan_out_cursor_one_row")],
            },
        ),
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="id")),
                (
                    "url",
                    models.CharField(
                        help_text="https:// only; checked when created and at every delivery.", max_length=2048
                    ),
                ),
                ("event_types", models.JSONField(help_text='The event types it receives, or ["*"] for every type.')),
                ("description", models.CharField(blank=True, default="", max_length=500)),
                (
                    "secret",
                    models.CharField(
                        help_text="whsec_ and 32 random bytes in base64: signs every delivery.", max_length=64
                    ),
                ),
                ("previous_secret", models.CharField(blank=True, default="", max_length=64)),
                (
                    "previous_secret_expires_at",
                    models.DateTimeField(
                        blank=True, help_text="Until then the secret before the last rotation signs too.", null=True
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("disabled", "Disabled (every delivery failed for 5 days)"),
                            ("deleted", "Deleted by its client"),
                        ],
                        default="active",
                        max_length=10,
                    ),
                ),
                ("disabled_at", models.DateTimeField(blank=True, null=True)),
                ("disabled_reason", models.CharField(blank=True, default="", max_length=200)),
                (
                    "failing_since",
                    models.DateTimeField(
                        blank=True,
                        help_text="The first failed attempt since its last success (or ever); cleared by a success.",
                        null=True,
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("txid", ledger.commit_order.txid_field()),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="webhook_endpoints",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="id")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                (
                    "attempts",
                    models.PositiveIntegerField(default=0, help_text="Attempts since it was created or redelivered."),
                ),
                ("last_status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, default="", max_length=500)),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                (
                    "next_attempt_at",
                    models.DateTimeField(blank=True, help_text="While pending: when it is due.", null=True),
                ),
                (
                    "leased_until",
                    models.DateTimeField(
                        blank=True,
                        help_text="A relay is attempting it until then; no other relay takes it before.",
                        null=True,
                    ),
                ),
                (
                    "lease_token",
                    models.UUIDField(
                        blank=True, help_text="The relay's claim: only it records the attempt.", null=True
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("succeeded_at", models.DateTimeField(blank=True, null=True)),
                (
                    "event",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="events.event"),
                ),
                (
                    "endpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="webhooks.webhookendpoint",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "webhook deliveries",
                "permissions": [("redeliver_webhookdelivery", "Can redeliver a failed webhook delivery")],
            },
        ),
        migrations.AddIndex(
            model_name="webhookendpoint",
            index=models.Index(fields=["owner", "txid", "id"], name="endpoint_owner_order_idx"),
        ),
        migrations.AddConstraint(
            model_name="webhookendpoint",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["active", "disabled", "deleted"])), name="endpoint_status_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookendpoint",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("disabled_at__isnull", True), ("status", "active")),
                    models.Q(models.Q(("status", "active"), _negated=True), ("disabled_at__isnull", False)),
                    _connector="OR",
                ),
                name="endpoint_disabled_at_iff_not_active",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookendpoint",
            constraint=models.CheckConstraint(
                condition=models.Q(("secret__startswith", "whsec_")), name="endpoint_secret_prefixed"
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookendpoint",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("previous_secret", ""), ("previous_secret_expires_at__isnull", True)),
                    models.Q(("previous_secret__startswith", "whsec_"), ("previous_secret_expires_at__isnull", False)),
                    _connector="OR",
                ),
                name="endpoint_previous_secret_expires",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["next_attempt_at"], name="delivery_due_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_newest_idx"),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(fields=("endpoint", "event"), name="delivery_once_per_endpoint_event"),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "succeeded", "failed"])), name="delivery_status_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("next_attempt_at__isnull", False), ("status", "pending")),
                    models.Q(models.Q(("status", "pending"), _negated=True), ("next_attempt_at__isnull", True)),
                    _connector="OR",
                ),
                name="delivery_due_iff_pending",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "succeeded"), ("succeeded_at__isnull", False)),
                    models.Q(models.Q(("status", "succeeded"), _negated=True), ("succeeded_at__isnull", True)),
                    _connector="OR",
                ),
                name="delivery_succeeded_at_iff_succeeded",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("lease_token__isnull", True), ("leased_until__isnull", True)),
                    models.Q(("lease_token__isnull", False), ("leased_until__isnull", False), ("status", "pending")),
                    _connector="OR",
                ),
                name="delivery_lease_only_while_pending",
            ),
        ),
    ]

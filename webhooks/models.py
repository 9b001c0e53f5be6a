"""Webhook endpoints, their deliveries, and where the fan-out of events has got to.

Invariants (enforced by the database, migration ``0001_webhooks``):

- an endpoint is ``active`` exactly when it has no ``disabled_at``; its ``secret`` starts with
  ``whsec_``; a ``previous_secret`` exists exactly when it has an expiry (a rotation: both sign
  until then);
- an endpoint is never deleted: ``deleted`` is a status, and its deliveries stay;
- one delivery per (endpoint, event), ever: the fan-out inserts with ``ON CONFLICT DO NOTHING``;
- a delivery is ``pending`` exactly when it has a ``next_attempt_at``, and ``succeeded`` exactly
  when it has a ``succeeded_at``; a lease (``leased_until``, ``lease_token``) is taken only on a
  pending delivery, both together;
- one fan-out cursor row (``id = 1``): the ``(txid, id)`` of the last event fanned out.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledger.commit_order import txid_field


class WebhookEndpoint(models.Model):
    """A client's HTTPS URL that receives, signed, the events its owner may see."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled", "Disabled (every delivery failed for 5 days)"
        DELETED = "deleted", "Deleted by its client"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.CharField(max_length=2048, help_text="https:// only; checked when created and at every delivery.")
    event_types = models.JSONField(help_text='The event types it receives, or ["*"] for every type.')
    description = models.CharField(max_length=500, blank=True, default="")
    secret = models.CharField(max_length=64, help_text="whsec_ and 32 random bytes in base64: signs every delivery.")
    previous_secret = models.CharField(max_length=64, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until then the secret before the last rotation signs too."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    failing_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The first failed attempt since its last success (or ever); cleared by a success.",
    )
    created_at = models.DateTimeField()
    txid = txid_field()  # Clients may create endpoints at once: the list pages in commit order.

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "disabled", "deleted"]), name="endpoint_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="active", disabled_at__isnull=True)
                | (~Q(status="active") & Q(disabled_at__isnull=False)),
                name="endpoint_disabled_at_iff_not_active",
            ),
            models.CheckConstraint(
                condition=Q(secret__startswith="whsec_"),  # noqa: S106 (a prefix, not a secret)
                name="endpoint_secret_prefixed",
            ),
            models.CheckConstraint(
                condition=Q(previous_secret="", previous_secret_expires_at__isnull=True)
                | (Q(previous_secret__startswith="whsec_") & Q(previous_secret_expires_at__isnull=False)),  # noqa: S106
                name="endpoint_previous_secret_expires",
            ),
        ]
        indexes = [models.Index(fields=["owner", "txid", "id"], name="endpoint_owner_order_idx")]

    def __str__(self) -> str:
        return f"{self.url} ({self.status})"


class WebhookDelivery(models.Model):
    """One event to one endpoint: attempted until a 2xx, or until the retry schedule runs out."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts since it was created or redelivered.")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="While pending: when it is due.")
    leased_until = models.DateTimeField(
        null=True, blank=True, help_text="A relay is attempting it until then; no other relay takes it before."
    )
    lease_token = models.UUIDField(null=True, blank=True, help_text="The relay's claim: only it records the attempt.")
    created_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        permissions = [("redeliver_webhookdelivery", "Can redeliver a failed webhook delivery")]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint_event"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]), name="delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", next_attempt_at__isnull=False)
                | (~Q(status="pending") & Q(next_attempt_at__isnull=True)),
                name="delivery_due_iff_pending",
            ),
            models.CheckConstraint(
                condition=Q(status="succeeded", succeeded_at__isnull=False)
                | (~Q(status="succeeded") & Q(succeeded_at__isnull=True)),
                name="delivery_succeeded_at_iff_succeeded",
            ),
            models.CheckConstraint(
                condition=Q(leased_until__isnull=True, lease_token__isnull=True)
                | Q(status="pending", leased_until__isnull=False, lease_token__isnull=False),
                name="delivery_lease_only_while_pending",
            ),
        ]
        indexes = [
            # The relay's claim: pending deliveries by when they are due.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due_idx"),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_newest_idx"),
            # The deliveries given up, counted at every scrape (ledger_webhook_deliveries_failed): a few
            # among many, so a partial index answers the count without reading the table.
            models.Index(fields=["id"], condition=Q(status="failed"), name="delivery_failed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id} ({self.status})"


class FanOutCursor(models.Model):
    """Where the fan-out has got to: the commit-order position ``(txid, id)`` of the last event fanned out.

    One row (``id = 1``), locked ``FOR UPDATE SKIP LOCKED`` by the relay that fans out: two relays
    never fan out at once, and the cursor moves in the transaction that inserts the deliveries.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_txid = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="fan_out_cursor_one_row")]

    def __str__(self) -> str:
        return f"fanned out to ({self.last_txid}, {self.last_event_id})"

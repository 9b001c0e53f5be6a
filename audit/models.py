"""The audit trail: one record for every operator action on the books.

A record is written by the service that performs the action, in the same database
transaction, so an action and its record commit or roll back together. Records are never
changed or deleted.
"""

from django.conf import settings
from django.db import models


class AuditRecord(models.Model):
    """One operator action on the books: who acted, on which target, why, and from where."""

    class Action(models.TextChoices):
        REVERSE = "reverse", "Reverse a transaction"
        FREEZE = "freeze", "Freeze an account"
        UNFREEZE = "unfreeze", "Unfreeze an account"
        CLOSE = "close", "Close an account"
        REBUILD_BALANCE = "rebuild_balance", "Rebuild a stored balance"
        VOID_HOLD = "void_hold", "Void a hold"
        REDELIVER_WEBHOOK = "redeliver_webhook", "Redeliver a webhook"

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_records",
        help_text="The staff user who acted; empty for a command-line action.",
    )
    operator_label = models.CharField(
        max_length=150, help_text="Who acted, as shown: the username, or e.g. 'manage.py (root@host)'."
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    target_type = models.CharField(max_length=20, help_text="'account', 'transaction', 'hold' or 'webhook_delivery'.")
    target_id = models.CharField(max_length=64, help_text="The public id of the account or transaction.")
    reason = models.TextField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["operator", "-created_at"], name="audit_operator_newest_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_newest_idx"),
            models.Index(fields=["target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_label} {self.action} {self.target_type} {self.target_id}"

"""Ledger accounts.

An account holds one currency. Its ``balance_minor`` is the sum of its postings, kept on the
row so that the posting service can lock the row, check the rule, and update it in place;
``last_sequence`` is the number of its latest posting, which gives history a gap-free order.
Only the posting service (``transactions.services``) writes either field.

Each currency has one *system* account standing for the outside world: deposits credit a
customer account and debit it, withdrawals the reverse, so every transaction sums to zero.
A system account keeps no stored balance and no sequence (both stay 0, a CHECK constraint
says so): its legs are appended without locking its row, so deposits and withdrawals of a
currency never queue on one row, and no client's traffic can drive it to a storage limit.
Its balance is derived: since every transaction sums to zero, it is the negative of what
the currency's customer accounts hold (``accounts.selectors.with_balances``), which
``reconcile`` proves against the sum of its postings. Customer balances never go below zero.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Account(models.Model):
    """An account of one currency: a customer's (owned by an API client) or its currency's system account."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        FROZEN = "frozen"
        CLOSED = "closed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
        help_text="The API client that owns the account; empty for system accounts.",
    )
    name = models.CharField(max_length=200, blank=True, default="")
    currency = models.CharField(max_length=3)
    is_system = models.BooleanField(default=False)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.ACTIVE)
    balance_minor = models.BigIntegerField(default=0, editable=False, help_text="Balance in minor units.")
    last_sequence = models.BigIntegerField(
        default=0, editable=False, help_text="Sequence number of the account's latest posting."
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(is_system=True) | Q(balance_minor__gte=0),
                name="account_customer_balance_not_negative",
                violation_error_message="A customer account's balance cannot go below zero.",
            ),
            models.CheckConstraint(
                condition=Q(is_system=True, owner__isnull=True) | Q(is_system=False, owner__isnull=False),
                name="account_owner_iff_customer",
            ),
            models.CheckConstraint(condition=Q(status__in=["active", "frozen", "closed"]), name="account_status_valid"),
            models.CheckConstraint(condition=Q(last_sequence__gte=0), name="account_sequence_not_negative"),
            models.UniqueConstraint(
                fields=["currency"], condition=Q(is_system=True), name="account_one_system_account_per_currency"
            ),
            models.CheckConstraint(
                condition=Q(is_system=False) | Q(balance_minor=0, last_sequence=0),
                name="account_system_keeps_no_balance",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-id"], name="account_owner_newest_idx"),
            # The admin's filters and its name search (a prefix LIKE needs the pattern opclass).
            models.Index(fields=["status", "-id"], name="account_status_newest_idx"),
            models.Index(fields=["currency", "-id"], name="account_currency_newest_idx"),
            models.Index(fields=["name"], opclasses=["varchar_pattern_ops"], name="account_name_prefix_idx"),
        ]
        permissions = [("change_account_status", "Can freeze, unfreeze and close accounts")]

    def __str__(self) -> str:
        label = self.name or ("system" if self.is_system else "account")
        return f"{label} ({self.currency}) {self.public_id}"

    @property
    def is_active(self) -> bool:
        """Whether the account takes postings: neither frozen nor closed."""
        return self.status == self.Status.ACTIVE

    @property
    def current_balance_minor(self) -> int:
        """What the account holds: its stored balance, or for a system account the derived one.

        A system account's balance must have been loaded with it (``accounts.selectors``);
        reading it otherwise is a programming error, never a silent zero.
        """
        if not self.is_system:
            return self.balance_minor
        derived = getattr(self, "system_balance_minor", None)
        if derived is None:
            raise LookupError("load a system account through accounts.selectors.with_balances to read its balance")
        return int(derived)

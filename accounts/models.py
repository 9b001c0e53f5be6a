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

A :class:`Hold` reserves part of a customer account's balance until it is captured, voided or
expires. What the account's open holds still reserve is kept on the account row,
``reserved_minor``, under the same row lock as the balance, so one CHECK keeps the *available*
balance (``balance_minor - reserved_minor``) of a customer account from going below zero.
"Open" means recorded as ``pending``: a hold past its ``expires_at`` reserves nothing from that
instant, and reads add it back (``lapsed_reserved_minor``) until a write or ``expire_holds``
records it as expired (``transactions.holds``). Only the posting engine writes holds and the
reservation; the database refuses a hold that leaves ``pending`` twice, captures more than its
amount, or a reservation that differs from its holds (migration ``0005_holds``).
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from ledger.commit_order import txid_field
from ledger.money import format_minor


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
    reserved_minor = models.BigIntegerField(
        default=0,
        db_default=0,  # Also for rows inserted by SQL that predates holds (bench seeding, operators' scripts).
        editable=False,
        help_text="What the account's pending holds still reserve, in minor units.",
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    txid = txid_field()

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
            models.CheckConstraint(condition=Q(reserved_minor__gte=0), name="account_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(is_system=False, balance_minor__gte=F("reserved_minor"))
                | Q(is_system=True, reserved_minor=0),
                name="account_available_not_negative",
                violation_error_message="A customer account's available balance cannot go below zero.",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-id"], name="account_owner_newest_idx"),
            # The admin's filters and its name search (a prefix LIKE needs the pattern opclass).
            models.Index(fields=["status", "-id"], name="account_status_newest_idx"),
            models.Index(fields=["currency", "-id"], name="account_currency_newest_idx"),
            models.Index(fields=["name"], opclasses=["varchar_pattern_ops"], name="account_name_prefix_idx"),
            # The API's list, in commit order (ledger.commit_order).
            models.Index(fields=["owner", "txid", "id"], name="account_owner_order_idx"),
            models.Index(fields=["txid", "id"], name="account_commit_order_idx"),
        ]
        permissions = [("change_account_status", "Can freeze, unfreeze and close accounts")]

    def __str__(self) -> str:
        """Its name (or what it is), currency and the start of its id: "Alice (USD) · 1a2b3c4d" (no query)."""
        label = self.name or ("System account" if self.is_system else "Account")
        return f"{label} ({self.currency}) · {str(self.public_id)[:8]}"

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

    @property
    def available_balance_minor(self) -> int:
        """What the account may spend: its balance less what its holds reserve at this instant.

        A pending hold already past ``expires_at`` reserves nothing, whether or not its expiry
        is recorded: ``accounts.selectors`` loads what such holds still count in
        ``reserved_minor`` as ``lapsed_reserved_minor``; without it, one query finds it.
        """
        if self.is_system or self.reserved_minor == 0:
            return self.current_balance_minor
        lapsed = getattr(self, "lapsed_reserved_minor", None)
        if lapsed is None:
            from accounts.selectors import lapsed_reserved_minor  # The model's reads live there.

            lapsed = lapsed_reserved_minor(self.pk)
        return self.balance_minor - self.reserved_minor + int(lapsed)


class Hold(models.Model):
    """Money of one customer account reserved now, to be captured (moved) or voided later.

    ``captured_minor`` is what captures have moved so far, never above ``amount_minor``; while
    ``pending`` the hold reserves the rest. It leaves ``pending`` exactly once: ``captured`` (a
    capture took everything, or was final), ``voided``, or ``expired`` (its ``expires_at`` came;
    ``resolved_at`` is then that instant). A capture is a withdrawal (no destination) or a
    transfer to ``destination_account`` whose ``hold`` is this hold.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CAPTURED = "captured"
        VOIDED = "voided"
        EXPIRED = "expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="holds", help_text="The account whose money is held."
    )
    destination_account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where a capture sends the money; empty: a capture is a withdrawal.",
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="Amount held, in minor units; always positive.")
    captured_minor = models.BigIntegerField(default=0, help_text="Amount captured so far, in minor units.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    description = models.CharField(max_length=500, blank=True, default="")
    reference = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="The client who placed it."
    )
    expires_at = models.DateTimeField(help_text="From this instant the hold reserves nothing and cannot be captured.")
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When it left pending.")
    resolution_reason = models.CharField(max_length=500, blank=True, default="", help_text="Why it was voided.")
    txid = txid_field()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_minor__gte=0, captured_minor__lte=F("amount_minor")),
                name="hold_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "captured", "voided", "expired"]), name="hold_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", resolved_at__isnull=True, captured_minor__lt=F("amount_minor"))
                | (~Q(status="pending") & Q(resolved_at__isnull=False)),
                name="hold_resolved_iff_not_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status="captured") | Q(captured_minor__gt=0), name="hold_captured_took_money"
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="hold_expires_after_creation"),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__lte=F("expires_at")),
                name="hold_resolved_by_expiry",
            ),
            models.CheckConstraint(condition=~Q(account=F("destination_account")), name="hold_distinct_accounts"),
        ]
        indexes = [
            models.Index(fields=["account", "-id"], name="hold_account_newest_idx"),
            models.Index(fields=["status", "-id"], name="hold_status_newest_idx"),
            models.Index(fields=["reference"], name="hold_reference_idx"),  # The console's reference search.
            # What the sweeps and the available balance look for: pending holds by expiry.
            models.Index(
                fields=["account", "expires_at"], condition=Q(status="pending"), name="hold_account_pending_idx"
            ),
            models.Index(fields=["expires_at"], condition=Q(status="pending"), name="hold_pending_expiry_idx"),
            # The API's list, in commit order (ledger.commit_order).
            models.Index(fields=["account", "txid", "id"], name="hold_account_order_idx"),
            models.Index(fields=["txid", "id"], name="hold_commit_order_idx"),
        ]
        permissions = [("void_hold", "Can void a pending hold")]

    def __str__(self) -> str:
        """Its amount, status and the start of its id: "Hold of 25.00 USD (pending) · 1a2b3c4d" (no query)."""
        return (
            f"Hold of {format_minor(self.amount_minor, self.currency)} {self.currency} "
            f"({self.get_status_display()}) · {str(self.public_id)[:8]}"
        )

    def status_at(self, now: datetime) -> str:
        """Return the status the hold has at ``now``: ``expired`` once past ``expires_at``, recorded or not."""
        if self.status == self.Status.PENDING and now >= self.expires_at:
            return self.Status.EXPIRED
        return str(self.status)

    def remaining_minor_at(self, now: datetime) -> int:
        """Return what the hold still reserves at ``now``: the uncaptured rest while pending, else nothing."""
        if self.status_at(now) != self.Status.PENDING:
            return 0
        return self.amount_minor - self.captured_minor

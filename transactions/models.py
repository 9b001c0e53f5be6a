"""Transactions, their postings, and the idempotency records that answered them.

Invariants (kept by ``transactions.services`` and enforced by the database, see the
migration ``0002_ledger_triggers``):

- every transaction has at least two postings, on accounts of its currency, summing to zero
  (a deferred constraint trigger checks it at commit);
- postings are never updated or deleted, and a transaction's only change is its status from
  ``posted`` to ``reversed``, once its reversal exists (triggers refuse anything else);
- a transaction is reversed at most once (``reverses`` is unique) and a reversal is never
  reversed;
- ``(account, sequence)`` is unique and gap-free per customer account, and each of its
  postings' ``balance_after_minor`` is the account's balance once it was applied;
- a posting on a system account carries neither (the outside world keeps no running
  balance, so no deposit or withdrawal waits for another: see ``accounts.models``); the
  deferred trigger refuses a leg numbered the wrong way for its account (migration 0006);
- a capture of a hold (``hold`` set) is a withdrawal or transfer from the held account to its
  destination, in its currency, made while the hold is pending and before it expires, for no
  more than it still reserves; the hold's ``captured_minor`` is the sum of its captures
  (triggers, migration 0007).

Amounts are integers of the currency's minor unit (see ``ledger.money``). A batch
groups the transactions that one request posted together.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Account, Hold
from ledger.commit_order import txid_field
from ledger.money import format_minor


class Batch(models.Model):
    """Movements posted together by one request: in one database transaction, all or nothing."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    holds = models.ManyToManyField(Hold, blank=True, related_name="+", help_text="The holds the batch placed.")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"batch {self.public_id}"


class Transaction(models.Model):
    class Kind(models.TextChoices):
        DEPOSIT = "deposit"
        WITHDRAWAL = "withdrawal"
        TRANSFER = "transfer"
        REVERSAL = "reversal"

    class Status(models.TextChoices):
        POSTED = "posted"
        REVERSED = "reversed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="id")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.POSTED)
    amount_minor = models.BigIntegerField(help_text="Amount moved, in minor units; always positive.")
    currency = models.CharField(max_length=3)
    source_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="Debited account."
    )
    destination_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="Credited account."
    )
    description = models.CharField(max_length=500, blank=True, default="")
    reference = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="posted_transactions",
        help_text="The API client or operator who posted it.",
    )
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions", editable=False
    )
    hold = models.ForeignKey(
        Hold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="captures",
        editable=False,
        db_index=False,  # A partial index (below): most transactions capture no hold.
        help_text="The hold this transaction captures, if it is a capture.",
    )
    created_at = models.DateTimeField()
    txid = txid_field()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="transaction_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["deposit", "withdrawal", "transfer", "reversal"]), name="transaction_kind_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=["posted", "reversed"]), name="transaction_status_valid"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False) | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="transaction_reversal_has_original",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal", status="reversed"), name="transaction_reversal_not_reversed"
            ),
            models.CheckConstraint(
                condition=~Q(source_account=F("destination_account")), name="transaction_distinct_accounts"
            ),
        ]
        indexes = [
            models.Index(fields=["source_account", "-id"], name="txn_source_newest_idx"),
            models.Index(fields=["destination_account", "-id"], name="txn_destination_newest_idx"),
            models.Index(fields=["kind", "-id"], name="txn_kind_newest_idx"),
            # The admin's filters, date hierarchy and reference search.
            models.Index(fields=["status", "-id"], name="txn_status_newest_idx"),
            models.Index(fields=["currency", "-id"], name="txn_currency_newest_idx"),
            models.Index(fields=["created_at"], name="txn_created_idx"),
            models.Index(fields=["reference"], name="txn_reference_idx"),
            models.Index(fields=["hold"], condition=Q(hold__isnull=False), name="txn_hold_idx"),
            # The API's lists, in commit order (ledger.commit_order): all, by kind, by account.
            models.Index(fields=["txid", "id"], name="txn_commit_order_idx"),
            models.Index(fields=["kind", "txid", "id"], name="txn_kind_commit_order_idx"),
            models.Index(fields=["source_account", "txid", "id"], name="txn_source_commit_order_idx"),
            models.Index(fields=["destination_account", "txid", "id"], name="txn_dest_commit_order_idx"),
        ]
        permissions = [("reverse_transaction", "Can reverse a posted transaction")]

    def __str__(self) -> str:
        """Its kind, amount and the start of its id: "Deposit of 250.00 USD · 1a2b3c4d" (no query)."""
        amount = f"{format_minor(self.amount_minor, self.currency)} {self.currency}"
        return f"{self.get_kind_display()} of {amount} · {str(self.public_id)[:8]}"


class Posting(models.Model):
    """One leg of a transaction on one account: positive credits the account, negative debits it."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount_minor = models.BigIntegerField(help_text="Signed amount in minor units: positive in, negative out.")
    balance_after_minor = models.BigIntegerField(
        null=True, help_text="The account's balance once this posting applied; none on a system account."
    )
    sequence = models.BigIntegerField(
        null=True, help_text="1, 2, 3... per account, in the order postings were applied; none on a system account."
    )
    created_at = models.DateTimeField()
    txid = txid_field()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="posting_amount_not_zero"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="posting_sequence_positive"),
            models.CheckConstraint(
                condition=Q(sequence__isnull=True, balance_after_minor__isnull=True)
                | Q(sequence__isnull=False, balance_after_minor__isnull=False),
                name="posting_sequence_with_balance_after",
            ),
            models.UniqueConstraint(fields=["account", "sequence"], name="posting_account_sequence_unique"),
        ]
        indexes = [
            models.Index(fields=["account", "created_at"], name="posting_account_created_idx"),
            # A system account's history, in commit order (a customer's is by sequence, which its
            # row lock already draws in commit order).
            models.Index(
                fields=["account", "txid", "id"], condition=Q(sequence__isnull=True), name="posting_system_order_idx"
            ),
        ]

    def __str__(self) -> str:
        """What it moved where: "Credit of 250.00 USD to Alice (#1)".

        It names its account and currency only when the account was loaded with it
        (``select_related``): reading one here would cost a query per row.
        """
        direction, preposition = ("Credit", "to") if self.amount_minor > 0 else ("Debit", "from")
        place = f" #{self.sequence}" if self.sequence is not None else ""
        if not Posting.account.is_cached(self):
            return f"{direction} of {abs(self.amount_minor)} minor units {preposition} account {self.account_id}{place}"
        account = self.account
        amount = f"{format_minor(abs(self.amount_minor), account.currency)} {account.currency}"
        name = account.name or (f"the {account.currency} system account" if account.is_system else "an account")
        return f"{direction} of {amount} {preposition} {name}{place} · {str(account.public_id)[:8]}"


class IdempotencyRecord(models.Model):
    """The first successful answer to a client's ``Idempotency-Key``, replayed byte for byte.

    Written in the same database transaction as the posting it answers, so a key is bound
    exactly when, and only if, the posting commits. ``(client, key)`` is unique: of two
    concurrent requests with one key, the second fails on it, rolls back, and replays.
    """

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and canonical body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, null=True, blank=True, related_name="idempotency_record"
    )
    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    hold = models.ForeignKey(
        Hold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # Never looked up by hold: a hold is never deleted.
        help_text="The hold a hold's creation or void answered with.",
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # Never looked up by account.
        help_text="The account an account's opening answered with.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_client_key_unique")]
        # The admin finds a transaction by its idempotency key, whatever the client.
        indexes = [models.Index(fields=["key"], name="idempotency_key_idx")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"


class DailyTotal(models.Model):
    """What the transactions created on one settled day add up to, for one currency and kind.

    A cache of ``COUNT`` and ``SUM(amount_minor)`` over ``transactions`` that the console's
    dashboard reads instead of scanning them (``transactions.totals``). Rows are written once,
    all of a day's together, and only for a day no open database transaction can still add to
    (``transactions.totals.SETTLE_MARGIN``); transactions are never updated or deleted, so a
    settled day's figures never change. A day with no transaction has no row and is counted
    again, at the cost of one index probe.
    """

    day = models.DateField(help_text="The day in settings.TIME_ZONE the transactions were created on.")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=10, choices=Transaction.Kind.choices)
    count = models.PositiveBigIntegerField()
    volume_minor = models.BigIntegerField(help_text="The sum of their amounts, in minor units.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "currency", "kind"], name="daily_total_unique"),
            models.CheckConstraint(condition=Q(volume_minor__gte=0), name="daily_total_volume_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.currency}: {self.count}"

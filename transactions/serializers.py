"""Input and output shapes of the transaction endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger_project.api.fields import AmountField, MetadataField, MinorUnitsField
from transactions.models import Posting, Transaction

# --- Input --------------------------------------------------------------------------------


class _MovementInput(serializers.Serializer):
    amount = AmountField()
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    metadata = MetadataField(required=False, default=dict)


class DepositInputSerializer(_MovementInput):
    account_id = serializers.UUIDField()


class WithdrawalInputSerializer(_MovementInput):
    account_id = serializers.UUIDField()


class TransferInputSerializer(_MovementInput):
    source_account_id = serializers.UUIDField()
    destination_account_id = serializers.UUIDField()


class ReversalInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


# --- Output -------------------------------------------------------------------------------


class LegSerializer(serializers.ModelSerializer):
    account_id = serializers.UUIDField(source="account.public_id")
    amount = MinorUnitsField(source="amount_minor", currency_from="transaction.currency")
    balance_after = MinorUnitsField(source="balance_after_minor", currency_from="transaction.currency")

    class Meta:
        model = Posting
        fields = ["account_id", "amount", "balance_after"]


class TransactionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    amount = MinorUnitsField(source="amount_minor")
    source_account_id = serializers.UUIDField(source="source_account.public_id", allow_null=True)
    destination_account_id = serializers.UUIDField(source="destination_account.public_id", allow_null=True)
    reverses = serializers.UUIDField(source="reverses.public_id", allow_null=True)
    reversed_by = serializers.UUIDField(source="reversed_by.public_id", allow_null=True)
    metadata = MetadataField()
    postings = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "id",
            "kind",
            "status",
            "amount",
            "currency",
            "source_account_id",
            "destination_account_id",
            "description",
            "reference",
            "metadata",
            "reverses",
            "reversed_by",
            "created_at",
            "postings",
        ]
        read_only_fields = fields

    @extend_schema_field(LegSerializer(many=True))
    def get_postings(self, txn: Transaction) -> list[dict[str, Any]]:
        """The legs on accounts the caller may see: all of them for staff, its own for a client."""
        user = self.context["request"].user
        legs = [
            posting
            for posting in txn.postings.all()
            if user.is_staff or (posting.account.owner_id is not None and posting.account.owner_id == user.pk)
        ]
        return LegSerializer(legs, many=True).data


class HistoryEntrySerializer(serializers.ModelSerializer):
    transaction_id = serializers.UUIDField(source="transaction.public_id")
    kind = serializers.ChoiceField(source="transaction.kind", choices=Transaction.Kind.choices)
    amount = MinorUnitsField(source="amount_minor", currency_from="transaction.currency")
    balance_after = MinorUnitsField(source="balance_after_minor", currency_from="transaction.currency")
    description = serializers.CharField(source="transaction.description")
    reference = serializers.CharField(source="transaction.reference")

    class Meta:
        model = Posting
        fields = ["transaction_id", "kind", "amount", "balance_after", "description", "reference", "created_at"]
        read_only_fields = fields

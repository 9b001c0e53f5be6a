"""Input and output shapes of the transaction endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from ledger_project.api.fields import AmountField, MetadataField, MinorUnitsField
from transactions.models import Batch, Posting, Transaction

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


_OPERATION_INPUTS = {
    "deposit": DepositInputSerializer,
    "withdrawal": WithdrawalInputSerializer,
    "transfer": TransferInputSerializer,
}


def _operation_schema(kind: str, fields: type) -> type:
    """The schema of one batch operation: ``kind`` and the fields of its endpoint."""
    return type(
        f"{kind.title()}Operation", (fields,), {"kind": serializers.ChoiceField(choices=[kind]), "__module__": __name__}
    )


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="BatchOperation",
        serializers={kind: _operation_schema(kind, fields) for kind, fields in _OPERATION_INPUTS.items()},
        resource_type_field_name="kind",
    )
)
class BatchOperationField(serializers.Field):
    """One operation of a batch: ``kind`` plus the fields of that movement's endpoint."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Each operation must be an object.")
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in _OPERATION_INPUTS:
            raise serializers.ValidationError({"kind": [f"Use one of: {', '.join(_OPERATION_INPUTS)}."]})
        serializer = _OPERATION_INPUTS[kind](data={k: v for k, v in data.items() if k != "kind"})
        serializer.is_valid(raise_exception=True)
        return {"kind": kind, **serializer.validated_data}


class BatchInputSerializer(serializers.Serializer):
    operations = serializers.ListField(child=BatchOperationField(), min_length=1, max_length=1000)


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


class BatchSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    transactions = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = ["id", "transactions"]
        read_only_fields = fields

    @extend_schema_field(TransactionSerializer(many=True))
    def get_transactions(self, batch: Batch) -> list[dict[str, Any]]:
        """In request order (the order they were inserted)."""
        ordered = sorted(batch.transactions.all(), key=lambda txn: txn.pk)
        return TransactionSerializer(ordered, many=True, context=self.context).data


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

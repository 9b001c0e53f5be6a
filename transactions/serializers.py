"""Input and output shapes of the transaction endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from ledger_project.api.fields import AmountField, MetadataField, MinorUnitsField
from transactions.models import Batch, Posting, Transaction
from transactions.money import format_minor

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
        return {"kind": kind, **self._input(kind).run_validation({k: v for k, v in data.items() if k != "kind"})}

    def _input(self, kind: str) -> serializers.Serializer:
        """One input serializer per kind, reused for every operation of the batch: building one
        per operation (REST framework copies its fields) cost more than validating it."""
        inputs = self.__dict__.setdefault("_inputs", {})
        if kind not in inputs:
            inputs[kind] = _OPERATION_INPUTS[kind]()
        return inputs[kind]


class BatchInputSerializer(serializers.Serializer):
    operations = serializers.ListField(child=BatchOperationField(), min_length=1, max_length=1000)


class ReversalInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


# --- Output -------------------------------------------------------------------------------
#
# The output serializers declare the documents (the OpenAPI schema is generated from their
# fields) and build them with plain functions: REST framework's generic rendering copied and
# bound every field for every transaction, which cost more CPU than the database spent
# posting it, and a 201 is rendered while the accounts' row locks are held.
# tests/api/test_representations.py checks each function against the fields' own rendering.

_DATETIME = serializers.DateTimeField()


def _public_id(related: Any) -> str | None:
    return None if related is None else str(related.public_id)


def _reversed_by(txn: Transaction) -> str | None:
    try:
        return _public_id(txn.reversed_by)
    except Transaction.reversed_by.RelatedObjectDoesNotExist:
        return None


def _balance_after(minor: int | None, currency: str) -> str | None:
    """A posting's ``balance_after``: none on a system account, which keeps no running balance."""
    return None if minor is None else format_minor(minor, currency)


def _leg_document(posting: Posting, currency: str) -> dict[str, Any]:
    return {
        "account_id": str(posting.account.public_id),
        "amount": format_minor(posting.amount_minor, currency),
        "balance_after": _balance_after(posting.balance_after_minor, currency),
    }


def transaction_document(txn: Transaction, *, viewer: AbstractBaseUser) -> dict[str, Any]:
    """A transaction as the API shows it to ``viewer``: every leg for staff, a client's own legs
    (those on its accounts) otherwise."""
    currency = txn.currency
    return {
        "id": str(txn.public_id),
        "kind": str(txn.kind),
        "status": str(txn.status),
        "amount": format_minor(txn.amount_minor, currency),
        "currency": currency,
        "source_account_id": _public_id(txn.source_account),
        "destination_account_id": _public_id(txn.destination_account),
        "description": txn.description,
        "reference": txn.reference,
        "metadata": txn.metadata,
        "reverses": _public_id(txn.reverses),
        "reversed_by": _reversed_by(txn),
        "created_at": _DATETIME.to_representation(txn.created_at),
        "postings": [
            _leg_document(posting, currency)
            for posting in txn.postings.all()
            if viewer.is_staff or (posting.account.owner_id is not None and posting.account.owner_id == viewer.pk)
        ],
    }


def history_entry_document(row: dict[str, Any]) -> dict[str, Any]:
    """One posting of an account's history: a row of :func:`transactions.selectors.account_history`."""
    currency = row["transaction__currency"]
    return {
        "transaction_id": str(row["transaction__public_id"]),
        "kind": row["transaction__kind"],
        "amount": format_minor(row["amount_minor"], currency),
        "balance_after": _balance_after(row["balance_after_minor"], currency),
        "description": row["transaction__description"],
        "reference": row["transaction__reference"],
        "created_at": _DATETIME.to_representation(row["created_at"]),
    }


class LegSerializer(serializers.ModelSerializer):
    account_id = serializers.UUIDField(source="account.public_id")
    amount = MinorUnitsField(source="amount_minor", currency_from="transaction.currency")
    balance_after = MinorUnitsField(
        source="balance_after_minor",
        currency_from="transaction.currency",
        allow_null=True,
        help_text="The balance once this leg applied; null on a system account, which keeps no running balance.",
    )

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
    postings = LegSerializer(
        many=True, read_only=True, help_text="The legs on accounts the client may see (all of them for staff)."
    )

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

    def to_representation(self, txn: Transaction) -> dict[str, Any]:
        return transaction_document(txn, viewer=self.context["request"].user)


class BatchSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    transactions = TransactionSerializer(many=True, read_only=True, help_text="In the order of the operations.")

    class Meta:
        model = Batch
        fields = ["id", "transactions"]
        read_only_fields = fields

    def to_representation(self, batch: Batch) -> dict[str, Any]:
        viewer = self.context["request"].user
        ordered = sorted(batch.transactions.all(), key=lambda txn: txn.pk)  # Request order: the order inserted.
        return {"id": str(batch.public_id), "transactions": [transaction_document(t, viewer=viewer) for t in ordered]}


class HistoryEntrySerializer(serializers.ModelSerializer):
    transaction_id = serializers.UUIDField(source="transaction.public_id")
    kind = serializers.ChoiceField(source="transaction.kind", choices=Transaction.Kind.choices)
    amount = MinorUnitsField(source="amount_minor", currency_from="transaction.currency")
    balance_after = MinorUnitsField(
        source="balance_after_minor",
        currency_from="transaction.currency",
        allow_null=True,
        help_text="The balance once this posting applied; null in a system account's history.",
    )
    description = serializers.CharField(source="transaction.description")
    reference = serializers.CharField(source="transaction.reference")

    class Meta:
        model = Posting
        fields = ["transaction_id", "kind", "amount", "balance_after", "description", "reference", "created_at"]
        read_only_fields = fields

    def to_representation(self, row: dict[str, Any]) -> dict[str, Any]:
        return history_entry_document(row)

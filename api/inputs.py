"""What the API accepts: request bodies and query parameters, validated before any service runs.

Validation here only parses and bounds (exact amounts, strict instants, sizes); the rules of
the ledger are the core's and run in the services. Output documents are in ``api.documents``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from accounts.models import Hold
from api.fields import AmountField, InstantField, MetadataField
from api.problems import flatten_errors
from ledger.errors import ValidationFailed
from transactions.models import Transaction
from transactions.services import MAX_BATCH_OPERATIONS

# --- accounts -------------------------------------------------------------------------------


class AccountOpenInputSerializer(serializers.Serializer):
    currency = serializers.CharField(
        max_length=3, trim_whitespace=False, help_text="An ISO 4217 code from LEDGER_CURRENCIES."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    metadata = MetadataField(required=False, default=dict)


class BalanceQuerySerializer(serializers.Serializer):
    at = InstantField(
        required=False,
        help_text="An ISO 8601 instant: the balance as it stood then (in the future: the balance now).",
    )


# The time window of a list (an account's history, the transaction lists: api.filters), one definition.
# Both ends parse as InstantField does; a moment without a zone is in the project's time zone, UTC.
CREATED_AFTER_HELP = "Only those created at or after this ISO 8601 instant (inclusive; without a zone: UTC)."
CREATED_BEFORE_HELP = "Only those created before this ISO 8601 instant (exclusive; without a zone: UTC)."


class HistoryQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=Transaction.Kind.choices, required=False, help_text="Only postings of transactions of this kind."
    )
    created_after = InstantField(required=False, help_text=CREATED_AFTER_HELP)
    created_before = InstantField(required=False, help_text=CREATED_BEFORE_HELP)


# --- money movements ----------------------------------------------------------------------


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


# --- holds -----------------------------------------------------------------------------------


class HoldInputSerializer(_MovementInput):
    account_id = serializers.UUIDField(help_text="The account whose money is held: one the client owns.")
    destination_account_id = serializers.UUIDField(
        required=False,
        help_text="Where a capture sends the money (any active account of the currency); omitted: a withdrawal.",
    )
    expires_at = InstantField(
        required=False,
        help_text="An ISO 8601 instant in the future, at most 30 days on; default 7 days after it is placed.",
    )


class _StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``, nothing else (not ``"yes"``, not ``1``)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class CaptureInputSerializer(serializers.Serializer):
    amount = AmountField(required=False, help_text="Default: what the hold still reserves.")
    final = _StrictBooleanField(
        required=False, default=False, help_text="Resolve the hold as captured and release the rest."
    )
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="Default: the hold's."
    )


class VoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class HoldQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Hold.Status.choices,
        required=False,
        help_text="Only holds with this status now (`expired`: past `expires_at`, recorded or not).",
    )
    account_id = serializers.UUIDField(required=False, help_text="Only holds on this account.")


# --- batches ---------------------------------------------------------------------------------

_OPERATION_INPUTS = {
    "deposit": DepositInputSerializer,
    "withdrawal": WithdrawalInputSerializer,
    "transfer": TransferInputSerializer,
    "hold": HoldInputSerializer,
}


def _operation_schema(kind: str, fields: type) -> type:
    """Return the schema of one batch operation: ``kind`` and the fields of its endpoint."""
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
        """Return the input serializer of ``kind``, one for every operation of that kind in the batch.

        Not one per operation: REST framework copies a serializer's fields each time it builds
        one, work that validating up to 1000 operations need not repeat (docs/benchmarks.md).
        """
        inputs = self.__dict__.setdefault("_inputs", {})
        if kind not in inputs:
            inputs[kind] = _OPERATION_INPUTS[kind]()
        return inputs[kind]


class BatchInputSerializer(serializers.Serializer):
    operations = serializers.ListField(child=BatchOperationField(), min_length=1, max_length=MAX_BATCH_OPERATIONS)


def batch_operations(data: Any) -> list[dict[str, Any]]:
    """Return a batch's validated operations; ``validation_error`` with ``operation``, the first refused index.

    A batch over :data:`MAX_BATCH_OPERATIONS` is refused before any operation is validated: a
    body of 80,000 empty operations fits the size limit, and would cost seconds and an error each.
    """
    operations = data.get("operations") if isinstance(data, dict) else None
    if isinstance(operations, list) and len(operations) > MAX_BATCH_OPERATIONS:
        raise ValidationFailed(
            errors={"operations": [f"Ensure this field has no more than {MAX_BATCH_OPERATIONS} elements."]}
        )
    serializer = BatchInputSerializer(data=data)
    if not serializer.is_valid():
        refused = serializer.errors.get("operations")
        extra = {"operation": min(refused)} if isinstance(refused, dict) and refused else {}
        raise ValidationFailed(errors=flatten_errors(serializer.errors), **extra)
    return serializer.validated_data["operations"]


class ReversalInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)

"""Input and output shapes of the account endpoints."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Account
from ledger_project.api.fields import InstantField, MetadataField, MinorUnitsField
from transactions.models import Transaction


class AccountOpenInputSerializer(serializers.Serializer):
    currency = serializers.CharField(
        max_length=3, trim_whitespace=False, help_text="An ISO 4217 code from LEDGER_CURRENCIES."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    metadata = MetadataField(required=False, default=dict)


class AccountSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    balance = MinorUnitsField(source="current_balance_minor")
    metadata = MetadataField()

    class Meta:
        model = Account
        fields = ["id", "name", "currency", "balance", "status", "metadata", "created_at", "updated_at"]
        read_only_fields = fields


class BalanceQuerySerializer(serializers.Serializer):
    at = InstantField(
        required=False,
        help_text="An ISO 8601 instant: the balance as it stood then (in the future: the balance now).",
    )


class BalanceSerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    currency = serializers.CharField()
    balance = serializers.CharField(help_text="Decimal string with the currency's minor-unit digits.")
    as_of = serializers.DateTimeField()


class HistoryQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Transaction.Kind.choices, required=False)
    created_after = InstantField(required=False, help_text="Only postings at or after this instant.")
    created_before = InstantField(required=False, help_text="Only postings before this instant.")

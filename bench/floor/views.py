"""The two views of the floor, shaped like the ledger's transfer and balance read."""

import uuid

from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response


class TransferInput(serializers.Serializer):
    source_account_id = serializers.UUIDField()
    destination_account_id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


@api_view(["POST"])
def transfer(request: Request) -> Response:
    """Validate a transfer and answer it as a 201 document, as the ledger does after posting it."""
    data = TransferInput(data=request.data)
    data.is_valid(raise_exception=True)
    body = {
        "id": str(uuid.uuid4()),
        "kind": "transfer",
        "amount": str(data.validated_data["amount"]),
        "source_account_id": str(data.validated_data["source_account_id"]),
        "destination_account_id": str(data.validated_data["destination_account_id"]),
        "description": data.validated_data["description"],
        "created_at": timezone.now().isoformat(),
    }
    return Response(body, status=status.HTTP_201_CREATED)


@api_view(["GET"])
def balance(request: Request) -> Response:
    """Answer a balance document, as the ledger's balance read does."""
    return Response({"account_id": str(uuid.uuid4()), "currency": "USD", "balance": "10.00", "as_of": timezone.now()})

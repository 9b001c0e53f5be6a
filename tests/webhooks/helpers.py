"""Helpers of the webhook tests: clients with accounts, postings through the services, the relay's rounds."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from events.models import Event
from tests.webhooks.receiver import Received
from transactions import services
from webhooks import relay
from webhooks.models import WebhookDelivery


def deposit(user, account, amount: str = "10.00"):
    return services.deposit_create(actor=user, account_id=account.public_id, amount=Decimal(amount))


def transfer(user, source, destination, amount: str = "1.00"):
    return services.transfer_create(
        actor=user,
        source_account_id=source.public_id,
        destination_account_id=destination.public_id,
        amount=Decimal(amount),
    )


def relay_round() -> int:
    """Fan out everything new, then attempt what is due; return the attempts recorded."""
    while relay.fan_out():
        pass
    return relay.deliver_due(50)


def body(request: Received) -> dict[str, Any]:
    return json.loads(request.body)


def posted_event(txn) -> Event:
    return Event.objects.get(type="transaction.posted", subject_id=txn.public_id)


def delivery_of(endpoint, event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint=endpoint, event=event)

"""Reads of webhooks: a client's endpoints and their deliveries.

An endpoint is its owner's alone, staff included: another client's endpoint, or a deleted one,
is ``NotFound``, as if it did not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db.models import QuerySet

from ledger.errors import NotFound
from webhooks.models import WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from ledger.users import User


def endpoints_of(owner: User) -> QuerySet[WebhookEndpoint]:
    """Return the endpoints of ``owner`` that are not deleted, not yet ordered."""
    return WebhookEndpoint.objects.filter(owner=owner).exclude(status=WebhookEndpoint.Status.DELETED)


def endpoint_get(*, owner: User, endpoint_id: UUID | str) -> WebhookEndpoint:
    """Return the endpoint ``endpoint_id`` of ``owner``; ``NotFound`` if it is another's, deleted or none."""
    try:
        return endpoints_of(owner).get(public_id=endpoint_id)
    except (WebhookEndpoint.DoesNotExist, ValueError):
        raise NotFound("No such webhook endpoint.") from None


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """Return the endpoint's deliveries with their events, not yet ordered.

    Only one relay fans out at a time (``webhooks.relay.fan_out``), so deliveries' ids are drawn
    in commit order: a list by ``-id`` neither skips nor repeats one while new ones arrive.
    """
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")

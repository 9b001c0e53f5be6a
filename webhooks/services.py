"""The webhook services: create, delete and rotate the secret of endpoints; redeliver a failed delivery.

- An endpoint belongs to its client (its owner) and receives, signed with its secret, the events
  that client may see, of the types it names (or ``["*"]``), created from its own creation on.
- Its URL is checked here (:func:`webhooks.addresses.resolve`), before any database transaction
  (resolving a name may take seconds), and again at every delivery.
- The secret is returned when the endpoint is created and when it is rotated, never otherwise.
  After a rotation the previous secret keeps signing for ``ROTATION_OVERLAP`` (24 hours); a
  second rotation within that time drops the oldest.
- Deleting an endpoint is a status (``deleted``): its deliveries are kept, those still pending
  fail with ``last_error`` saying why, and it receives nothing more.
- An operator redelivers a failed delivery of an active endpoint: it is pending again, due now,
  with a fresh retry schedule (``attempts`` back to 0), audited in the same transaction.

Every write runs in its own database transaction (:func:`~ledger.atomic.run_atomically_with_retries`)
and locks the row it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.utils import timezone

from audit.models import AuditRecord
from audit.services import audit_record_create
from events.models import Event
from ledger.atomic import run_atomically_with_retries
from ledger.errors import NotFound, ValidationFailed
from webhooks import signing
from webhooks.addresses import AddressRefused, resolve
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.selectors import endpoint_get

if TYPE_CHECKING:
    from ledger.users import User

ROTATION_OVERLAP = timedelta(hours=24)
ALL_TYPES = "*"
MAX_ENDPOINTS = 20  # Per client, deleted ones not counted.
MAX_DESCRIPTION = 500


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """Return the event types an endpoint receives, without repeats; ``validation_error`` unless known.

    ``["*"]`` is every type, and stands alone.
    """
    known = set(Event.Type.values)
    types = list(dict.fromkeys(event_types))
    if not types:
        raise ValidationFailed(errors={"event_types": ['Name at least one event type, or "*" for all.']})
    if ALL_TYPES in types and len(types) > 1:
        raise ValidationFailed(errors={"event_types": ['"*" means every type: it stands alone.']})
    unknown = [t for t in types if t != ALL_TYPES and t not in known]
    if unknown:
        raise ValidationFailed(
            errors={"event_types": [f"Unknown event type {t!r}; known: {', '.join(sorted(known))}." for t in unknown]}
        )
    return types


def check_url(url: str) -> str:
    """Return ``url`` if it may receive webhooks now; ``validation_error`` on ``url`` saying why not."""
    try:
        resolve(url)
    except AddressRefused as exc:
        raise ValidationFailed(errors={"url": [str(exc)]}) from None
    return url


def endpoint_create(*, owner: User, url: str, event_types: Sequence[str], description: str = "") -> WebhookEndpoint:
    """Create an active endpoint of ``owner``; its ``secret`` is the only time it is shown (by the caller)."""
    types = check_event_types(event_types)
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(errors={"description": [f"At most {MAX_DESCRIPTION} characters."]})
    check_url(url)

    def create() -> WebhookEndpoint:
        live = WebhookEndpoint.objects.filter(owner=owner).exclude(status=WebhookEndpoint.Status.DELETED)
        if live.count() >= MAX_ENDPOINTS:
            raise ValidationFailed(errors={"url": [f"A client has at most {MAX_ENDPOINTS} endpoints; delete one."]})
        return WebhookEndpoint.objects.create(
            owner=owner,
            url=url,
            event_types=types,
            description=description,
            secret=signing.new_secret(),
            created_at=timezone.now(),
        )

    return run_atomically_with_retries(create)


def _locked(owner: User, endpoint_id: UUID | str) -> WebhookEndpoint:
    """Return the owner's endpoint (not deleted) locked for this transaction; ``NotFound`` otherwise."""
    endpoint = endpoint_get(owner=owner, endpoint_id=endpoint_id)
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


def endpoint_rotate_secret(*, owner: User, endpoint_id: UUID | str) -> WebhookEndpoint:
    """Give the endpoint a new secret; the current one keeps signing for 24 hours (the one before is dropped)."""

    def rotate() -> WebhookEndpoint:
        endpoint = _locked(owner, endpoint_id)
        now = timezone.now()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
        endpoint.secret = signing.new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        return endpoint

    return run_atomically_with_retries(rotate)


def fail_pending(endpoint: WebhookEndpoint, *, reason: str) -> int:
    """Fail the endpoint's pending deliveries with ``reason`` (in the caller's transaction); return how many."""
    return WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED,
        next_attempt_at=None,
        leased_until=None,
        lease_token=None,
        last_error=reason[:500],
    )


def endpoint_delete(*, owner: User, endpoint_id: UUID | str) -> None:
    """Delete the endpoint (a status: its deliveries stay); its pending deliveries fail. ``NotFound`` if gone."""

    def delete() -> None:
        endpoint = _locked(owner, endpoint_id)
        now = timezone.now()
        endpoint.status = WebhookEndpoint.Status.DELETED
        endpoint.disabled_at = endpoint.disabled_at or now
        endpoint.disabled_reason = "Deleted by its client."
        endpoint.save(update_fields=["status", "disabled_at", "disabled_reason"])
        fail_pending(endpoint, reason="The endpoint was deleted.")

    run_atomically_with_retries(delete)


def delivery_redeliver(
    *, operator: User, delivery_id: int, reason: str = "", ip_address: str | None = None
) -> WebhookDelivery:
    """Make a failed delivery pending again, due now, with a fresh schedule; audited.

    ``NotFound`` for no such delivery; ``validation_error`` unless it is failed and its endpoint active.
    """

    def redeliver() -> WebhookDelivery:
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound("No such delivery.")
        if delivery.status != WebhookDelivery.Status.FAILED:
            raise ValidationFailed(f"Only a failed delivery is redelivered; this one is {delivery.status}.")
        if delivery.endpoint.status != WebhookEndpoint.Status.ACTIVE:
            raise ValidationFailed(f"The endpoint is {delivery.endpoint.status}: it receives nothing.")
        now = timezone.now()
        previous = {"attempts": delivery.attempts, "last_status_code": delivery.last_status_code}
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit_record_create(
            action=AuditRecord.Action.REDELIVER_WEBHOOK,
            target_type="webhook_delivery",
            target_id=delivery.public_id,
            reason=reason or "Redelivered from the console.",
            operator=operator,
            ip_address=ip_address,
            details={
                **previous,
                "last_error": delivery.last_error,
                "endpoint_id": str(delivery.endpoint.public_id),
                "event_id": str(delivery.event.public_id),
            },
        )
        return delivery

    return run_atomically_with_retries(redeliver)

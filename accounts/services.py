"""Writes to accounts other than postings: opening accounts and ensuring system accounts.

Balances and sequences are never written here; only ``transactions.services`` moves money.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.db import transaction as db_transaction

from accounts.models import Account
from audit.services import audit_record_create
from events import outbox
from events.models import Event
from ledger.atomic import run_atomically_with_retries
from ledger.errors import AccountNotEmpty, InvalidStatusChange, NotFound, ValidationFailed
from ledger.money import validate_currency

if TYPE_CHECKING:
    from ledger.users import User


def system_account_ensure(*, currency: str) -> Account:
    """Return the system account of ``currency``, creating it if it does not exist yet."""
    account = Account.objects.filter(is_system=True, currency=currency).first()
    if account is not None:
        return account
    try:
        with db_transaction.atomic():
            return Account.objects.create(is_system=True, currency=currency, name=f"World ({currency})")
    except IntegrityError:  # Another process created it first.
        return Account.objects.get(is_system=True, currency=currency)


class KeyBinding(Protocol):
    """An idempotency key to bind to the opened account, in its own database transaction.

    ``transactions.engine.idempotency.IdempotencyClaim`` is one; the key's record is the
    transactions app's, which this layer does not know.
    """

    def bind(self, answer: Account, /) -> None: ...


def account_open(
    *,
    owner: User,
    currency: str,
    name: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: KeyBinding | None = None,
) -> Account:
    """Open an active customer account with a zero balance.

    The currency's system account is created first if needed, so every customer account
    always has a counterpart for deposits and withdrawals. Its ``account.opened`` event, and
    the binding of ``idempotency`` (a retry then answers this account), are written in the same
    database transaction.
    """
    validate_currency(currency)

    def work() -> Account:
        system_account_ensure(currency=currency)
        account = Account.objects.create(owner=owner, currency=currency, name=name, metadata=metadata or {})
        _store_event(Event.Type.ACCOUNT_OPENED, account)
        if idempotency is not None:
            idempotency.bind(account)
        return account

    return run_atomically_with_retries(work)


def _store_event(type: str, account: Account) -> None:
    """Write the account's ``type`` event, read by its owner, in the current database transaction."""
    draft = outbox.draft(type, "account", account, touches=[(account.owner_id, account.public_id)])
    outbox.store([draft], now=account.updated_at)


def client_user_ensure(*, name: str, staff: bool = False) -> tuple[User, bool]:
    """Return the user ``name`` that owns accounts, created without a password if new: ``(user, created)``.

    ``staff=True`` promotes an existing user, it never demotes one. (Its API token is the API's:
    ``api.clients.api_client_ensure``.)
    """
    with db_transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
        if staff and not user.is_staff:
            user.is_staff = True
        if created or staff:
            user.save()
    return user, created


# action -> (statuses it applies to, the status it sets)
_STATUS_CHANGES = {
    "freeze": ({Account.Status.ACTIVE}, Account.Status.FROZEN),
    "unfreeze": ({Account.Status.FROZEN}, Account.Status.ACTIVE),
    "close": ({Account.Status.ACTIVE, Account.Status.FROZEN}, Account.Status.CLOSED),
}


def account_status_change(
    *,
    operator: User,
    account_id: UUID | str,
    action: str,
    reason: str,
    ip_address: str | None = None,
) -> Account:
    """Freeze, unfreeze or close a customer account, and record who did it and why.

    Frozen and closed accounts refuse postings (``account_inactive``); closing needs a zero
    balance and is final. The account row is locked as the posting service locks it (``FOR NO
    KEY UPDATE``), so no posting can slip in between the balance check and the change; the
    audit record and the ``account.status_changed`` event are written in the same transaction.
    """
    if action not in _STATUS_CHANGES:
        raise ValueError(f"unknown account status action {action!r}")
    if not reason.strip():
        raise ValidationFailed(errors={"reason": ["A reason is required."]})
    allowed_from, new_status = _STATUS_CHANGES[action]
    with db_transaction.atomic():
        account = Account.objects.select_for_update(no_key=True).filter(public_id=account_id).first()
        if account is None:
            raise NotFound("No such account.")
        if account.is_system:
            raise InvalidStatusChange("System accounts are always active.")
        if account.status not in allowed_from:
            raise InvalidStatusChange(f"Cannot {action} an account that is {account.status}.")
        if action == "close" and account.balance_minor != 0:
            raise AccountNotEmpty()
        previous = account.status
        account.status = new_status
        account.save(update_fields=["status", "updated_at"])
        _store_event(Event.Type.ACCOUNT_STATUS_CHANGED, account)
        audit_record_create(
            action=action,
            target_type="account",
            target_id=account.public_id,
            reason=reason.strip(),
            operator=operator,
            ip_address=ip_address,
            details={"from": previous, "to": new_status},
        )
    return account

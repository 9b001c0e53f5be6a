"""Reads of accounts, scoped to what a client may see."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import Account
from transactions.errors import NotFound


def accounts_visible_to(user: AbstractBaseUser) -> QuerySet[Account]:
    """Staff see every account, system accounts included; a client sees the accounts it owns."""
    if user.is_staff:
        return Account.objects.all()
    return Account.objects.filter(owner=user)


def account_get(*, user: AbstractBaseUser, account_id: UUID | str) -> Account:
    """The account, or ``NotFound`` if it does not exist or is not the user's to see."""
    try:
        return accounts_visible_to(user).get(public_id=account_id)
    except (Account.DoesNotExist, ValueError):
        raise NotFound("No such account.") from None

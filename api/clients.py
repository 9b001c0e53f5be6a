"""API clients: users with a REST framework token (``Authorization: Token <key>``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction as db_transaction
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from accounts.services import client_user_ensure

if TYPE_CHECKING:
    from ledger.users import User


def client_of(request: Request) -> User:
    """Return the API client ``request`` authenticated as; ``not_authenticated`` (401) if it is anonymous.

    Every view that acts for a client requires authentication first, so this only makes that
    explicit where the core is called.
    """
    user = request.user
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user


def api_client_ensure(*, name: str, staff: bool = False) -> tuple[str, bool]:
    """Make ``name`` an API client: a user without a password, with a token.

    Return ``(token key, created)``. Idempotent: an existing client keeps its token;
    ``staff=True`` promotes an existing client, it never demotes one.
    """
    with db_transaction.atomic():
        user, created = client_user_ensure(name=name, staff=staff)
        token, _ = Token.objects.get_or_create(user=user)
    return token.key, created

"""API clients: users with a REST framework token (``Authorization: Token <key>``)."""

from __future__ import annotations

from django.db import transaction as db_transaction
from rest_framework.authtoken.models import Token

from accounts.services import client_user_ensure


def api_client_ensure(*, name: str, staff: bool = False) -> tuple[str, bool]:
    """Make ``name`` an API client: a user without a password, with a token.

    Return ``(token key, created)``. Idempotent: an existing client keeps its token;
    ``staff=True`` promotes an existing client, it never demotes one.
    """
    with db_transaction.atomic():
        user, created = client_user_ensure(name=name, staff=staff)
        token, _ = Token.objects.get_or_create(user=user)
    return token.key, created

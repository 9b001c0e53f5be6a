"""API clients of the tests: the REST framework's test client, authenticated by a user's token."""

from __future__ import annotations

from rest_framework.test import APIClient


def client_for(user) -> APIClient:
    """Return an API client that authenticates as ``user`` with its token."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return api

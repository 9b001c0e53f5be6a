"""The API's token authentication: REST framework's ``Authorization: Token <key>``, remembered briefly.

Each process keeps a short memory of the tokens that authenticated (:class:`CachedTokenAuthentication`).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from api import auth_failures

if TYPE_CHECKING:  # Not at run time: REST framework imports this module while defining APIView.
    from rest_framework.authtoken.models import Token
    from rest_framework.request import Request

    from ledger.users import User

_TOKENS: dict[str, tuple[float, User, Token]] = {}  # key -> (expires, user, token)
_TOKENS_LOCK = threading.Lock()
_TOKENS_MAX = 10_000


class CachedTokenAuthentication(TokenAuthentication):
    """REST framework's ``Authorization: Token <key>``, remembering a valid key for a few seconds.

    Looking the key and its user up is a query on every request; a worker remembers a key
    that authenticated for ``LEDGER_TOKEN_CACHE_SECONDS`` (0: never). Any save or deletion of a
    token or a user forgets every key in the process that made it; other processes see it
    within those seconds: a deleted token, or a deactivated client, may still authenticate
    there until then. Unknown keys are never remembered. Each request gets its own copy of
    the user.

    Failed attempts are counted per client address (:mod:`api.auth_failures`): an
    address over ``LEDGER_AUTH_FAILURE_RATE`` is answered 429 until its window ends, whatever
    token it sends.
    """

    def authenticate(self, request: Request) -> tuple[User, Token] | None:
        """Authenticate the request's token, unless its address is over the failure rate (429)."""
        if not request.META.get("HTTP_AUTHORIZATION"):
            return None  # No credentials: not an attempt (401 not_authenticated, or anonymous).
        address = auth_failures.client_address(request)
        wait = auth_failures.retry_after(address)
        if wait is not None:
            raise exceptions.Throttled(
                wait=wait, detail=f"Too many failed authentications from this address; retry in {wait} seconds."
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            auth_failures.record_failure(address)
            raise

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        """Return the user and token of ``key``, remembered for ``LEDGER_TOKEN_CACHE_SECONDS``."""
        ttl = settings.LEDGER_TOKEN_CACHE_SECONDS
        if ttl <= 0:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        hit = _TOKENS.get(key)
        if hit is None or hit[0] <= now:
            user, token = super().authenticate_credentials(key)  # Raises for a bad key or an inactive user.
            hit = (now + ttl, user, token)
            with _TOKENS_LOCK:
                if len(_TOKENS) >= _TOKENS_MAX:
                    _TOKENS.clear()
                _TOKENS[key] = hit
        return copy.copy(hit[1]), hit[2]


def forget_tokens(**kwargs: object) -> None:
    """Forget every remembered token of this process (a token or a user was saved or deleted)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


for _event, _signal in (("save", post_save), ("delete", post_delete)):
    for _sender in (settings.AUTH_USER_MODEL, "authtoken.Token"):
        _signal.connect(forget_tokens, sender=_sender, dispatch_uid=f"ledger-forget-tokens-{_event}-{_sender}")

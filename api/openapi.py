"""The schema's description of the token scheme (drf-spectacular's ``tokenAuth``), for Swagger UI's Authorize.

Registered when imported (``api.apps.ApiConfig.ready``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

AUTHORIZE_HELP = (
    "Every request sends `Authorization: Token <key>`. In Swagger UI's **Authorize**, paste the whole value, "
    "the word `Token`, a space, then the key, e.g. `Token 0123456789abcdef0123456789abcdef01234567`: this "
    "API-key scheme sends exactly what is pasted, so a bare key answers `401 not_authenticated`. "
    "An operator creates a client and prints its key with `python manage.py create_api_client NAME` "
    "(`--staff` for a staff client); run again for the same NAME it prints the same key."
)


class TokenAuthScheme(OpenApiAuthenticationExtension):
    """``api.authentication.CachedTokenAuthentication`` as the ``tokenAuth`` API-key scheme, described for users."""

    target_class = "api.authentication.CachedTokenAuthentication"
    name = "tokenAuth"
    match_subclasses = True
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": AUTHORIZE_HELP}

"""System checks of the console's configuration.

The admin's own checks (admin.E408-E410) and the deployment check of CSRF protection
(security.W003) look for the session, CSRF, authentication and messages middleware in
``MIDDLEWARE``; here they run inside ``ledger_project.middleware.ConsoleMiddleware`` from
``CONSOLE_MIDDLEWARE`` (the JSON API skips them), so those checks are silenced in the settings
and these make the same demands of where the middleware really are, including the one Django
makes only when it finds CSRF's middleware (security.W016, a secure CSRF cookie).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.checks import Warning as CheckWarning

REQUIRED = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)
DISPATCHER = "ledger_project.middleware.ConsoleMiddleware"


@register()
def console_middleware(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Require the console's middleware, in this order, behind the dispatcher in ``MIDDLEWARE``."""
    console = list(getattr(settings, "CONSOLE_MIDDLEWARE", []))
    errors = []
    if DISPATCHER not in settings.MIDDLEWARE:
        errors.append(Error(f"MIDDLEWARE must include {DISPATCHER}, which runs CONSOLE_MIDDLEWARE.", id="console.E001"))
    positions = [console.index(name) if name in console else -1 for name in REQUIRED]
    if -1 in positions or positions != sorted(positions):
        errors.append(
            Error(
                "CONSOLE_MIDDLEWARE must include, in this order: " + ", ".join(REQUIRED) + ".",
                hint="The admin needs sessions, CSRF protection, authentication and messages.",
                id="console.E002",
            )
        )
    return errors


@register(deploy=True)
def csrf_cookie_secure(app_configs: Any, **kwargs: Any) -> list[CheckWarning]:
    """Require a secure CSRF cookie in deployment (Django's security.W016, which looks only in MIDDLEWARE)."""
    if settings.CSRF_COOKIE_SECURE:
        return []
    return [CheckWarning("CSRF_COOKIE_SECURE is not True: the console's CSRF cookie may travel over plain HTTP.",
                    hint="Set DJANGO_SECURE_COOKIES=True behind TLS.", id="console.W001")]  # fmt: skip

"""The console's middleware (sessions, CSRF, authentication, messages, static files) run for the
console and not for the JSON API (``ledger_project.middleware.ConsoleMiddleware``)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from console import checks
from tests.console.helpers import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _login_form(client: Client) -> str:
    page = client.get("/admin/login/")
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_the_admin_login_refuses_a_form_without_its_csrf_token():
    make_user("operator-csrf")
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post("/admin/login/?next=/admin/", {"username": "operator-csrf", "password": PASSWORD})
    assert refused.status_code == 403
    assert "sessionid" not in refused.cookies


def test_the_admin_login_with_its_csrf_token_opens_a_session_and_shows_messages():
    make_user("operator-csrf")
    browser = Client(enforce_csrf_checks=True)
    token = _login_form(browser)
    answer = browser.post(
        "/admin/login/?next=/admin/",
        {"username": "operator-csrf", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert answer.status_code == 302, answer.content
    assert answer.cookies["sessionid"].value
    assert browser.get("/admin/").status_code == 200


def test_the_json_api_sets_no_cookie_and_needs_no_csrf_token(user):
    from rest_framework.authtoken.models import Token

    client = Client(enforce_csrf_checks=True)
    token = Token.objects.get(user=user).key
    answer = client.post(
        "/api/v1/accounts/",
        {"name": "no cookies", "currency": "USD"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert answer.status_code == 201, answer.content
    assert not answer.cookies
    assert "Cookie" not in answer.get("Vary", "")


def test_the_check_demands_the_admins_middleware_where_they_run(settings):
    assert checks.console_middleware(None) == []
    settings.CONSOLE_MIDDLEWARE = [m for m in settings.CONSOLE_MIDDLEWARE if "sessions" not in m]
    assert [e.id for e in checks.console_middleware(None)] == ["console.E002"]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != checks.DISPATCHER]
    assert [e.id for e in checks.console_middleware(None)] == ["console.E001", "console.E002"]


def test_csrf_protects_every_console_view_not_only_the_ones_the_admin_decorates(rf):
    """The admin's views check CSRF themselves (csrf_protect); any other console view relies on the
    middleware's process_view, which Django finds only in MIDDLEWARE and the dispatcher forwards."""
    from django.http import HttpResponse

    from ledger_project.middleware import ConsoleMiddleware

    def plain_view(request):
        return HttpResponse("changed something")

    dispatcher = ConsoleMiddleware(lambda request: HttpResponse())
    form = rf.post("/console-tool/", {"confirm": "yes"})
    form._dont_enforce_csrf_checks = False
    refused = dispatcher.process_view(form, plain_view, (), {})
    assert refused is not None
    assert refused.status_code == 403
    assert dispatcher.process_view(rf.post("/api/v1/deposits/", {}), plain_view, (), {}) is None


def test_the_deploy_check_demands_a_secure_csrf_cookie(settings):
    settings.CSRF_COOKIE_SECURE = True
    assert checks.csrf_cookie_secure(None) == []
    settings.CSRF_COOKIE_SECURE = False
    assert [w.id for w in checks.csrf_cookie_secure(None)] == ["console.W001"]

"""`make run`'s demo users: created once, with random secrets, shown on every run."""

import io
import re

from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import override_settings
from rest_framework.authtoken.models import Token


def _run(url: str = "http://127.0.0.1:8000") -> str:
    out = io.StringIO()
    call_command("setup_demo", url=url, stdout=out)
    return out.getvalue()


def test_setup_demo_creates_the_users_once_and_shows_the_same_secrets(db, tmp_path):
    with override_settings(BASE_DIR=tmp_path):
        first = _run("http://127.0.0.1:8123")
        again = _run()
    password = re.search(r"password (\S+)", first).group(1)
    token = re.search(r"token (\S+)", first).group(1)
    assert "http://127.0.0.1:8123/admin/" in first
    assert f"password {password}" in again
    assert f"token {token}" in again
    assert get_user_model().objects.filter(username__startswith="demo-").count() == 2
    admin = authenticate(username="demo-admin", password=password)
    assert admin is not None
    assert admin.is_superuser
    assert Token.objects.get(key=token).user.username == "demo-client"
    assert (tmp_path / "var" / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600

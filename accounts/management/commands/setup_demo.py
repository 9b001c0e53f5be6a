"""``python manage.py setup_demo``: a demo admin and a demo API client, created once.

Their random secrets are written to ``var/demo-credentials.txt`` (readable by the owner
only) and printed on every run, so ``make run`` can always show how to log in.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.services import api_client_ensure

ADMIN_USERNAME = "demo-admin"
CLIENT_NAME = "demo-client"


class Command(BaseCommand):
    help = "Create (once) a demo admin user and a demo API client, and print their secrets."

    def handle(self, *args, **options) -> None:
        credentials = Path(settings.BASE_DIR) / "var" / "demo-credentials.txt"
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            password = secrets.token_urlsafe(16)
            User.objects.create_superuser(ADMIN_USERNAME, password=password)
            token, _ = api_client_ensure(name=CLIENT_NAME)
            credentials.parent.mkdir(exist_ok=True)
            credentials.write_text(
                f"Admin:      http://127.0.0.1:8000/admin/  user {ADMIN_USERNAME}  password {password}\n"
                f"API client: {CLIENT_NAME}  token {token}\n"
                f"            curl -H 'Authorization: Token {token}' http://127.0.0.1:8000/api/v1/accounts/\n"
                "API docs:   http://127.0.0.1:8000/api/docs/\n"
            )
            credentials.chmod(0o600)
        if credentials.exists():
            self.stdout.write(credentials.read_text())
        else:
            self.stdout.write(f"The demo users exist but {credentials} is gone; reset with `make clean-demo`.")

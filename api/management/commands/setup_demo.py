"""``python manage.py setup_demo``: a demo admin and a demo API client, created once.

Their random secrets are kept in ``var/demo-credentials.txt`` (readable by the owner only)
and printed with the server's links on every run, so ``make run`` always shows how to log in.
"""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from api.clients import api_client_ensure

ADMIN_USERNAME = "demo-admin"
CLIENT_NAME = "demo-client"


class Command(BaseCommand):
    help = "Create (once) a demo admin user and a demo API client, and print their secrets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the server will answer.")

    def handle(self, *args: str, url: str, **options: Any) -> None:
        credentials = Path(settings.BASE_DIR) / "var" / "demo-credentials.txt"
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            password = secrets.token_urlsafe(16)
            User.objects.create_superuser(ADMIN_USERNAME, password=password)
            token, _ = api_client_ensure(name=CLIENT_NAME)
            credentials.parent.mkdir(exist_ok=True)
            credentials.write_text(f"{ADMIN_USERNAME} {password}\n{CLIENT_NAME} {token}\n")
            credentials.chmod(0o600)
        if credentials.exists():
            (admin, password), (client, token) = (line.split() for line in credentials.read_text().splitlines())
            self.stdout.write(
                f"Admin:      {url}/admin/  user {admin}  password {password}\n"
                f"API client: {client}  token {token}\n"
                f"            curl -H 'Authorization: Token {token}' {url}/api/v1/accounts/\n"
                f"API docs:   {url}/api/docs/\n"
            )
        else:
            self.stdout.write(f"The demo users exist but {credentials} is gone; reset with `make clean-demo`.")

"""``python manage.py create_api_client NAME [--staff]``: print the client's API token.

Creates the user NAME if it is new, and its token if it has none; run again, it prints the
same token. Only the token goes to standard output, so ``TOKEN=$(... create_api_client acme)``.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from api.clients import api_client_ensure


class Command(BaseCommand):
    help = "Create an API client (a user with a token) if needed and print its token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The client's username.")
        parser.add_argument("--staff", action="store_true", help="Let the client act on every account.")

    def handle(self, *args: str, name: str, staff: bool, **options: Any) -> None:
        token, created = api_client_ensure(name=name, staff=staff)
        if created:
            self.stderr.write(f"Created API client {name!r}{' (staff)' if staff else ''}.")
        self.stdout.write(token)

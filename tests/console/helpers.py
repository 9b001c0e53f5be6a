"""Helpers of the admin console tests: the operator groups, users who log in, and the admin's URLs and messages."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from transactions.models import Transaction

AUDITORS = "Ledger auditors"
OPERATORS = "Ledger operators"
PASSWORD = "a long operator passphrase 42"
GROUPS_MIGRATION = ("audit", "0002_operator_groups")
# Later migrations that grant the groups the view permission of a model added after them.
GRANT_MIGRATIONS = [
    ("audit", "0003_batch_view_permission"),
    ("audit", "0004_reconciliation_run_view_permission"),
    ("audit", "0005_hold_permissions"),
    ("audit", "0008_webhook_permissions"),
]


def groups_migration():
    """Return the migration that made the operator groups."""
    return import_module("audit.migrations.0002_operator_groups")


def remake_ledger_groups() -> None:
    """Make the groups again with the migrations' own functions, as the migrations did."""
    loader = MigrationExecutor(connection).loader
    with connection.schema_editor() as editor:
        groups_migration().create_groups(loader.project_state(GROUPS_MIGRATION).apps, editor)
        for app_label, name in GRANT_MIGRATIONS:
            grant = import_module(f"{app_label}.migrations.{name}").grant
            grant(loader.project_state((app_label, name)).apps, editor)


def make_user(username: str, *, staff: bool = True, superuser: bool = False, groups=()):
    """Create a user who logs in with :data:`PASSWORD`, in ``groups``."""
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, is_superuser=superuser
    )
    user.groups.set(groups)
    return user


def logged_in(user) -> Client:
    """Return a browser logged in as ``user`` (anonymous for None)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class Books:
    """Alice got 100.00 from outside and sent 30.00 to Bob."""

    client_user: object
    alice: Account
    bob: Account
    deposit: Transaction
    transfer: Transaction

    def refresh(self) -> None:
        """Read the accounts and transactions again from the database."""
        for obj in (self.alice, self.bob, self.deposit, self.transfer):
            obj.refresh_from_db()


def admin_url(name: str, *args) -> str:
    """Return the URL of the admin's view ``name``."""
    return reverse(f"admin:{name}", args=args)


def messages_of(response) -> list[str]:
    """Return the messages a response shows."""
    return [str(message) for message in response.context["messages"]] if response.context else []

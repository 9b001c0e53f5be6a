"""Fixtures of the admin console tests: the five kinds of visitor, and a small ledger."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.models import Transaction

AUDITORS = "Ledger auditors"
OPERATORS = "Ledger operators"
PASSWORD = "a long operator passphrase 42"
GROUPS_MIGRATION = ("audit", "0002_operator_groups")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Operators log in with passwords; a fast hasher keeps the suite quick (never in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def groups_migration():
    return import_module("audit.migrations.0002_operator_groups")


@pytest.fixture
def ledger_groups(db) -> dict[str, Group]:
    """The groups the migration made. A transactional test elsewhere flushes the tables (data
    migrations with them); then they are made again by the migration's own function."""
    if Group.objects.filter(name__in=[AUDITORS, OPERATORS]).count() < 2:
        state = MigrationExecutor(connection).loader.project_state(GROUPS_MIGRATION)
        with connection.schema_editor() as editor:
            groups_migration().create_groups(state.apps, editor)
    return {group.name: group for group in Group.objects.filter(name__in=[AUDITORS, OPERATORS])}


def make_user(username: str, *, staff: bool = True, superuser: bool = False, groups=()):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=staff, is_superuser=superuser
    )
    user.groups.set(groups)
    return user


@pytest.fixture
def auditor(ledger_groups):
    return make_user("auditor", groups=[ledger_groups[AUDITORS]])


@pytest.fixture
def operator(ledger_groups):
    return make_user("operator", groups=[ledger_groups[OPERATORS]])


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def bare_staff(db):
    """Staff with no permission at all."""
    return make_user("bare-staff")


@pytest.fixture
def non_staff(db):
    return make_user("customer-user", staff=False)


def logged_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    return logged_in(operator)


@dataclass
class Books:
    """Alice got 100.00 from outside and sent 30.00 to Bob."""

    client_user: object
    alice: Account
    bob: Account
    deposit: Transaction
    transfer: Transaction

    def refresh(self) -> None:
        for obj in (self.alice, self.bob, self.deposit, self.transfer):
            obj.refresh_from_db()


@pytest.fixture
def books(db) -> Books:
    client_user = UserFactory(username="acme")
    alice = AccountFactory(owner=client_user, currency="USD", name="Alice")
    bob = AccountFactory(owner=client_user, currency="USD", name="Bob")
    deposit = services.deposit_create(
        actor=client_user, account_id=alice.public_id, amount=Decimal("100.00"), reference="INV-100"
    )
    transfer = services.transfer_create(
        actor=client_user,
        source_account_id=alice.public_id,
        destination_account_id=bob.public_id,
        amount=Decimal("30.00"),
        reference="RENT-7",
    )
    books = Books(client_user, alice, bob, deposit, transfer)
    books.refresh()
    return books


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []

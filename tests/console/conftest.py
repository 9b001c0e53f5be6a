"""Fixtures of the admin console tests: the five kinds of visitor, a small ledger and a reconciliation run."""

from __future__ import annotations

import datetime
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
from django.utils import timezone

from accounts.models import Account
from reconciliation.models import ReconciliationRun
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.models import Transaction

AUDITORS = "Ledger auditors"
OPERATORS = "Ledger operators"
PASSWORD = "a long operator passphrase 42"
GROUPS_MIGRATION = ("audit", "0002_operator_groups")
# Later migrations that grant the groups the view permission of a model added after them.
GRANT_MIGRATIONS = [("audit", "0003_batch_view_permission"), ("audit", "0004_reconciliation_run_view_permission")]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Operators log in with passwords; a fast hasher keeps the suite quick (never in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def groups_migration():
    return import_module("audit.migrations.0002_operator_groups")


def remake_ledger_groups() -> None:
    """Make the groups again with the migrations' own functions, as the migrations did."""
    loader = MigrationExecutor(connection).loader
    with connection.schema_editor() as editor:
        groups_migration().create_groups(loader.project_state(GROUPS_MIGRATION).apps, editor)
        for app_label, name in GRANT_MIGRATIONS:
            grant = import_module(f"{app_label}.migrations.{name}").grant
            grant(loader.project_state((app_label, name)).apps, editor)


@pytest.fixture
def ledger_groups(db) -> dict[str, Group]:
    """The groups the migrations made. A transactional test elsewhere flushes the tables (data
    migrations with them); then they are made again (:func:`remake_ledger_groups`)."""
    if Group.objects.filter(name__in=[AUDITORS, OPERATORS]).count() < 2:
        remake_ledger_groups()
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


@pytest.fixture
def reconciliation_run(db) -> ReconciliationRun:
    """A run that found one discrepancy, as ``manage.py reconcile`` records it."""
    started = timezone.now()
    return ReconciliationRun.objects.create(
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=2),
        scope=ReconciliationRun.Scope.ALL,
        checks={"balances": {"discrepancies": 1, "seconds": 1.5}},
        result=ReconciliationRun.Result.DISCREPANCIES,
        discrepancy_count=1,
        discrepancies=[{"check": "balances", "problem": "stored balance differs", "expected": "1.00", "found": "1.01"}],
        run_by="manage.py reconcile (ops@db1)",
    )


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []

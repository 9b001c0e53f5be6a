"""Fixtures of the admin console tests: the five kinds of visitor, a small ledger, a hold and a reconciliation run."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from accounts.models import Hold
from reconciliation.models import ReconciliationRun
from tests.console.helpers import AUDITORS, OPERATORS, Books, logged_in, make_user, remake_ledger_groups
from tests.factories import AccountFactory, UserFactory
from transactions import services
from transactions.holds import hold_create


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Operators log in with passwords; a fast hasher keeps the suite quick (never in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ledger_groups(db) -> dict[str, Group]:
    """The groups the migrations made. A transactional test elsewhere flushes the tables (data
    migrations with them); then they are made again (:func:`remake_ledger_groups`)."""
    if Group.objects.filter(name__in=[AUDITORS, OPERATORS]).count() < 2:
        remake_ledger_groups()
    return {group.name: group for group in Group.objects.filter(name__in=[AUDITORS, OPERATORS])}


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


@pytest.fixture
def operator_client(operator) -> Client:
    return logged_in(operator)


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
def hold(books) -> Hold:
    """Alice's 70.00 with 10.00 of it held for Bob, pending for a day (reference ORDER-9)."""
    held = hold_create(
        actor=books.client_user,
        account_id=books.alice.public_id,
        destination_account_id=books.bob.public_id,
        amount=Decimal("10.00"),
        expires_at=timezone.now() + datetime.timedelta(days=1),
        reference="ORDER-9",
    )
    books.refresh()
    return Hold.objects.get(pk=held.pk)


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

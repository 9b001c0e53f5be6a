"""Fixtures of every test: users, API clients authenticated by token, an account, and a small ledger."""

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from tests.clients import client_for
from tests.factories import AccountFactory, StaffFactory, UserFactory
from tests.ledgers import Ledger, build_ledger


def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL or run `make test`)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def api(user) -> APIClient:
    """An API client authenticated as ``user``."""
    return client_for(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def staff_api(staff) -> APIClient:
    return client_for(staff)


@pytest.fixture
def account(user):
    """A USD account of ``user``, empty."""
    return AccountFactory(owner=user, currency="USD")


@pytest.fixture
def ledger(db) -> Ledger:
    """The small ledger of :mod:`tests.ledgers`, written through the posting service."""
    return build_ledger()

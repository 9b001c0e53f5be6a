"""``ledger.rows``: instances from fixed SQL are the instances a queryset returns (both databases)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from accounts.models import Account
from accounts.selectors import account_get
from ledger import rows
from ledger.errors import NotFound
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _fields(instance: Account) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in Account._meta.concrete_fields}


def test_an_instance_from_fixed_sql_equals_the_orms_in_every_field_and_state(user):
    opened = AccountFactory(owner=user, currency="EUR", metadata={"team": "ops", "limits": [1, 2]})
    table = connection.ops.quote_name(Account._meta.db_table)
    [loaded] = rows.fetch(
        Account,
        f"SELECT {rows.columns(Account, 'a')}, 7 FROM {table} a WHERE a.public_id = %s",  # noqa: S608
        [rows.db_value(Account, "public_id", opened.public_id)],
        extra=["seven"],
    )
    expected = Account.objects.get(pk=opened.pk)
    assert _fields(loaded) == _fields(expected)
    assert isinstance(loaded.public_id, uuid.UUID)
    assert loaded.metadata == {"team": "ops", "limits": [1, 2]}
    assert loaded.created_at == expected.created_at
    assert loaded.created_at.tzinfo is not None
    assert loaded.is_system is False
    assert (loaded._state.adding, loaded._state.db) == (False, connection.alias)
    assert loaded.seven == 7


def test_a_client_gets_its_own_account_and_nobody_elses(user, other_user):
    mine = AccountFactory(owner=user)
    theirs = AccountFactory(owner=other_user)
    assert _fields(account_get(user=user, account_id=mine.public_id)) == _fields(Account.objects.get(pk=mine.pk))
    assert account_get(user=user, account_id=str(mine.public_id)).pk == mine.pk
    for unknown in (theirs.public_id, uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(NotFound):
            account_get(user=user, account_id=unknown)

"""Model instances from fixed SQL, exactly as the ORM would load them, for the hottest reads.

Building a queryset and compiling it to SQL costs more CPU than the database spends answering
a primary-key lookup (docs/benchmarks.md, "Why the code is written as it is"). The few
statements every request runs are therefore written once as text, and their rows become model
instances here: each column goes through the converters Django itself applies (the backend's,
then the field's ``from_db_value``, e.g. JSON text to a dict on PostgreSQL, text to a UUID on
SQLite), and ``Model.from_db`` builds the instance, so that it is indistinguishable from one a
queryset returned (saved, in this database, every field loaded).

Invariant: :func:`columns` and :func:`instances` agree on the column order, the model's concrete
fields in declaration order, followed by any extra columns the statement adds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

_Converter = Callable[[Any, Any, Any], Any]
_Column = Any  # django.db.models.expressions.Col, which the converters receive as their expression


def columns(model: type[Model], alias: str) -> str:
    """Return the select list of every concrete column of ``model``, qualified by ``alias``, in field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(cast(str, field.column))}" for field in _concrete_fields(model))


def _concrete_fields(model: type[Model]) -> list[Field[Any, Any]]:
    """Return the fields of ``model`` that have a column, in declaration order."""
    return cast("list[Field[Any, Any]]", list(model._meta.concrete_fields))


def db_value(model: type[Model], field_name: str, value: object) -> object:
    """Return ``value`` as the database stores ``model.field_name`` (a UUID as hex text on SQLite)."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{field_name} is a relation, not a column")
    return field.get_db_prep_value(value, connection)


@functools.cache
def _converters(model: type[Model], vendor: str) -> tuple[tuple[str, _Column, tuple[_Converter, ...]], ...]:
    """Return each concrete field's attribute name, column, and the converters its values go through."""
    converters = []
    for field in _concrete_fields(model):
        column = field.get_col(model._meta.db_table)
        chain = tuple(connection.ops.get_db_converters(column)) + tuple(field.get_db_converters(connection))
        converters.append((field.attname, column, chain))
    return tuple(converters)


def instances(model: type[M], rows: Iterable[Sequence[Any]], extra: Sequence[str] = ()) -> list[M]:
    """Return ``rows`` (the columns of :func:`columns`, then ``extra``) as loaded instances of ``model``.

    Each extra column becomes an attribute of that name on the instance, as ``annotate`` does.
    """
    fields = _converters(model, connection.vendor)
    width = len(fields)
    names = [name for name, _, _ in fields]
    loaded = []
    for row in rows:
        values = []
        for (_, column, chain), value in zip(fields, row[:width], strict=True):
            for convert in chain:
                value = convert(value, column, connection)
            values.append(value)
        instance = model.from_db(connection.alias, names, values)
        for name, value in zip(extra, row[width:], strict=True):
            setattr(instance, name, value)
        loaded.append(instance)
    return loaded


def fetch(model: type[M], sql: str, params: Sequence[Any] | dict[str, Any], extra: Sequence[str] = ()) -> list[M]:
    """Run ``sql`` (selecting :func:`columns` of ``model``, then ``extra``) and return its rows as instances."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return instances(model, cursor.fetchall(), extra)

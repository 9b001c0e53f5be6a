"""The Django ORM internals the posting engine relies on, in one place, each said why.

The engine writes rows with its own SQL (one statement per posting, see ``journal``) and hands
back model instances that look exactly as if the ORM had saved and loaded them, so that
rendering an answer costs no query. Django has no public API for that; these three helpers
are the only places that touch ``_state`` or the caches, and they do what ``Model.save`` and
``prefetch_related`` themselves do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection, models

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import ReverseOneToOneDescriptor


def mark_saved(instance: models.Model, pk: int) -> None:
    """Give ``instance`` the primary key its row got, and mark it saved in this database (as ``save`` does)."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


def cache_related(instance: models.Model, name: str, objects: Sequence[models.Model]) -> None:
    """Make ``instance.<name>.all()`` answer ``objects`` without a query (as ``prefetch_related`` does)."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = objects


def cache_no_reverse_one(instance: models.Model, descriptor: ReverseOneToOneDescriptor[Any, Any]) -> None:
    """Remember that ``instance`` has no row on the other side of a reverse one-to-one (``descriptor``)."""
    cache_reverse_one(instance, descriptor, None)


def cache_reverse_one(
    instance: models.Model, descriptor: ReverseOneToOneDescriptor[Any, Any], other: models.Model | None
) -> None:
    """Make the reverse one-to-one ``descriptor`` of ``instance`` answer ``other`` (``None``: none), no query."""
    descriptor.related.set_cached_value(instance, other)

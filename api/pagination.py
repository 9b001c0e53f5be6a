"""Cursor pagination, newest first, with signed cursors and a strictly checked page size.

Every list of rows that database transactions insert pages in commit order
(:class:`CommitOrderPagination`); an account's history pages by its posting sequence, which the
account's row lock already draws in commit order.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, cast

from django.core import signing
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from ledger import commit_order
from ledger.errors import InvalidCursor, InvalidPageSize

if TYPE_CHECKING:  # Not at run time: REST framework's settings import this module.
    from django.db.models import QuerySet
    from rest_framework.request import Request
    from rest_framework.views import APIView

_PAGE_SIZE = re.compile(r"[0-9]{1,3}")
_SALT = "ledger.pagination.cursor"


class SignedCursorPagination(CursorPagination):
    """DRF's cursor pagination over a unique, immutable ordering key.

    Cursors are signed and bound to the list they came from, so a tampered or foreign cursor
    is refused with ``invalid_cursor`` instead of being decoded. Because positions are keys,
    not offsets, rows that arrive while a client pages through a list never shift the pages.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"
    request: Request  # Set by paginate_queryset, before any cursor is encoded or decoded.

    def get_page_size(self, request: Request) -> int:
        """Return ``?page_size=``, 1 to ``max_page_size`` (default ``page_size``); ``invalid_page_size`` otherwise."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _PAGE_SIZE.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise InvalidPageSize(f"page_size must be a whole number from 1 to {self.max_page_size}.")
        return int(raw)

    def _list_tag(self) -> str:
        """Return a short digest naming the list (path and ordering) a cursor belongs to."""
        return hashlib.sha256(f"{self.request.path}|{','.join(self.ordering)}".encode()).hexdigest()[:16]

    def encode_cursor(self, cursor: Cursor) -> str:
        """Return the link to the page at ``cursor``: a signed token naming this list."""
        if self.base_url is None:
            raise RuntimeError("a cursor is encoded only once paginate_queryset has set the page's base URL")
        token = signing.dumps(
            [cursor.offset, int(cursor.reverse), cursor.position, self._list_tag()], salt=_SALT, compress=True
        )
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """Return the cursor the request carries, or ``None``; ``invalid_cursor`` unless signed for this list."""
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        try:
            offset, reverse, position, tag = signing.loads(token, salt=_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidCursor() from None
        if tag != self._list_tag() or not isinstance(offset, int) or not 0 <= offset <= self.offset_cutoff:
            raise InvalidCursor()
        return Cursor(offset=offset, reverse=bool(reverse), position=position)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """Return the list's query parameters as the schema describes them, the page size bounded."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = "Opaque cursor from a `next` or `previous` link."
        return parameters


_POSITION = re.compile(r"([0-9]{1,20}):([0-9]{1,20})")


class CommitOrderPagination(SignedCursorPagination):
    """Newest first in commit order, ``(txid, id)``, below the snapshot's horizon (``ledger.commit_order``).

    A page shows only rows no later commit can precede, so a transaction that commits after a
    client read a page, with a lower id than rows on it, appears above every page read (newest
    first) instead of inside the range already walked: walking ``next`` (or back through
    ``previous``) never skips a row that existed when the walk began, nor repeats one. The
    cursor is the ``(txid, id)`` of the row it continues from, signed as every cursor is.
    """

    ordering = commit_order.NEWEST_FIRST  # type: ignore[assignment]  # DRF takes a tuple; its stubs say str.

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any]:
        """Return the page the request's cursor names, ``page_size`` rows in commit order."""
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        backwards = self.cursor is not None and self.cursor.reverse
        rows: QuerySet[Any, Any] = commit_order.committed(queryset)
        if self.cursor is not None:
            position = self._position(self.cursor.position)
            rows = rows.filter(commit_order.after(position) if backwards else commit_order.before(position))
        order = commit_order.OLDEST_FIRST if backwards else commit_order.NEWEST_FIRST
        fetched = list(rows.order_by(*order)[: self.page_size + 1])
        more = len(fetched) > self.page_size
        self.page = fetched[: self.page_size]
        if backwards:
            self.page.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, self.cursor is not None
        return self.page

    def get_next_link(self) -> str | None:
        """Return the link to the older rows after this page, ``None`` at the oldest."""
        if not self.has_next:
            return None
        return self._link(self.page[-1] if self.page else None, reverse=False)

    def get_previous_link(self) -> str | None:
        """Return the link to the newer rows before this page, ``None`` at the newest."""
        if not self.has_previous:
            return None
        return self._link(self.page[0] if self.page else None, reverse=True)

    def _link(self, row: Any, *, reverse: bool) -> str:
        """Return the link continuing from ``row`` (none: from where the request's cursor stood)."""
        if row is None:
            position = self.cursor.position if self.cursor is not None else "0:0"
        elif isinstance(row, dict):
            position = f"{row['txid']}:{row['id']}"
        else:
            position = f"{row.txid}:{row.pk}"
        return self.encode_cursor(Cursor(offset=0, reverse=reverse, position=cast(Any, position)))

    @staticmethod
    def _position(raw: object) -> commit_order.Position:
        """Return the ``(txid, id)`` a cursor names; ``invalid_cursor`` for anything else."""
        match = _POSITION.fullmatch(raw) if isinstance(raw, str) else None
        if match is None:
            raise InvalidCursor()
        return int(match[1]), int(match[2])

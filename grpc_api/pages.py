"""Lists as pages: the REST interface's paginators, with page tokens for cursors.

A page token is the REST cursor of the same list (signed and bound to it): the REST list's path
names the list, so a token from one list is refused by another (``invalid_cursor``), and the
same walk may go on over either interface. Pages are newest first; lists of rows that database
transactions insert page in commit order (:class:`api.pagination.CommitOrderPagination`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from api.pagination import SignedCursorPagination


class _ListRequest(HttpRequest):
    """The HTTP request a REST client would send for the page: its path and query, nothing else."""

    def build_absolute_uri(self, location: str | None = None) -> str:
        return f"grpc://ledger{self.path}?{self.GET.urlencode()}"


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_page_token: str
    previous_page_token: str


def _token(link: str | None) -> str:
    """Return the cursor of a REST page link, ``""`` for none."""
    if link is None:
        return ""
    return parse_qs(urlsplit(link).query).get("cursor", [""])[0]


def page(paginator_class: type[CursorPagination], rows: QuerySet[Any], *, path: str, size: int, token: str) -> Page:
    """Return the page ``token`` names (none: the newest), ``size`` rows (0: the default)."""
    http = _ListRequest()
    http.path = http.path_info = path
    query = QueryDict(mutable=True)
    if size:
        query["page_size"] = str(size)
    if token:
        query["cursor"] = token
    http.GET = query  # type: ignore[assignment]  # A request's query is immutable once parsed; this one is built.
    paginator = paginator_class()
    found = paginator.paginate_queryset(rows, Request(http)) or []
    return Page(list(found), _token(paginator.get_next_link()), _token(paginator.get_previous_link()))


def size(value: int) -> int:
    """Return a page size as REST checks ``?page_size=`` (0: the default); ``invalid_page_size`` otherwise."""
    http = _ListRequest()
    if value:
        http.GET = QueryDict(f"page_size={value}")
    return SignedCursorPagination().get_page_size(Request(http))

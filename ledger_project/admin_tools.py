"""Admin building blocks that stay fast on a ledger with millions of rows.

- :class:`UncountedPaginator` never runs ``COUNT(*)``: it reads one row more than a page
  holds to learn whether a next page exists.
- :class:`LedgerChangeList` shows the rows that paginator already read, and a date
  hierarchy built from ``MIN``/``MAX`` of the date column (index lookups) instead of
  Django's ``SELECT DISTINCT`` of every date in the table.
- :class:`LedgerModelAdmin` is a read-only admin (no add, change or delete, superusers
  included) wired to both, without facet counts or "show all".
- :class:`CurrencyFilter` lists the configured currencies instead of ``SELECT DISTINCT``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import connection, models
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst

from transactions.money import currencies, format_minor


class UncountedPaginator(Paginator):
    """A paginator for a known page that reads ``per_page + 1`` rows and never counts.

    ``count`` is a lower bound: the rows before this page plus the rows read, so there is a
    next page exactly when ``count`` exceeds this page's end. The rows read for the page are
    kept, so the page costs one query.
    """

    counted = False

    def __init__(self, object_list: Any, per_page: int, *args: Any, page_number: int = 1, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.page_number = max(1, page_number)
        self._rows: list[Any] | None = None

    @cached_property
    def count(self) -> int:
        start = (self.page_number - 1) * self.per_page
        self._rows = list(self.object_list[start : start + self.per_page + 1])
        return start + len(self._rows)

    @property
    def has_next(self) -> bool:
        return self.count > self.page_number * self.per_page

    def page(self, number: Any):
        number = self.validate_number(number)
        if number == self.page_number:
            self.count  # noqa: B018 (reads this page's rows)
            return self._get_page(self._rows[: self.per_page], number, self)
        return super().page(number)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get(PAGE_VAR, 1)))
    except ValueError:
        return 1


class LedgerChangeList(ChangeList):
    """A change list over an :class:`UncountedPaginator` with a date hierarchy that needs no scan."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        paginator = self.paginator
        if isinstance(paginator, UncountedPaginator) and not self.multi_page:
            # A single page: show the rows the paginator read instead of querying them again.
            paginator.count  # noqa: B018
            self.result_list = paginator._rows

    @cached_property
    def page_links(self) -> dict[str, Any]:
        """Previous and next links of an uncounted list."""
        has_next = self.result_count > self.page_num * self.list_per_page
        return {
            "number": self.page_num,
            "previous": self.get_query_string({PAGE_VAR: self.page_num - 1}) if self.page_num > 1 else None,
            "next": self.get_query_string({PAGE_VAR: self.page_num + 1}) if has_next else None,
        }

    @cached_property
    def cheap_date_hierarchy(self) -> dict[str, Any] | None:
        """What Django's ``date_hierarchy`` tag shows, from the range of dates instead of each date.

        Choices span the dates of the list's last and first rows (``LIMIT 1`` each way along
        the list's own ordering, so along the index that serves the list: ``MIN``/``MAX`` with
        a filter can walk a whole date index instead). With ids and dates growing together
        that is the range of dates; a period inside it may hold no rows.
        """
        if not self.date_hierarchy:
            return None
        field = self.date_hierarchy
        year_field, month_field, day_field = f"{field}__year", f"{field}__month", f"{field}__day"

        def link(filters: dict[str, Any]) -> str:
            return self.get_query_string(filters, [f"{field}__"])

        def lookup(name: str) -> int | None:
            value = self.params.get(name)
            if isinstance(value, list):
                value = value[-1] if value else None
            try:
                return int(value) if value else None
            except ValueError:
                return None

        year, month, day = lookup(year_field), lookup(month_field), lookup(day_field)
        dates = self.queryset.values_list(field, flat=True)
        if connection.features.supports_slicing_ordering_in_compound:
            ends = list(dates.reverse()[:1].union(dates[:1], all=True))
        else:
            ends = [*dates.reverse()[:1], *dates[:1]]
        if not ends:
            return {"show": False}
        first, last = min(ends), max(ends)
        first, last = (timezone.localtime(v) if timezone.is_aware(v) else v for v in (first, last))
        if year is None and first.year == last.year:
            year = first.year
            if first.month == last.month:
                month = first.month

        if year and month and day:
            date = datetime.date(year, month, day)
            return {
                "show": True,
                "back": {
                    "link": link({year_field: year, month_field: month}),
                    "title": capfirst(formats.date_format(date, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(formats.date_format(date, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            # The rows are filtered to this month, so their first and last days lie in it.
            days = [datetime.date(year, month, d) for d in range(first.day, last.day + 1)]
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: month, day_field: d.day}),
                        "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
                    }
                    for d in days
                ],
            }
        if year:
            months = [datetime.date(year, m, 1) for m in range(first.month, last.month + 1)]  # Rows of this year.
            return {
                "show": True,
                "back": {"link": link({}), "title": "All dates"},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: m.month}),
                        "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT")),
                    }
                    for m in months
                ],
            }
        return {
            "show": True,
            "back": None,
            "choices": [
                {"link": link({year_field: str(y)}), "title": str(y)} for y in range(first.year, last.year + 1)
            ],
        }


class LedgerModelAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included; lists that never count their rows."""

    change_list_template = "admin/ledger/change_list.html"
    paginator = UncountedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_max_show_all = 0  # "Show all" would load the whole table.
    list_per_page = 50
    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, page_number=_page_number(request))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LedgerChangeList

    def get_ordering(self, request: HttpRequest) -> list[str]:
        """Within a period of the date hierarchy, newest first along the date's index.

        Ordering such a page by id would walk the primary key back to the period: the planner
        does not know that ids and dates grow together.
        """
        field = self.date_hierarchy
        if field and any(key.startswith(f"{field}__") for key in request.GET):
            return [f"-{field}", "-pk"]
        return super().get_ordering(request)


class CurrencyFilter(admin.SimpleListFilter):
    """The configured currencies, without a ``SELECT DISTINCT`` over the table."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        return [(code, code) for code in currencies()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(currency=self.value())
        return queryset


def admin_link(obj: models.Model | None, label: object = None) -> str:
    """A link to ``obj``'s admin page (``-`` for none)."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


def money(minor: int | None, currency: str) -> str:
    """``1050, "USD"`` -> ``"10.50 USD"``: exactly the currency's digits (``-`` for none: a system
    account's posting carries no balance after it)."""
    return "-" if minor is None else f"{format_minor(minor, currency)} {currency}"


def account_label(account: Any) -> str:
    """A short label for lists: the account's name (or 'system') and the start of its id."""
    name = account.name or ("system" if account.is_system else "account")
    return f"{name} · {str(account.public_id)[:8]}"


def flat_fields(fieldsets: list[tuple[Any, dict[str, Any]]]) -> list[str]:
    """Every field named in ``fieldsets``, for ``readonly_fields``."""
    return [
        name
        for _, options in fieldsets
        for row in options["fields"]
        for name in (row if isinstance(row, tuple | list) else (row,))
    ]

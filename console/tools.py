"""Admin building blocks that stay fast on a ledger with millions of rows, and hold against hostile URLs.

- :class:`LedgerAdminSite` is the admin site (``console.apps.LedgerAdminConfig``): every
  admin page answers 400 to a NUL character in its URL (PostgreSQL text cannot hold one), and
  every model admin registered on it, Django's own included, gets :class:`GuardedAdmin`: its
  :class:`GuardedChangeList` refuses what no list can answer (a page past a ``bigint`` offset,
  a date-hierarchy year whose next year overflows ``datetime``, a lookup the query cannot be
  compiled with, a regular expression, a range) as Django refuses a wrong lookup: with a
  redirect to ``?e=1``. Object URLs name auto-numbered rows by ASCII digits only.
- :class:`UncountedPaginator` never runs ``COUNT(*)``: it reads one row more than a page
  holds to learn whether a next page exists.
- :class:`LedgerChangeList` shows the rows that paginator already read, and a date
  hierarchy built from ``MIN``/``MAX`` of the date column (index lookups) instead of
  Django's ``SELECT DISTINCT`` of every date in the table.
- :class:`LedgerModelAdmin` is a read-only admin (no add, change or delete, superusers
  included) wired to both, without facet counts or "show all".
- :class:`CurrencyFilter` lists the configured currencies instead of ``SELECT DISTINCT``.
- :class:`ChoicesListFilter` and :class:`IdListFilter` refuse a value that none of their
  choices has or that is no row id, the same way.
"""

from __future__ import annotations

import datetime
import functools
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import BadRequest, EmptyResultSet, PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import connection, models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst

from ledger.money import currencies, format_minor

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable
    from django_stubs_ext import FieldsetSpec

    from accounts.models import Account
    from ledger.users import User

    Ordering = list[str | Combinable] | tuple[str | Combinable, ...]  # What ModelAdmin.get_ordering answers

    # GuardedAdmin is mixed into model admins: for the type checker, it is one.
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

MAX_BIGINT = 2**63 - 1
# Lookups no query string can give a valid value: the database refuses a regular expression
# with an unbalanced bracket (an error, not "no match"), and a range from a URL is one string,
# not two bounds (Django would bind each of its characters on a text column). ``unaccent``
# (registered by django.contrib.postgres) needs an extension the ledger does not install.
REFUSED_LOOKUPS = frozenset({"regex", "iregex", "range", "unaccent"})
# The largest year, month and day of a date-hierarchy drill-down: the period after it must exist.
DATE_PARTS = (("year", datetime.MAXYEAR - 1), ("month", 12), ("day", 31))


def positive_int(value: str, maximum: int = MAX_BIGINT) -> int | None:
    """Return ``value`` as an integer in ``1..maximum``, or ``None`` if it is anything else.

    Only ASCII digits count: ``str.isdigit()`` accepts "²", which ``int()`` refuses, and
    ``int()`` accepts "٣", " 7", "+7" and "1_000"; none of them is an id, a page or a year.
    """
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if 1 <= number <= maximum else None


def operator_of(request: HttpRequest) -> User:
    """Return the operator the admin request is logged in as; ``PermissionDenied`` if it is anonymous.

    Every admin view requires a staff login first (``AdminSite.admin_view``), so this only makes
    that explicit where the core is called.
    """
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user


def refuse_nul(request: HttpRequest) -> None:
    """Raise ``BadRequest`` if the path or the query string holds a NUL character.

    PostgreSQL text cannot hold one, so a NUL in a lookup, a search or an id would end in a
    database error instead of an answer.
    """
    if "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
    ):
        raise BadRequest("A NUL character in the URL.")


def page_number(request: HttpRequest, per_page: int) -> int:
    """Return the page ``?p=`` asks for (1 without it).

    Raise ``IncorrectLookupParameters`` unless it is a positive integer whose rows start at an
    offset a ``bigint`` holds.
    """
    value = request.GET.get(PAGE_VAR)
    if value is None:
        return 1
    number = positive_int(value, MAX_BIGINT // per_page)
    if number is None:
        raise IncorrectLookupParameters(f"No page {value!r}.")
    return number


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
        """A lower bound on the rows: those before this page and those read for it (one row more than it holds)."""
        start = (self.page_number - 1) * self.per_page
        self._rows = list(self.object_list[start : start + self.per_page + 1])
        return start + len(self._rows)

    @property
    def has_next(self) -> bool:
        """Whether a page follows this one."""
        return self.count > self.page_number * self.per_page

    def page(self, number: Any) -> Page:
        """Return page ``number``: this paginator's own page from the rows it read, any other as Django does."""
        number = self.validate_number(number)
        if number == self.page_number:
            self.count  # noqa: B018 (reads this page's rows)
            if self._rows is None:
                raise RuntimeError("count read no rows")  # It always does: count sets them.
            return Page(self._rows[: self.per_page], number, self)
        return super().page(number)


class GuardedChangeList(ChangeList):
    """A change list that answers every query string, refusing what no list could answer.

    Refused as an incorrect lookup (Django's redirect to ``?e=1``): a page that is not a
    positive integer or lies past a ``bigint`` offset; a date-hierarchy year, month or day out
    of range (Django's drill-down to the year after 9999 overflows ``datetime``); a lookup no
    list filter took that :meth:`lookup_accepted` refuses; lookup values the query cannot be
    compiled with (a ``__year`` of 10000 on any date field).
    """

    def get_filters(self, request: HttpRequest) -> tuple[Any, ...]:
        """Refuse a date-hierarchy part out of range, then a lookup no filter took and none accepts."""
        if self.date_hierarchy:
            for part, maximum in DATE_PARTS:
                for value in self.filter_params.get(f"{self.date_hierarchy}__{part}", []):
                    if positive_int(value, maximum) is None:
                        raise IncorrectLookupParameters(f"No {part} {value!r}.")
        filters = super().get_filters(request)
        remaining_lookups = filters[2]
        for key in remaining_lookups:
            if not self.lookup_accepted(key):
                raise IncorrectLookupParameters(f"Filtering by {key} is not accepted.")
        return filters

    def lookup_accepted(self, key: str) -> bool:
        """Return whether to apply ``key``, a lookup of the query string that no list filter took."""
        return REFUSED_LOOKUPS.isdisjoint(key.split(LOOKUP_SEP))

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> models.QuerySet:
        """Refuse lookup values that only compiling the query rejects or warns about.

        A ``__year`` of 10000 cannot be compiled; a date-time without a zone
        (``created__gte=2026-01-01 00:00``) would be read in the server's zone with only a
        warning: both are incorrect lookups.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                queryset = super().get_queryset(request, exclude_parameters)
            except RuntimeWarning as exc:
                raise IncorrectLookupParameters(exc) from exc
            try:
                queryset.query.clone().sql_with_params()
            except EmptyResultSet:
                pass
            except (ValueError, TypeError, OverflowError, RuntimeWarning) as exc:
                raise IncorrectLookupParameters(exc) from exc
        return queryset

    def get_results(self, request: HttpRequest) -> None:
        self.page_num = page_number(request, self.list_per_page)
        super().get_results(request)


@functools.cache
def guarded_changelist(changelist: type[ChangeList]) -> type[ChangeList]:
    """Return ``changelist`` with the guards of :class:`GuardedChangeList`."""
    if issubclass(changelist, GuardedChangeList):
        return changelist
    return type(f"Guarded{changelist.__name__}", (GuardedChangeList, changelist), {})


class LedgerChangeList(GuardedChangeList):
    """A change list over an :class:`UncountedPaginator` with a date hierarchy that needs no scan.

    It takes no field lookups of its own (no index would answer most of them on a large
    table): only its list filters' parameters and its date hierarchy.
    """

    def lookup_accepted(self, key: str) -> bool:
        """Accept only the bounds the date hierarchy set for the period it was given."""
        field = self.date_hierarchy
        return bool(field) and f"{field}__year" in self.filter_params and key in (f"{field}__gte", f"{field}__lt")

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
        A searched list's choices span the dates of the rows it shows: a rare term would make
        either ``LIMIT 1`` walk the whole index to find its few rows.
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
            return positive_int(value) if value else None  # Checked in range by get_filters.

        year, month, day = lookup(year_field), lookup(month_field), lookup(day_field)
        dates = self.queryset.values_list(field, flat=True)
        if self.query:
            # A search: its rows may be few, and "LIMIT 1" along an index would then walk all of
            # it to find them. The periods span the rows shown instead (read already).
            ends = [getattr(row, field) for row in self.result_list]
        elif connection.features.supports_slicing_ordering_in_compound:
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


AUTO_FIELDS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


class GuardedAdmin(_ModelAdminBase):
    """A model admin mix-in that guards its change list and its object URLs.

    The change list is a :class:`GuardedChangeList`; an object URL names a row of an
    auto-numbered model by ASCII digits only (``int()`` reads "٣" as 3).
    """

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        # A class hashes by identity; mypy checks it against Hashable through its instances' __hash__.
        return guarded_changelist(super().get_changelist(request, **kwargs))  # type: ignore[arg-type]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """Return the object the URL names, or ``None``.

        An empty ``?_to_field=`` is no field: Django would look up a field named "".
        """
        from_field = from_field or None
        pk = self.opts.pk
        if from_field in (None, pk.name) and isinstance(pk, AUTO_FIELDS) and positive_int(object_id) is None:
            return None
        return super().get_object(request, object_id, from_field)


class LedgerAdminSite(admin.AdminSite):
    """The admin site: NUL characters refused on every page, every change list guarded, a dashboard as its index.

    Django's own model admins (users, groups, tokens) are registered here too, so they get the
    same guards as the ledger's.
    """

    index_template = "admin/console/index.html"

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Return ``view`` protected as Django's admin protects it, and refusing a NUL in the URL."""
        protected = super().admin_view(view, cacheable)

        @functools.wraps(protected)
        def refusing_nul(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refuse_nul(request)
            return protected(request, *args, **kwargs)

        return cast("_View", refusing_nul)  # Called as the view is, and wrapped to look like it.

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """Django's index with the dashboard (``console.dashboard``) above its app list."""
        from console.dashboard import dashboard_context  # It builds on this module's helpers.

        return super().index(request, {**dashboard_context(request), **(extra_context or {})})

    def register(self, model_or_iterable: Any, admin_class: type | None = None, **options: Any) -> None:
        """Register the model(s) with ``admin_class`` (Django's ``ModelAdmin`` by default), guarded."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, GuardedAdmin):
            name = f"Guarded{admin_class.__name__}"
            admin_class = type(name, (GuardedAdmin, admin_class), {"__module__": __name__, "__qualname__": name})
        super().register(model_or_iterable, admin_class, **options)


class LedgerModelAdmin(GuardedAdmin, admin.ModelAdmin):
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

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: models.QuerySet[Any],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> UncountedPaginator:
        # The change list refused a wrong ?p= already; other callers (autocomplete) page otherwise.
        number = positive_int(request.GET.get(PAGE_VAR, "1"), MAX_BIGINT // per_page) or 1
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, page_number=number)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LedgerChangeList

    def get_ordering(self, request: HttpRequest) -> Ordering:
        """Order a period of the date hierarchy newest first, along the date's index.

        Ordering such a page by id would walk the primary key back to the period: the planner
        does not know that ids and dates grow together.
        """
        field = self.date_hierarchy
        if field and any(key.startswith(f"{field}__") for key in request.GET):
            return [f"-{field}", "-pk"]
        return super().get_ordering(request)


class ChoicesListFilter(admin.SimpleListFilter):
    """A list filter that refuses a value none of its choices has, as an incorrect lookup."""

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        value = self.value()
        if value is not None and value not in {str(choice) for choice, _ in self.lookup_choices}:
            raise IncorrectLookupParameters(f"No {self.title} {value!r}.")


class IdListFilter(admin.SimpleListFilter):
    """A list filter on a row id: a value that is no ``bigint`` id is an incorrect lookup."""

    def id_value(self) -> int | None:
        """Return the id asked for, or ``None`` without one."""
        value = self.value()
        if value is None:
            return None
        number = positive_int(value)
        if number is None:
            raise IncorrectLookupParameters(f"No {self.title} {value!r}.")
        return number


class CurrencyFilter(ChoicesListFilter):
    """The configured currencies, without a ``SELECT DISTINCT`` over the table."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(code, code) for code in currencies()]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        if self.value():
            return queryset.filter(currency=self.value())
        return queryset


def admin_pages_of(model: type[models.Model], public_ids: set[str]) -> dict[str, str]:
    """Return the admin page of each of ``public_ids`` that is a row of ``model`` (one query; none for no id).

    The ids are free text where they come from (audit targets, reconciliation findings): one
    that is no uuid names no row.
    """
    from console.search import whole_id  # It builds on this module's helpers.

    ids = {uid for uid in map(whole_id, public_ids) if uid is not None}
    if not ids:
        return {}
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_change"
    rows = model._default_manager.filter(public_id__in=ids).values_list("public_id", "pk")
    return {str(public_id): reverse(name, args=[pk]) for public_id, pk in rows}


def money(minor: int | None, currency: str) -> str:
    """Return minor units with exactly the currency's digits and its code: ``1050, "USD"`` -> ``"10.50 USD"``.

    ``-`` for none: a system account's posting carries no balance after it.
    """
    return "-" if minor is None else f"{format_minor(minor, currency)} {currency}"


def money_cell(minor: int | None, currency: str) -> str:
    """Return :func:`money` for a list column: right-aligned, digits lined up, never wrapped.

    Every list shows an amount with its currency code this way and has no currency column.
    """
    return format_html('<span class="money">{}</span>', money(minor, currency))


SHORT_ID_LENGTH = 8


def short_id(public_id: object, url: str | None = None) -> str:
    """Return a public id as lists show it: its first 8 characters in a chip, the whole id on hover and to copy.

    The chip links to ``url`` when given. The copy button is hidden until ``console/copy.js``
    runs; without JavaScript the full id stays in the chip's ``title``.
    """
    full = str(public_id)
    chip = format_html('<code class="short-id" title="{}">{}</code>', full, full[:SHORT_ID_LENGTH])
    if url is not None:
        chip = format_html('<a href="{}" class="short-id-link">{}</a>', url, chip)
    return format_html(
        '<span class="id-chip">{}<button type="button" class="copy-id" data-copy="{}" '
        'title="Copy the full id" aria-label="Copy the full id {}" hidden>copy</button></span>',
        chip,
        full,
        full,
    )


def short_id_link(obj: Any) -> str:
    """Return :func:`short_id` of ``obj.public_id`` linking to ``obj``'s admin page (``-`` for none)."""
    if obj is None:
        return "-"
    opts = obj._meta
    return short_id(obj.public_id, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))


def when(moment: datetime.datetime | None) -> str:
    """Return a date-time as the whole console shows it, in ``TIME_ZONE`` with its zone: ``2026-12-02 19:04:05 UTC``.

    The format is ``DATETIME_FORMAT`` (``console/formats``), the one Django's own columns and
    fields use too. ``-`` for none.
    """
    if moment is None:
        return "-"
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "DATETIME_FORMAT")


def clipped(text: str) -> str:
    """Return free text for a list column: CSS may cut it with an ellipsis, so all of it stays on hover."""
    return format_html('<span class="clipped" title="{}">{}</span>', text, text) if text else "-"


def system_account_note(currency: str) -> str:
    """Say what a currency's system account is (``accounts.models``): the outside world, never a customer's money."""
    return (
        f"The outside world for {currency}: deposits come from it and withdrawals go to it, so its balance "
        f"is the negative of all the money customers hold in {currency}. It belongs to no one, holds "
        "nothing and cannot be frozen or closed."
    )


def system_badge(account: Account) -> str:
    """Return the "System" badge of a system account, with what it is on hover."""
    return format_html(
        '<span class="badge badge-system" title="{}">System</span>', system_account_note(account.currency)
    )


def account_label(account: Account) -> str:
    """Return a short label for lists: the account's name (or 'system') and the start of its id."""
    name = account.name or (f"{account.currency} system" if account.is_system else "account")
    return f"{name} · {str(account.public_id)[:SHORT_ID_LENGTH]}"


def account_link(account: Account | None) -> str:
    """Return a link to the account's admin page labelled as in lists, the full id on hover (``-`` for none)."""
    if account is None:
        return "-"
    url = reverse("admin:accounts_account_change", args=[account.pk])
    return format_html(
        '<a href="{}" class="account-link" title="{}">{}</a>', url, str(account.public_id), account_label(account)
    )


class AccountIdFilter(IdListFilter):
    """The rows of one account (``account_id``, linked from the account's page); no list of every account.

    An id that is no account's shows no rows, not every row.
    """

    title = "account"
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        from accounts.models import Account

        pk = self.id_value()
        account = Account.objects.filter(pk=pk).first() if pk is not None else None
        return [(str(account.pk), account_label(account))] if account is not None else []

    def has_output(self) -> bool:
        return self.value() is not None

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        pk = self.id_value()
        return queryset if pk is None else queryset.filter(account_id=pk)


def flat_fields(fieldsets: FieldsetSpec) -> list[str]:
    """Return every field named in ``fieldsets``, for ``readonly_fields``."""
    return [
        name
        for _, options in fieldsets
        for row in options["fields"]
        for name in (row if isinstance(row, tuple | list) else (row,))
    ]

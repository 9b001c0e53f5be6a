"""The operator console for holds: find one, see what it reserves and what captured it, void it.

Holds are read-only here for everyone, superusers included (clients place and capture them
through the API). A hold is shown as it is at the instant the page is read
(``Hold.status_at``): a pending hold past its expiry is *expired*, and reserves nothing, even
before a write or ``expire_holds`` records it so; the status filter counts it that way too.

Voiding goes through ``transactions.holds.hold_void``, the service the API uses (the account's
lock, the rule, the release of the reservation and the audit record in one database
transaction); this admin only asks for the reason and adds Django's ``LogEntry``. It needs the
``accounts.void_hold`` permission.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import DateTimeField, Q, QuerySet, Value
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import Hold
from console.search import accounts_matching, ids_q, too_long
from console.tools import (
    AccountIdFilter,
    ChoicesListFilter,
    CurrencyFilter,
    LedgerModelAdmin,
    account_link,
    flat_fields,
    money,
    money_cell,
    operator_of,
    positive_int,
    short_id_link,
    when,
)
from ledger.errors import LedgerError
from transactions.holds import hold_void
from transactions.models import Transaction

SOON = datetime.timedelta(hours=24)
THIS_WEEK = datetime.timedelta(days=7)


def page_instant(request: HttpRequest) -> datetime.datetime:
    """Return the one instant a request shows holds at: its filters, its statuses and its amounts agree."""
    moment = getattr(request, "_holds_seen_at", None)
    if not isinstance(moment, datetime.datetime):
        moment = timezone.now()
        request._holds_seen_at = moment  # type: ignore[attr-defined]
    return moment


def seen_at(hold: Hold) -> datetime.datetime:
    """Return the instant ``hold`` was read for (one per page, :meth:`HoldAdmin.get_queryset`), else now."""
    moment = getattr(hold, "seen_at", None)
    return moment if isinstance(moment, datetime.datetime) else timezone.now()


def status_label(hold: Hold, now: datetime.datetime) -> str:
    """Return the hold's status at ``now`` by its label, saying so when its expiry is not recorded yet."""
    status = hold.status_at(now)
    label = str(Hold.Status(status).label)
    if status != hold.status:
        return f"{label} (not yet recorded)"
    return label


class HoldStatusFilter(ChoicesListFilter):
    """The status at this instant: a pending hold past its expiry is expired, recorded so or not."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in Hold.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Hold]) -> QuerySet[Hold]:
        value, now = self.value(), page_instant(request)
        if value is None:
            return queryset
        if value == Hold.Status.PENDING:
            return queryset.filter(status=Hold.Status.PENDING, expires_at__gt=now)
        if value == Hold.Status.EXPIRED:
            lapsed = Q(status=Hold.Status.PENDING, expires_at__lte=now)
            return queryset.filter(Q(status=Hold.Status.EXPIRED) | lapsed)
        return queryset.filter(status=value)


class ExpiryFilter(ChoicesListFilter):
    """When the hold expires, from now: soon, this week, already (whatever its status), or lapsed unrecorded."""

    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [
            ("24h", "Pending, expires within 24 hours"),
            ("7d", "Pending, expires within 7 days"),
            ("passed", "Expiry passed"),
            ("unrecorded", "Expired, not yet recorded"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Hold]) -> QuerySet[Hold]:
        value, now = self.value(), page_instant(request)
        if value in ("24h", "7d"):
            until = now + (SOON if value == "24h" else THIS_WEEK)
            return queryset.filter(status=Hold.Status.PENDING, expires_at__gt=now, expires_at__lte=until)
        if value == "passed":
            return queryset.filter(expires_at__lte=now)
        if value == "unrecorded":
            return queryset.filter(status=Hold.Status.PENDING, expires_at__lte=now)
        return queryset


class VoidForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text="Required. Kept on the hold and in the audit trail with your name, the time and your address.",
    )


class _HoldColumns:
    """What a hold shows wherever it is listed: its amounts in its currency's digits, its status now."""

    @admin.display(description="id")
    def short_id(self, obj: Hold) -> str:
        return short_id_link(obj)

    @admin.display(description="account")
    def account_link(self, obj: Hold) -> str:
        return account_link(obj.account)

    @admin.display(description="destination")
    def destination_link(self, obj: Hold) -> str:
        return account_link(obj.destination_account) if obj.destination_account_id else "- (withdrawal)"

    @admin.display(description="amount")
    def amount(self, obj: Hold) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description="captured")
    def captured(self, obj: Hold) -> str:
        return money_cell(obj.captured_minor, obj.currency)

    @admin.display(description="remaining")
    def remaining(self, obj: Hold) -> str:
        return money_cell(obj.remaining_minor_at(seen_at(obj)), obj.currency)

    @admin.display(description="status")
    def status_now(self, obj: Hold) -> str:
        return status_label(obj, seen_at(obj))


@admin.register(Hold)
class HoldAdmin(_HoldColumns, LedgerModelAdmin):
    list_display = [
        "short_id",
        "account_link",
        "destination_link",
        "amount",
        "captured",
        "remaining",
        "status_now",
        "expires_at",
        "created_at",
    ]
    list_display_links = None  # The id chip links to the page itself (its copy button must not be in a link).
    list_select_related = ["account", "destination_account"]
    list_filter = [HoldStatusFilter, ExpiryFilter, CurrencyFilter, AccountIdFilter]
    search_fields = ["public_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = (
        "Part of a reference or of an account's name (any case); "
        "a hold or account id, whole or its first 8+ characters."
    )
    sortable_by = ()
    ordering = ["-id"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("public_id", "status_now"),
                    ("account_link", "destination_link"),
                    ("amount", "captured", "remaining"),
                    ("created_at", "expires_at"),
                    ("resolved_at", "resolution_reason"),
                ]
            },
        ),
        ("Details", {"fields": ["description", "reference", "metadata", "created_by_display"]}),
        ("Captures", {"fields": ["captures_table"]}),
    ]
    readonly_fields = flat_fields(fieldsets)

    @admin.display(description="placed by")
    def created_by_display(self, obj: Hold) -> str:
        return obj.created_by.get_username()

    @admin.display(description="captures")
    def captures_table(self, obj: Hold) -> str:
        captures = Transaction.objects.filter(hold=obj).order_by("pk")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    short_id_link(txn),
                    txn.get_kind_display(),
                    txn.get_status_display(),
                    money_cell(txn.amount_minor, txn.currency),
                    when(txn.created_at),
                )
                for txn in captures
            ),
        )
        if not rows:
            return format_html("<p>{}</p>", "Nothing captured.")
        return format_html(
            '<table id="hold-captures"><thead><tr><th>transaction</th><th>kind</th><th>status</th>'
            "<th>amount</th><th>when</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Hold]:
        """The holds, each carrying the one instant the page shows them at (``seen_at``)."""
        now = Value(page_instant(request), output_field=DateTimeField())
        return super().get_queryset(request).annotate(seen_at=now)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Hold | None:
        """Return the hold with its accounts and its client in one query, or ``None`` for an id that is no id."""
        pk = positive_int(object_id)
        if pk is None:
            return None
        queryset = self.get_queryset(request).select_related("account", "destination_account", "created_by")
        return queryset.filter(pk=pk).first()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Hold], search_term: str
    ) -> tuple[QuerySet[Hold], bool]:
        """Find holds by id (whole or its start), by the accounts a term names (either side: their id, id start
        or part of their name), or by part of their reference (any case). See ``console.search``.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if too_long(term):
            return queryset.none(), False
        accounts = [account.pk for account in accounts_matching(term)]
        of_accounts = Q(account_id__in=accounts) | Q(destination_account_id__in=accounts)
        by_id = ids_q(term)
        if by_id is not None:
            return queryset.filter(by_id | of_accounts), False
        return queryset.filter(Q(reference__icontains=term) | of_accounts), False

    # --- void -----------------------------------------------------------------------------

    def has_void_permission(self, request: HttpRequest) -> bool:
        """Whether the user may void holds (``accounts.void_hold``)."""
        return request.user.has_perm("accounts.void_hold")

    def get_urls(self) -> list[URLPattern]:
        urls = [path("<path:object_id>/void/", self.admin_site.admin_view(self.void_view), name="accounts_hold_void")]
        return urls + super().get_urls()

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Hold | None = None,
    ) -> HttpResponse:
        if obj is not None:
            if self.has_void_permission(request) and obj.status_at(seen_at(obj)) == Hold.Status.PENDING:
                context["void_url"] = reverse("admin:accounts_hold_void", args=[obj.pk])
            context["account_url"] = reverse("admin:accounts_account_change", args=[obj.account_id])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def void_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the confirmation page (GET), or void the hold through the hold service (POST)."""
        if not self.has_void_permission(request):
            raise PermissionDenied
        hold = self.get_object(request, object_id)
        if hold is None:
            raise Http404("No such hold.")
        change_url = reverse("admin:accounts_hold_change", args=[hold.pk])
        now = seen_at(hold)
        if request.method == "POST":
            form = VoidForm(request.POST)
            if form.is_valid():
                return self._void(request, hold, reason=form.cleaned_data["reason"].strip())
        else:
            status = hold.status_at(now)
            if status != Hold.Status.PENDING:
                messages.error(request, f"Hold not voided: The hold is {status}.")
                return redirect(change_url)
            form = VoidForm()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Void hold {hold.public_id}",
            "opts": self.opts,
            "original": hold,
            "account_link": account_link(hold.account),
            "amount": money(hold.amount_minor, hold.currency),
            "captured": money(hold.captured_minor, hold.currency),
            "remaining": money(hold.remaining_minor_at(now), hold.currency),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/accounts/hold/void_confirmation.html", context)

    def _void(self, request: HttpRequest, hold: Hold, *, reason: str) -> HttpResponse:
        change_url = reverse("admin:accounts_hold_change", args=[hold.pk])
        try:
            voided = hold_void(
                actor=operator_of(request),
                hold_id=hold.public_id,
                reason=reason,
                ip_address=request.META.get("REMOTE_ADDR"),
                via="admin",
            )
        except LedgerError as exc:
            if exc.extra.get("outcome") == "unknown":
                messages.warning(
                    request,
                    "The connection to the database failed while the void was committing: the hold may or may "
                    "not have been voided. Reload this hold to see its status before trying again.",
                )
            else:
                messages.error(request, f"Hold not voided: {exc.detail}")
            return redirect(change_url)
        released = money(voided.amount_minor - voided.captured_minor, voided.currency)
        self.log_change(request, hold, f"Voided, releasing {released}. Reason: {reason}")
        messages.success(request, f"Hold {hold.public_id} voided: {released} released.")
        return redirect(change_url)

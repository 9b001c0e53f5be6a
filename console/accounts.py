"""The operator console for accounts: find one, see what moved and what is held, freeze, unfreeze or close it.

Accounts are read-only here (they are opened through the API). Status changes go through
``accounts.services.account_status_change``, which locks the account, checks the rule and
writes the audit record in one database transaction; this admin only asks for the reason
and adds Django's ``LogEntry``. They need the ``accounts.change_account_status`` permission.

An account's page shows its balance with what its holds reserve at this instant and what it
may spend (``Account.available_balance_minor``: a hold past its expiry reserves nothing, even
before its expiry is recorded), and its latest holds (``console.holds``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import Account, Hold
from accounts.selectors import with_available, with_balances
from accounts.services import account_status_change
from console.holds import status_label as hold_status_label
from console.search import ids_q, too_long
from console.statements import statement_view
from console.tools import (
    ChoicesListFilter,
    CurrencyFilter,
    LedgerModelAdmin,
    account_label,
    clipped,
    flat_fields,
    money,
    money_cell,
    operator_of,
    positive_int,
    short_id_link,
    system_account_note,
    system_badge,
    when,
)
from ledger.errors import LedgerError
from transactions.models import Posting

if TYPE_CHECKING:
    from django_stubs_ext import FieldsetSpec

LATEST_POSTINGS = 20
LATEST_HOLDS = 20

# action -> (button label, past tense for messages, statuses it applies to)
# The buttons end in "…": each opens a confirmation page, where nothing happens until confirmed.
STATUS_ACTIONS = {
    "freeze": ("Freeze account…", "frozen", {Account.Status.ACTIVE}),
    "unfreeze": ("Unfreeze account…", "unfrozen", {Account.Status.FROZEN}),
    "close": ("Close account…", "closed", {Account.Status.ACTIVE, Account.Status.FROZEN}),
}
# What each action does, as its confirmation button says it.
CONFIRM_LABELS = {"freeze": "Freeze the account", "unfreeze": "Unfreeze the account", "close": "Close the account"}


class SystemFilter(ChoicesListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("customer", "Customer accounts"), ("system", "System accounts")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> QuerySet[Account]:
        if self.value() is not None:
            return queryset.filter(is_system=self.value() == "system")
        return queryset


class StatusChangeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Why: kept in the audit trail with your name, the time and your address.",
    )


@admin.register(Account)
class AccountAdmin(LedgerModelAdmin):
    list_display = ["id_chip", "name_cell", "owner", "balance", "status_label", "system", "created_at"]
    list_display_links = None  # The id chip links to the page itself (its copy button must not be in a link).
    list_select_related = ["owner"]
    list_filter = [CurrencyFilter, "status", SystemFilter]
    search_fields = ["public_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = (
        "Part of a name (any case), an account id (whole, or its first 8+ characters), or an owner's exact username."
    )
    sortable_by = ()
    ordering = ["-id"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("public_id", "name"),
                    ("owner", "currency", "system"),
                    ("status", "last_sequence"),
                    ("balance", "reserved", "available"),
                    ("created_at", "updated_at"),
                    "metadata",
                ]
            },
        ),
        ("Latest postings", {"fields": ["latest_postings"]}),
        ("Latest holds", {"fields": ["latest_holds"]}),
    ]
    readonly_fields = [*flat_fields(fieldsets), "system_note"]

    @admin.display(description="id")
    def id_chip(self, obj: Account) -> str:
        return short_id_link(obj)

    @admin.display(description="name")
    def name_cell(self, obj: Account) -> str:
        return clipped(obj.name)

    @admin.display(description="balance")
    def balance(self, obj: Account) -> str:
        return money_cell(obj.current_balance_minor, obj.currency)

    @admin.display(description="status")
    def status_label(self, obj: Account) -> str:
        return format_html('<span class="badge badge-status-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="type", empty_value="")
    def system(self, obj: Account) -> str:
        """The "System" badge on the currency's system account (what it is on hover); nothing on a customer's."""
        return system_badge(obj) if obj.is_system else ""

    @admin.display(description="what it is")
    def system_note(self, obj: Account) -> str:
        return format_html('<p class="system-note">{}</p>', system_account_note(obj.currency))

    def get_fieldsets(self, request: HttpRequest, obj: Account | None = None) -> FieldsetSpec:
        """The account's fields; a system account's page first says what a system account is."""
        if obj is not None and obj.is_system:
            return [("System account", {"fields": ["system_note"]}), *self.fieldsets]
        return self.fieldsets

    @admin.display(description="reserved")
    def reserved(self, obj: Account) -> str:
        """What the account's holds reserve now (a lapsed hold's rest, still recorded, counts for nothing)."""
        return money(obj.current_balance_minor - obj.available_balance_minor, obj.currency)

    @admin.display(description="available")
    def available(self, obj: Account) -> str:
        return money(obj.available_balance_minor, obj.currency)

    @admin.display(description="latest holds")
    def latest_holds(self, obj: Account) -> str:
        """The account's latest holds, newest first, as they are now, each linking to its page."""
        if obj.is_system:
            return format_html("<p>{}</p>", "A system account holds nothing.")
        holds = Hold.objects.filter(account=obj).select_related("destination_account").order_by("-id")[:LATEST_HOLDS]
        now = timezone.now()
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    short_id_link(hold),
                    hold_status_label(hold, now),
                    money_cell(hold.amount_minor, hold.currency),
                    money_cell(hold.captured_minor, hold.currency),
                    money_cell(hold.remaining_minor_at(now), hold.currency),
                    account_label(hold.destination_account) if hold.destination_account else "-",
                    when(hold.expires_at),
                    when(hold.created_at),
                )
                for hold in holds
            ),
        )
        every = reverse("admin:accounts_hold_changelist") + f"?account={obj.pk}"
        if not rows:
            return format_html('<p>No holds yet.</p><p><a href="{}">All holds</a></p>', every)
        return format_html(
            '<table id="latest-holds"><thead><tr><th>hold</th><th>status</th><th>amount</th><th>captured</th>'
            "<th>remaining</th><th>destination</th><th>expires</th><th>placed</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}" class="all-holds">All holds</a> (the latest {} are shown here)</p>',
            rows,
            every,
            LATEST_HOLDS,
        )

    @admin.display(description="latest postings")
    def latest_postings(self, obj: Account) -> str:
        postings = (
            Posting.objects.filter(account=obj)
            .select_related("transaction")
            .order_by("-id" if obj.is_system else "-sequence")[:LATEST_POSTINGS]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    p.sequence,
                    when(p.created_at),
                    short_id_link(p.transaction),
                    p.transaction.get_kind_display(),
                    money_cell(p.amount_minor, obj.currency),
                    money_cell(p.balance_after_minor, obj.currency),
                )
                for p in postings
            ),
        )
        history = reverse("admin:transactions_posting_changelist") + f"?account={obj.pk}"
        if not rows:
            return format_html('<p>No postings yet.</p><p><a href="{}">Full history</a></p>', history)
        return format_html(
            '<table id="latest-postings"><thead><tr><th>#</th><th>when</th><th>transaction</th><th>kind</th>'
            "<th>amount</th><th>balance after</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}" class="full-history">Full history</a> (the latest {} are shown here)</p>',
            rows,
            history,
            LATEST_POSTINGS,
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return with_balances(super().get_queryset(request))  # A system account's balance is derived.

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Account | None:
        """Return the account with its owner and available balance (one query), or ``None`` for an id that is no id."""
        pk = positive_int(object_id)
        if pk is None:
            return None
        return with_available(self.get_queryset(request)).select_related("owner").filter(pk=pk).first()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Account], search_term: str
    ) -> tuple[QuerySet[Account], bool]:
        """Find accounts by id (whole or its start), else by part of their name (any case) or an owner's username.

        See ``console.search``: the id along its unique index, the name along its trigram index.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if too_long(term):
            return queryset.none(), False
        by_id = ids_q(term)
        if by_id is not None:
            return queryset.filter(by_id), False
        owners = list(get_user_model().objects.filter(username=term).values_list("pk", flat=True)[:10])
        return queryset.filter(Q(name__icontains=term) | Q(owner_id__in=owners)), False

    # --- status changes -------------------------------------------------------------------

    def has_change_status_permission(self, request: HttpRequest) -> bool:
        """Whether the user may freeze, unfreeze and close accounts (``accounts.change_account_status``)."""
        return request.user.has_perm("accounts.change_account_status")

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        urls = [
            path(
                f"<path:object_id>/{action}/",
                view(self.status_change_view),
                {"action": action},
                name=f"accounts_account_{action}",
            )
            for action in STATUS_ACTIONS
        ]
        urls.append(path("<path:object_id>/statement/", view(self.statement_view), name="accounts_account_statement"))
        return urls + super().get_urls()

    def statement_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The account's statement for a period, or its CSV (``console.statements``)."""
        context = {**self.admin_site.each_context(request), "opts": self.opts}
        return statement_view(request, self.get_object(request, object_id), context=context)

    def status_actions(self, request: HttpRequest, account: Account) -> list[dict[str, str]]:
        """Return the status buttons this user may press on this account."""
        if account.is_system or not self.has_change_status_permission(request):
            return []
        return [
            {
                "action": action,
                "label": label,
                "url": reverse(f"admin:accounts_account_{action}", args=[account.pk]),
            }
            for action, (label, _, allowed_from) in STATUS_ACTIONS.items()
            if account.status in allowed_from
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Account | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["status_actions"] = self.status_actions(request, obj)
            context["statement_url"] = reverse("admin:accounts_account_statement", args=[obj.pk])
            context["history_url"] = reverse("admin:transactions_posting_changelist") + f"?account={obj.pk}"
            context["transactions_url"] = reverse("admin:transactions_transaction_changelist") + f"?q={obj.public_id}"
            if not obj.is_system:
                context["holds_url"] = reverse("admin:accounts_hold_changelist") + f"?account={obj.pk}"
        return super().render_change_form(request, context, add, change, form_url, obj)

    def status_change_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """Ask for a reason, then freeze, unfreeze or close the account through the service."""
        if not self.has_change_status_permission(request):
            raise PermissionDenied
        account = self.get_object(request, object_id)
        if account is None:
            raise Http404("No such account.")
        label, done, _ = STATUS_ACTIONS[action]
        change_url = reverse("admin:accounts_account_change", args=[account.pk])
        form = StatusChangeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            try:
                account_status_change(
                    operator=operator_of(request),
                    account_id=account.public_id,
                    action=action,
                    reason=reason,
                    ip_address=request.META.get("REMOTE_ADDR"),
                )
            except LedgerError as exc:
                messages.error(request, f"Account not {done}: {exc.detail}")
                return redirect(change_url)
            self.log_change(request, account, f"{label.rstrip('…')}. Reason: {reason}")
            messages.success(request, f"Account {account.public_id} {done}.")
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label.rstrip('…')} {account_label(account)}?",
            "opts": self.opts,
            "original": account,
            "action": action,
            "action_label": label.rstrip("…"),
            "confirm_label": CONFIRM_LABELS[action],
            "balance": money(account.balance_minor, account.currency),
            "blocked": action == "close" and account.balance_minor != 0,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/accounts/account/status_change.html", context)

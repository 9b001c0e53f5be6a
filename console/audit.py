"""The audit trail in the admin: every operator action, read-only, newest first."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from audit.models import AuditRecord
from console.tools import ChoicesListFilter, IdListFilter, LedgerModelAdmin, clipped, short_id

_TARGET_LISTS = {
    "account": "admin:accounts_account_changelist",
    "transaction": "admin:transactions_transaction_changelist",
    "hold": "admin:accounts_hold_changelist",
}


class OperatorFilter(IdListFilter):
    """Staff users (the only ones who act in the admin), not every API client."""

    title = "operator"
    parameter_name = "operator"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        users = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True)).order_by("username")
        return [(str(user.pk), user.get_username()) for user in users[:200]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
        pk = self.id_value()
        return queryset if pk is None else queryset.filter(operator_id=pk)


class TargetTypeFilter(ChoicesListFilter):
    """Accounts, transactions or holds, without a ``SELECT DISTINCT`` over the trail."""

    title = "target"
    parameter_name = "target_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("account", "Accounts"), ("transaction", "Transactions"), ("hold", "Holds")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
        return queryset.filter(target_type=self.value()) if self.value() else queryset


@admin.register(AuditRecord)
class AuditRecordAdmin(LedgerModelAdmin):
    list_display = ["created_at", "operator_label", "action", "target", "reason_cell", "ip_address"]
    list_display_links = ["created_at"]
    list_filter = [OperatorFilter, "action", TargetTypeFilter]
    date_hierarchy = "created_at"
    search_fields = ["target_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = "The id of an account, a transaction or a hold (exact)."
    sortable_by = ()
    ordering = ["-created_at"]
    fields = (
        "created_at",
        "operator",
        "operator_label",
        "action",
        "target_type",
        "target",
        "reason",
        "ip_address",
        "details",
    )
    readonly_fields = fields

    @admin.display(description="reason")
    def reason_cell(self, obj: AuditRecord) -> str:
        return clipped(obj.reason)

    @admin.display(description="target")
    def target(self, obj: AuditRecord) -> str:
        """Return the target's kind linking to a search for it in its own list (no query per row), and its id."""
        changelist = _TARGET_LISTS.get(obj.target_type)
        if changelist is None:
            return format_html("{} {}", obj.target_type, short_id(obj.target_id))
        return format_html(
            '<a href="{}?q={}" class="audit-target">{}</a> {}',
            reverse(changelist),
            obj.target_id,
            obj.target_type,
            short_id(obj.target_id),
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditRecord], search_term: str
    ) -> tuple[QuerySet[AuditRecord], bool]:
        """Find the records of one target by its id (exact, in its canonical form)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        with contextlib.suppress(ValueError):
            term = str(uuid.UUID(term))  # Stored in its canonical form.
        return queryset.filter(target_id=term), False

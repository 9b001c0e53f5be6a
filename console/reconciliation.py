"""Reconciliation runs in the admin: read-only, for operators and auditors.

The list shows when each run started, what it covered, its result and how many
discrepancies it found; a run's page lists its checks and findings as tables, both in the order
the checks run (``reconciliation.checks.CHECKS``), each account, transaction and hold a link to
its page. Runs are written only by ``manage.py reconcile``: nobody adds, changes or deletes them here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from accounts.models import Account, Hold
from console.tools import admin_pages_of, short_id, when
from reconciliation.checks import CHECKS
from reconciliation.models import ReconciliationRun
from transactions.models import Transaction

_FINDING_COLUMNS = ("check", "account", "currency", "transaction", "sequence", "hold", "problem", "expected", "found")
# The columns of a finding that name a row, and the model whose admin page each links to.
_LINKED: dict[str, type[Model]] = {"account": Account, "transaction": Transaction, "hold": Hold}
# Where each check comes in a run, by name (a name no check has any more goes last).
CHECK_ORDER = {check.name: index for index, check in enumerate(CHECKS)}


def check_position(name: object) -> int:
    """Return where the check ``name`` runs among the checks (after all of them if it is none of them)."""
    return CHECK_ORDER.get(str(name), len(CHECK_ORDER))


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = ("started", "scope_label", "result", "discrepancy_count", "duration", "run_by")
    list_filter = ("result", "scope")
    date_hierarchy = "started_at"
    search_fields = ("scope_account", "run_by")
    show_full_result_count = False
    fields = (
        "started",
        "finished",
        "duration",
        "scope_label",
        "run_by",
        "result",
        "discrepancy_count",
        "checks_table",
        "findings",
        "error",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReconciliationRun]:
        queryset = super().get_queryset(request)
        if request.resolver_match and (request.resolver_match.url_name or "").endswith("_changelist"):
            queryset = queryset.defer("discrepancies")  # Up to 1000 findings a run: not for the list.
        return queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="scope")
    def scope_label(self, run: ReconciliationRun) -> str:
        if run.scope == ReconciliationRun.Scope.ACCOUNT:
            return format_html("account {}", short_id(run.scope_account))
        if run.scope == ReconciliationRun.Scope.SINCE and run.since:
            return f"since {when(run.since)}"
        return run.get_scope_display()

    @admin.display(description="started")
    def started(self, run: ReconciliationRun) -> str:
        return when(run.started_at)

    @admin.display(description="finished")
    def finished(self, run: ReconciliationRun) -> str:
        return when(run.finished_at)

    @admin.display(description="duration")
    def duration(self, run: ReconciliationRun) -> str:
        return f"{run.duration_seconds:.1f} s"

    @admin.display(description="checks")
    def checks_table(self, run: ReconciliationRun) -> str:
        if not run.checks:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (name, info.get("discrepancies", 0), "" if info.get("seconds") is None else f"{info['seconds']:.2f} s")
                for name, info in sorted(run.checks.items(), key=lambda item: check_position(item[0]))
            ),
        )
        return format_html(
            "<table><thead><tr><th>check</th><th>discrepancies</th><th>time</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="findings")
    def findings(self, run: ReconciliationRun) -> str:
        if not run.discrepancies:
            return "none"
        header = format_html_join("", "<th>{}</th>", ((column,) for column in _FINDING_COLUMNS))
        findings = sorted(run.discrepancies, key=lambda item: check_position(item.get("check")))  # Stable.
        pages = {
            column: admin_pages_of(model, {str(item[column]) for item in findings if item.get(column)})
            for column, model in _LINKED.items()
        }

        def cell(item: dict[str, Any], column: str) -> str:
            value = item.get(column, "")
            if column in _LINKED and value:
                return short_id(value, pages[column].get(str(value)))
            return value

        rows = format_html_join(
            "",
            "<tr>" + "<td>{}</td>" * len(_FINDING_COLUMNS) + "</tr>",
            (tuple(cell(item, column) for column in _FINDING_COLUMNS) for item in findings),
        )
        note = ""
        if run.discrepancy_count > len(run.discrepancies):
            note = format_html(
                "<p>The first {} of {} discrepancies are stored; "
                "run <code>manage.py reconcile</code> for the rest.</p>",
                len(run.discrepancies),
                run.discrepancy_count,
            )
        return format_html("{}<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", note, header, rows)

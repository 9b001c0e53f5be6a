"""An account's statement in the console: a period's opening balance, postings, totals and closing balance.

The statement is ``reconciliation.statements``' (the one ``manage.py statement`` prints), read
in one snapshot and shown only if it ties out. The page shows its first ``PAGE_ROWS`` postings
with their counterparties and running balances; the CSV download streams all of them, so a
busy account's year costs the memory of one chunk of rows at a time. Needs the view
permissions on accounts and postings.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from console.tools import account_label, money, when
from reconciliation.services import read_snapshot
from reconciliation.statements import (
    StatementDoesNotTieOut,
    checked_summary,
    csv_lines,
    day_start,
    period_end,
    statement_rows,
)

PAGE_ROWS = 500
MAX_DAYS = 3660  # Ten years: a longer period is refused before any query.


def last_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Return the first and last day of the month before ``today``'s."""
    last = today.replace(day=1) - datetime.timedelta(days=1)
    return last.replace(day=1), last


class StatementForm(forms.Form):
    """The period of a statement: two days, both inclusive, at most ``MAX_DAYS`` apart."""

    start = forms.DateField(label="From", help_text="First day, inclusive (YYYY-MM-DD).")
    end = forms.DateField(label="To", help_text="Last day, inclusive.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The last day is before the first.")
            if (end - start).days > MAX_DAYS:
                raise forms.ValidationError(f"A statement covers at most {MAX_DAYS} days.")
        return data


def period(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Return ``[from, to)`` of a statement from ``start`` through ``end``, as ``manage.py statement`` reads days."""
    return day_start(start), period_end(end)


def _csv(account: Account, start: datetime.datetime, end: datetime.datetime) -> Iterator[str]:
    """Yield the statement's CSV line by line, in one snapshot taken when the first line is asked for."""
    with read_snapshot():
        try:
            summary = checked_summary(account=account, start=start, end=end)
        except StatementDoesNotTieOut as exc:
            yield f"# {exc}\n"
            return
        rows = statement_rows(account=account, start=start, end=end, opening=summary.opening)
        yield from csv_lines(account=account, start=start, end=end, summary=summary, rows=rows)


def statement_view(request: HttpRequest, account: Account | None, *, context: dict[str, Any]) -> HttpResponseBase:
    """Show the statement of ``account`` for the period the query string asks (last month without one), or its CSV."""
    if not (request.user.has_perm("accounts.view_account") and request.user.has_perm("transactions.view_posting")):
        raise PermissionDenied
    if account is None:
        raise Http404("No such account.")
    first, last = last_month(timezone.localdate())
    given = "start" in request.GET or "end" in request.GET
    form = StatementForm(request.GET if given else None, initial={"start": first, "end": last})
    statement: dict[str, Any] | None = None
    if not given or form.is_valid():
        start_day, end_day = (form.cleaned_data["start"], form.cleaned_data["end"]) if given else (first, last)
        start, end = period(start_day, end_day)
        if request.GET.get("format") == "csv":
            response = StreamingHttpResponse(_csv(account, start, end), content_type="text/csv; charset=utf-8")
            name = f"statement-{account.public_id}-{start_day.isoformat()}-{end_day.isoformat()}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        statement = _statement(account, start, end)
        statement["csv_url"] = (
            reverse("admin:accounts_account_statement", args=[account.pk])
            + f"?start={start_day.isoformat()}&end={end_day.isoformat()}&format=csv"
        )
    return TemplateResponse(
        request,
        "admin/accounts/account/statement.html",
        {
            **context,
            "title": f"Statement of {account_label(account)}",
            "original": account,
            "form": form,
            "statement": statement,
            "change_url": reverse("admin:accounts_account_change", args=[account.pk]),
        },
    )


def _statement(account: Account, start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    """What the page shows: the statement's totals and first ``PAGE_ROWS`` postings, or why it does not tie out."""

    def amount(text: str | int | None) -> str:
        return f"{text} {account.currency}"

    with read_snapshot():
        try:
            summary = checked_summary(account=account, start=start, end=end)
        except StatementDoesNotTieOut as exc:
            return {"start": when(start), "end": when(end), "refused": str(exc)}
        rows = list(
            itertools.islice(statement_rows(account=account, start=start, end=end, opening=summary.opening), PAGE_ROWS)
        )
    count = summary.credit_count + summary.debit_count
    return {
        "start": when(start),
        "end": when(end),
        "opening": money(summary.opening, account.currency),
        "credits": money(summary.credits, account.currency),
        "debits": money(summary.debits, account.currency),
        "closing": money(summary.closing, account.currency),
        "count": count,
        "shown": len(rows),
        "truncated": count > len(rows),
        "rows": [
            {
                **row,
                "when": when(datetime.datetime.fromisoformat(str(row["created_at"]))),
                "amount": amount(row["amount"]),
                "balance_after": amount(row["balance_after"]),
            }
            for row in rows
        ],
    }

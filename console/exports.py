"""The transactions list as CSV: exactly the rows the operator's filters, search and period select, streamed.

The change list builds the queryset (``TransactionAdmin``'s filters, search and date
hierarchy, ordered as the list is); its rows are read in chunks through a server-side cursor
and written one CSV line at a time, so a million rows cost the memory of one chunk. Amounts
carry their currency's digits, instants are ISO 8601 with their offset, and client text is
spreadsheet-safe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from ledger.money import format_minor
from ledger.spreadsheets import LineBuffer, spreadsheet_safe
from transactions.models import Transaction

CHUNK = 2000
COLUMNS = [
    "id",
    "created_at",
    "kind",
    "status",
    "amount",
    "currency",
    "source_account_id",
    "source_account",
    "destination_account_id",
    "destination_account",
    "description",
    "reference",
    "reverses",
]
_VALUES = [
    "public_id",
    "created_at",
    "kind",
    "status",
    "amount_minor",
    "currency",
    "source_account__public_id",
    "source_account__name",
    "destination_account__public_id",
    "destination_account__name",
    "description",
    "reference",
    "reverses__public_id",
]


def _lines(rows: QuerySet[Transaction, dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(LineBuffer(), lineterminator="\n")
    yield writer.writerow(COLUMNS)
    for row in rows.iterator(chunk_size=CHUNK):
        yield writer.writerow(
            [
                row["public_id"],
                timezone.localtime(row["created_at"]).isoformat(),
                row["kind"],
                row["status"],
                format_minor(row["amount_minor"], row["currency"]),
                row["currency"],
                row["source_account__public_id"] or "",
                spreadsheet_safe(row["source_account__name"] or ""),
                row["destination_account__public_id"] or "",
                spreadsheet_safe(row["destination_account__name"] or ""),
                spreadsheet_safe(row["description"]),
                spreadsheet_safe(row["reference"]),
                row["reverses__public_id"] or "",
            ]
        )


def transactions_csv(model_admin: admin.ModelAdmin[Transaction], request: HttpRequest) -> HttpResponseBase:
    """Answer the transactions the list at this query string shows, every page of it, as a streamed CSV."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:  # As the list itself answers a wrong filter.
        return HttpResponseRedirect(reverse("admin:transactions_transaction_changelist") + "?e=1")
    rows = changelist.get_queryset(request).values(*_VALUES)
    response = StreamingHttpResponse(_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transactions-{timezone.localdate().isoformat()}.csv"'
    return response

"""The operator console for transactions and postings: find, inspect, reverse.

Ledger records are read-only here for everyone, superusers included. A reversal goes
through ``transactions.services.transaction_reverse``, the posting service the API uses
(same locks, same checks, the audit record in the same database transaction), and needs
the ``transactions.reverse_transaction`` permission. The confirmation form carries a
one-time token used as an idempotency key, so a double submit posts once and shows the
same reversal again.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.models import Account
from console.exports import transactions_csv
from console.search import MATCHING_ACCOUNTS, accounts_matching, ids_q, too_long, whole_id
from console.tools import (
    AccountIdFilter,
    CurrencyFilter,
    LedgerModelAdmin,
    account_link,
    clipped,
    flat_fields,
    money,
    money_cell,
    operator_of,
    positive_int,
    short_id_link,
)
from ledger.errors import AccountInactive, IdempotencyKeyReused, LedgerError
from transactions.engine.idempotency import IdempotencyClaim, fingerprint, write_once
from transactions.engine.rules import reversal_refusal
from transactions.models import IdempotencyRecord, Posting, Transaction
from transactions.selectors import reversal_preview
from transactions.services import transaction_reverse

if TYPE_CHECKING:
    from console.tools import Ordering

REVERSE_KEY_PREFIX = "admin-reverse:"


def _of_accounts(accounts: list[Account]) -> Q:
    """Return the filter for the transactions of ``accounts`` (none for no accounts).

    A system account takes part in its currency's deposits, withdrawals and their reversals:
    the movements with one customer side.
    """
    condition = Q(pk__in=[])
    customers = [account.pk for account in accounts if not account.is_system]
    if customers:
        condition |= Q(source_account_id__in=customers) | Q(destination_account_id__in=customers)
    one_sided = Q(source_account__isnull=True) | Q(destination_account__isnull=True)
    for currency in sorted({account.currency for account in accounts if account.is_system}):
        condition |= one_sided & Q(currency=currency)
    return condition


class _PostingColumns:
    """The columns a posting shows wherever it is listed: its account, amount and balance after."""

    @admin.display(description="account")
    def account_link(self, obj: Posting) -> str:
        return account_link(obj.account)

    @admin.display(description="amount")
    def amount(self, obj: Posting) -> str:
        return money_cell(obj.amount_minor, obj.account.currency)

    @admin.display(description="balance after")
    def balance_after(self, obj: Posting) -> str:
        return money_cell(obj.balance_after_minor, obj.account.currency)


class PostingInline(_PostingColumns, admin.TabularInline):
    """Every leg of the transaction with the account's balance once it applied."""

    model = Posting
    fields = ("account_link", "amount", "balance_after", "sequence", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Posting]:
        return super().get_queryset(request).select_related("account").order_by("pk")


class ReverseForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text="Required. It becomes the reversal's description and is kept in the audit trail.",
    )
    token = forms.UUIDField(widget=forms.HiddenInput)


def _preview_rows(txn: Transaction) -> list[dict[str, object]]:
    """Return the postings the reversal would make, as the page shows them (``reversal_preview``)."""
    rows = []
    for leg in reversal_preview(txn):
        account, problem = leg.account, ""
        if isinstance(leg.refusal, AccountInactive):
            problem = f"The account is {account.status}: the reversal will be refused."
        elif leg.refusal is not None:
            problem = "The account no longer holds the money: the reversal will be refused."
        rows.append(
            {
                "account": account,
                "link": account_link(account),
                "amount": money(leg.amount_minor, account.currency),
                "balance_now": money(leg.balance_now, account.currency),
                "balance_after": money(leg.balance_after, account.currency),
                "problem": problem,
            }
        )
    return rows


def refusal_of(txn: Transaction) -> str | None:
    """Return why ``txn`` cannot be reversed at all, or ``None`` (the posting service's own rule)."""
    refusal = reversal_refusal(txn)
    return None if refusal is None else refusal.detail


@admin.register(Transaction)
class TransactionAdmin(LedgerModelAdmin):
    list_display = [
        "id_chip",
        "kind_label",
        "status_label",
        "amount",
        "source",
        "destination",
        "reference_cell",
        "created_at",
    ]
    change_list_template = "admin/transactions/transaction/change_list.html"  # With the CSV export link.
    list_display_links = None  # The id chip links to the page itself (its copy button must not be in a link).
    list_select_related = ["source_account", "destination_account"]
    list_filter = ["kind", "status", CurrencyFilter]
    date_hierarchy = "created_at"
    search_fields = ["public_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = (
        "Part of a reference or description, or of an account's name (its transactions), any case; "
        "a transaction or account id (whole, or its first 8+ characters); an idempotency key (exact)."
    )
    sortable_by = ()
    ordering = ["-id"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("public_id", "kind", "status"),
                    ("amount", "currency", "created_at"),
                    ("source", "destination"),
                ]
            },
        ),
        ("Details", {"fields": ["description", "reference", "metadata", ("posted_by_display", "idempotency_key")]}),
        ("Reversal", {"fields": [("reverses_link", "reversed_by_link")]}),
    ]
    readonly_fields = flat_fields(fieldsets)
    inlines = [PostingInline]

    @admin.display(description="id")
    def id_chip(self, obj: Transaction) -> str:
        return short_id_link(obj)

    @admin.display(description="kind")
    def kind_label(self, obj: Transaction) -> str:
        return obj.get_kind_display()

    @admin.display(description="status")
    def status_label(self, obj: Transaction) -> str:
        return obj.get_status_display()

    @admin.display(description="reference")
    def reference_cell(self, obj: Transaction) -> str:
        return clipped(obj.reference)

    @admin.display(description="amount")
    def amount(self, obj: Transaction) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description="source")
    def source(self, obj: Transaction) -> str:
        return account_link(obj.source_account)

    @admin.display(description="destination")
    def destination(self, obj: Transaction) -> str:
        return account_link(obj.destination_account)

    @admin.display(description="posted by")
    def posted_by_display(self, obj: Transaction) -> str:
        user = obj.posted_by
        role = "operator" if user.is_staff else "API client"
        return f"{user.get_username()} ({role})"

    @admin.display(description="idempotency key")
    def idempotency_key(self, obj: Transaction) -> str:
        record = getattr(obj, "idempotency_record", None)
        return record.key if record is not None else "-"

    @admin.display(description="reverses")
    def reverses_link(self, obj: Transaction) -> str:
        return short_id_link(obj.reverses)

    @admin.display(description="reversed by")
    def reversed_by_link(self, obj: Transaction) -> str:
        reversal = getattr(obj, "reversed_by", None)
        return short_id_link(reversal)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Transaction | None:
        """Return the transaction with everything its page shows, or ``None`` for an id that is no id.

        One query (the postings: one more).
        """
        pk = positive_int(object_id)
        if pk is None:
            return None
        queryset = self.get_queryset(request).select_related(
            "source_account", "destination_account", "posted_by", "reverses", "reversed_by", "idempotency_record"
        )
        return queryset.filter(pk=pk).first()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Transaction], search_term: str
    ) -> tuple[QuerySet[Transaction], bool]:
        """Find transactions by id (whole or its start), by part of their reference or description, by the
        accounts a term names (their id, id start or part of their name: the transactions they took part in),
        or by an exact idempotency key. See ``console.search``.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if too_long(term):
            return queryset.none(), False
        of_accounts = _of_accounts(accounts_matching(term))
        by_id = ids_q(term)
        if by_id is not None:
            return queryset.filter(by_id | of_accounts), False
        keyed = list(IdempotencyRecord.objects.filter(key=term).values_list("transaction_id", flat=True)[:100])
        text = Q(reference__icontains=term) | Q(description__icontains=term)
        return queryset.filter(text | Q(pk__in=keyed) | of_accounts), False

    # --- reversal -------------------------------------------------------------------------

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        """Whether the user may reverse transactions (``transactions.reverse_transaction``)."""
        return request.user.has_perm("transactions.reverse_transaction")

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/reverse/",
                self.admin_site.admin_view(self.reverse_view),
                name="transactions_transaction_reverse",
            ),
            path(
                "export.csv",
                self.admin_site.admin_view(lambda request: transactions_csv(self, request)),
                name="transactions_transaction_export",
            ),
        ]
        return urls + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list, with a link to the same rows as CSV (``console.exports``)."""
        query = request.GET.urlencode()
        export = reverse("admin:transactions_transaction_export") + (f"?{query}" if query else "")
        return super().changelist_view(request, {"export_url": export, **(extra_context or {})})

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Transaction | None = None,
    ) -> HttpResponse:
        if obj is not None and self.has_reverse_permission(request) and refusal_of(obj) is None:
            context["reverse_url"] = reverse("admin:transactions_transaction_reverse", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def reverse_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the confirmation page (GET), or post the reversal through the posting service (POST)."""
        if not self.has_reverse_permission(request):
            raise PermissionDenied
        txn = self.get_object(request, object_id)
        if txn is None:
            raise Http404("No such transaction.")
        change_url = reverse("admin:transactions_transaction_change", args=[txn.pk])
        if request.method == "POST":
            form = ReverseForm(request.POST)
            if form.is_valid():
                return self._reverse(
                    request, txn, reason=form.cleaned_data["reason"].strip(), token=form.cleaned_data["token"]
                )
        else:
            refusal = refusal_of(txn)
            if refusal is not None:
                messages.error(request, f"Not reversed: {refusal}")
                return redirect(change_url)
            form = ReverseForm(initial={"token": uuid.uuid4()})
        legs = Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("pk"))
        txn = Transaction.objects.prefetch_related(legs).get(pk=txn.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reverse the {txn.get_kind_display().lower()} {txn.public_id}?",
            "opts": self.opts,
            "original": txn,
            "amount": money(txn.amount_minor, txn.currency),
            "preview": _preview_rows(txn),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/transactions/transaction/reverse_confirmation.html", context)

    def _reverse(self, request: HttpRequest, txn: Transaction, *, reason: str, token: uuid.UUID) -> HttpResponse:
        """Post the reversal once per confirmation: the form's one-time token is its idempotency key."""
        change_url = reverse("admin:transactions_transaction_change", args=[txn.pk])
        operator = operator_of(request)
        claim: IdempotencyClaim[Transaction] = IdempotencyClaim(
            client=operator,
            key=f"{REVERSE_KEY_PREFIX}{token}",
            fingerprint=fingerprint(f"admin-reverse {txn.public_id}", reason),
            render=lambda reversal: str(reversal.public_id).encode(),
        )
        try:
            answer = write_once(
                claim,
                lambda claim: transaction_reverse(
                    actor=operator,
                    transaction_id=txn.public_id,
                    reason=reason,
                    idempotency=claim,
                    ip_address=request.META.get("REMOTE_ADDR"),
                    via="admin",
                ),
            )
        except IdempotencyKeyReused:
            messages.error(request, "This confirmation was already used for another reversal; nothing was posted.")
            return redirect(change_url)
        except LedgerError as exc:
            if exc.extra.get("outcome") == "unknown":
                messages.warning(
                    request,
                    "The connection to the database failed while the reversal was committing: it may or may "
                    "not have been posted. Reload this transaction to see its status before trying again.",
                )
            else:
                messages.error(request, f"Not reversed: {exc.detail}")
            return redirect(change_url)
        reversal = Transaction.objects.get(public_id=answer.body.decode())
        if not answer.replayed:
            self.log_change(request, txn, f"Reversed by {reversal.public_id}. Reason: {reason}")
        return self._reversed(request, txn, reversal)

    def _reversed(self, request: HttpRequest, txn: Transaction, reversal: Transaction) -> HttpResponse:
        """Say that ``txn`` was reversed by ``reversal``, and go back to ``txn``'s page."""
        url = reverse("admin:transactions_transaction_change", args=[reversal.pk])
        messages.success(
            request,
            format_html('Transaction {} reversed by <a href="{}">{}</a>.', txn.public_id, url, reversal.public_id),
        )
        return redirect(reverse("admin:transactions_transaction_change", args=[txn.pk]))


@admin.register(Posting)
class PostingAdmin(_PostingColumns, LedgerModelAdmin):
    list_display = ["sequence", "transaction_link", "kind", "account_link", "amount", "balance_after", "created_at"]
    # A posting has no page of its own: its transaction's is linked.
    list_display_links = None
    list_select_related = ["transaction", "account"]
    list_filter = [AccountIdFilter]
    search_fields = ["transaction__public_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = "A transaction id or an account id: whole, or its first 8+ characters."
    sortable_by = ()

    def get_ordering(self, request: HttpRequest) -> Ordering:
        # One customer account's history (or one transaction's legs): newest first along the unique
        # (account, sequence) index, never a walk of the whole table in id order. A system account's
        # postings carry no sequence: newest first by id.
        value, term = request.GET.get(AccountIdFilter.parameter_name, ""), whole_id(request.GET.get("q", "").strip())
        if not value and term is None:
            return ["-id"]
        pk = positive_int(value)
        if pk is not None:
            account = Account.objects.filter(pk=pk)
        elif term is not None:
            account = Account.objects.filter(public_id=term)
        else:  # An account id that is no id: AccountIdFilter refuses the list.
            return ["account", "-sequence"]
        return ["-id"] if account.filter(is_system=True).exists() else ["account", "-sequence"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Posting], search_term: str
    ) -> tuple[QuerySet[Posting], bool]:
        """Find postings by their transaction's or account's id, whole or its start (a posting has no text)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        uid = whole_id(term)
        if uid is not None:
            account_pk = Account.objects.filter(public_id=uid).values_list("pk", flat=True).first()
            if account_pk is not None:
                return queryset.filter(account_id=account_pk), False
            return queryset.filter(transaction__public_id=uid), False
        by_id = ids_q(term)
        if by_id is None:
            return queryset.none(), False
        accounts = [account.pk for account in accounts_matching(term)]
        transactions = list(
            Transaction.objects.filter(by_id).order_by("-id").values_list("pk", flat=True)[:MATCHING_ACCOUNTS]
        )
        return queryset.filter(Q(account_id__in=accounts) | Q(transaction_id__in=transactions)), False

    @admin.display(description="transaction")
    def transaction_link(self, obj: Posting) -> str:
        return short_id_link(obj.transaction)

    @admin.display(description="kind")
    def kind(self, obj: Posting) -> str:
        return obj.transaction.get_kind_display()

"""The operator console for webhooks: clients' endpoints (never their secrets), deliveries, redelivery.

Endpoints and deliveries are read-only here for everyone, superusers included (clients manage
endpoints through the API; the relay attempts deliveries). A failed delivery of an active
endpoint can be redelivered: ``webhooks.services.delivery_redeliver`` makes it pending again,
due now, with a fresh retry schedule, and writes the audit record in the same transaction; this
admin only asks for the reason and adds Django's ``LogEntry``. It needs the
``webhooks.redeliver_webhookdelivery`` permission ("Ledger operators" have it).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from console.search import ids_q
from console.tools import (
    SHORT_ID_LENGTH,
    ChoicesListFilter,
    IdListFilter,
    LedgerModelAdmin,
    clipped,
    flat_fields,
    operator_of,
    short_id,
    short_id_link,
    when,
)
from events.models import Event
from ledger.errors import LedgerError
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_redeliver


def _short(public_id: uuid.UUID) -> str:
    return str(public_id)[:SHORT_ID_LENGTH]


class EndpointStatusFilter(ChoicesListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(str(value), str(value)) for value in WebhookEndpoint.Status.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset if self.value() is None else queryset.filter(status=self.value())


class DeliveryStatusFilter(EndpointStatusFilter):
    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(str(value), str(value)) for value in WebhookDelivery.Status.values]


class EventTypeFilter(ChoicesListFilter):
    title = "event type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(str(value), str(value)) for value in Event.Type.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset if self.value() is None else queryset.filter(event__type=self.value())


class EndpointIdFilter(IdListFilter):
    """The deliveries of one endpoint (linked from the endpoint's page); an id that is none shows no rows."""

    title = "endpoint"
    parameter_name = "endpoint"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        pk = self.id_value()
        endpoint = WebhookEndpoint.objects.filter(pk=pk).first() if pk is not None else None
        return [(str(endpoint.pk), f"{_short(endpoint.public_id)} {endpoint.url}")] if endpoint is not None else []

    def has_output(self) -> bool:
        return self.value() is not None

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        pk = self.id_value()
        return queryset if pk is None else queryset.filter(endpoint_id=pk)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(LedgerModelAdmin):
    list_display = ["short_id", "owner_name", "url_cell", "types", "status", "created_at", "disabled_at"]
    list_display_links = None  # The id chip links to the page itself (its copy button must not be in a link).
    list_select_related = ["owner"]
    list_filter = [EndpointStatusFilter]
    search_fields = ["public_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = "An endpoint id (whole, or its first 8+ characters), or a client's username (exact)."
    sortable_by = ()
    ordering = ["-id"]
    fieldsets = [
        (None, {"fields": [("public_id", "status"), "owner_name", "url", "types", "description", "created_at"]}),
        ("Disabled", {"fields": [("disabled_at", "disabled_reason"), "failing_since"]}),
        ("Secret", {"fields": ["secret_state"]}),
        ("Deliveries", {"fields": ["deliveries_link"]}),
    ]
    readonly_fields = flat_fields(fieldsets)

    @admin.display(description="id")
    def short_id(self, obj: WebhookEndpoint) -> str:
        return short_id_link(obj)

    @admin.display(description="URL")
    def url_cell(self, obj: WebhookEndpoint) -> str:
        return clipped(obj.url)

    @admin.display(description="client")
    def owner_name(self, obj: WebhookEndpoint) -> str:
        return obj.owner.get_username()

    @admin.display(description="event types")
    def types(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="secret")
    def secret_state(self, obj: WebhookEndpoint) -> str:
        """Never the secret: only whether a rotation's previous secret still signs."""
        if obj.previous_secret_expires_at is not None:
            return f"Rotated; the previous secret signs too until {when(obj.previous_secret_expires_at)}."
        return "Set (shown to the client only when created or rotated)."

    @admin.display(description="deliveries")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:webhooks_webhookdelivery_changelist") + f"?endpoint={obj.pk}"
        return format_html('<a href="{}" id="endpoint-deliveries">{}</a>', url, "This endpoint's deliveries")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint], search_term: str
    ) -> tuple[QuerySet[WebhookEndpoint], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        by_id = ids_q(term)
        if by_id is not None:
            return queryset.filter(by_id), False
        return queryset.filter(owner__username=term), False


class RedeliverForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text="Required. Kept in the audit trail with your name, the time and your address.",
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(LedgerModelAdmin):
    list_display = [
        "short_id",
        "endpoint_link",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "error",
        "next_attempt_at",
        "created_at",
    ]
    list_display_links = None  # The id chip links to the page itself (its copy button must not be in a link).
    list_select_related = ["endpoint", "event"]
    list_filter = [DeliveryStatusFilter, EventTypeFilter, EndpointIdFilter]
    search_fields = ["public_id"]  # Shows the search box; get_search_results does the searching.
    search_help_text = "A delivery id, an event id or an endpoint id: whole, or its first 8+ characters."
    sortable_by = ()
    ordering = ["-id"]
    fieldsets = [
        (None, {"fields": [("public_id", "status"), "endpoint_link", ("event_type", "event_id"), "created_at"]}),
        (
            "Attempts",
            {
                "fields": [
                    ("attempts", "last_attempt_at"),
                    ("last_status_code", "last_error"),
                    ("next_attempt_at", "leased_until"),
                    "succeeded_at",
                ]
            },
        ),
    ]
    readonly_fields = flat_fields(fieldsets)

    @admin.display(description="id")
    def short_id(self, obj: WebhookDelivery) -> str:
        return short_id_link(obj)

    @admin.display(description="endpoint")
    def endpoint_link(self, obj: WebhookDelivery) -> str:
        url = reverse("admin:webhooks_webhookendpoint_change", args=[obj.endpoint_id])
        return format_html(
            '<a href="{}" title="{} {}">{} {}</a>',
            url,
            obj.endpoint.public_id,
            obj.endpoint.url,
            _short(obj.endpoint.public_id),
            obj.endpoint.url,
        )

    @admin.display(description="event type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="event")
    def event_id(self, obj: WebhookDelivery) -> str:
        return short_id(obj.event.public_id)

    @admin.display(description="last error")
    def error(self, obj: WebhookDelivery) -> str:
        return clipped(obj.last_error if len(obj.last_error) <= 200 else obj.last_error[:199] + "…")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("endpoint", "event")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WebhookDelivery], search_term: str
    ) -> tuple[QuerySet[WebhookDelivery], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        by_id = ids_q(term)
        if by_id is None:
            return queryset.none(), False
        of_event, of_endpoint = ids_q(term, "event__public_id"), ids_q(term, "endpoint__public_id")
        return queryset.filter(by_id | of_event | of_endpoint), False  # type: ignore[operator]

    # --- redeliver ---------------------------------------------------------------------------

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        """Whether the user may redeliver (``webhooks.redeliver_webhookdelivery``)."""
        return request.user.has_perm("webhooks.redeliver_webhookdelivery")

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.redeliver_view)
        return [
            path("<path:object_id>/redeliver/", view, name="webhooks_webhookdelivery_redeliver"),
            *super().get_urls(),
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: WebhookDelivery | None = None,
    ) -> HttpResponse:
        if obj is not None and self.has_redeliver_permission(request) and _redeliverable(obj):
            context["redeliver_url"] = reverse("admin:webhooks_webhookdelivery_redeliver", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def redeliver_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the confirmation page (GET), or redeliver through the service (POST)."""
        if not self.has_redeliver_permission(request):
            raise PermissionDenied
        delivery = self.get_object(request, object_id)
        if delivery is None:
            raise Http404("No such delivery.")
        change_url = reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])
        if request.method == "POST":
            form = RedeliverForm(request.POST)
            if form.is_valid():
                return self._redeliver(request, delivery, reason=form.cleaned_data["reason"].strip())
        else:
            if not _redeliverable(delivery):
                messages.error(request, "Not redelivered: only a failed delivery of an active endpoint is.")
                return redirect(change_url)
            form = RedeliverForm()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Redeliver {delivery.public_id}",
            "opts": self.opts,
            "original": delivery,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/webhooks/webhookdelivery/redeliver_confirmation.html", context)

    def _redeliver(self, request: HttpRequest, delivery: WebhookDelivery, *, reason: str) -> HttpResponse:
        change_url = reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])
        try:
            delivery_redeliver(
                operator=operator_of(request),
                delivery_id=delivery.pk,
                reason=reason,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except LedgerError as exc:
            messages.error(request, f"Not redelivered: {exc.detail}")
            return redirect(change_url)
        self.log_change(request, delivery, f"Redelivered. Reason: {reason}")
        messages.success(request, f"Delivery {delivery.public_id} is pending again, due now.")
        return redirect(change_url)


def _redeliverable(delivery: WebhookDelivery) -> bool:
    return (
        delivery.status == WebhookDelivery.Status.FAILED and delivery.endpoint.status == WebhookEndpoint.Status.ACTIVE
    )

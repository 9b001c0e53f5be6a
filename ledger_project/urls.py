"""URL routes: the versioned API, its schema and docs, and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.routers import DefaultRouter

from api.accounts import AccountViewSet
from api.events import EventViewSet
from api.holds import HoldViewSet
from api.problems import page_not_found, problem_type_view
from api.transactions import BatchViewSet, DepositViewSet, TransactionViewSet, TransferViewSet, WithdrawalViewSet
from api.webhooks import WebhookEndpointViewSet
from ledger_project.health import healthz, readyz
from ledger_project.metrics import metrics_view

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.include_format_suffixes = False  # JSON only: no /accounts/<id>.json routes
router.register("accounts", AccountViewSet, basename="account")
router.register("deposits", DepositViewSet, basename="deposit")
router.register("withdrawals", WithdrawalViewSet, basename="withdrawal")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("batches", BatchViewSet, basename="batch")
router.register("holds", HoldViewSet, basename="hold")
router.register("events", EventViewSet, basename="event")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    path("api/v1/", include(router.urls)),
    path("api/v1/problems/<slug:code>/", problem_type_view, name="problem-type"),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(content_negotiation_class=DefaultContentNegotiation),
        name="schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # Anything else under /api/ is a problem document, in debug mode too.
    re_path(r"^api/", csrf_exempt(page_not_found)),
]

handler400 = "api.problems.bad_request"
handler404 = "api.problems.page_not_found"
handler500 = "api.problems.server_error"

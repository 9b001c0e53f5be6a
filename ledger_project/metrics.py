"""The Prometheus exposition of ``ledger.metrics``, at ``/metrics`` to the bearer token.

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set (see
``gunicorn.conf.py``) and every worker writes its samples there; the scrape aggregates them.
There the master also serves them, without a token, on ``LEDGER_METRICS_BIND``: a port of its
own, which the public proxy does not route to.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess


def _allowed(request: HttpRequest) -> bool:
    """Return whether the caller offers the token, or comes from a network allowed without it (none by default)."""
    token = settings.LEDGER_METRICS_TOKEN
    if token:
        offered = request.headers.get("Authorization", "")
        if secrets.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.LEDGER_METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the Prometheus exposition; 403 unless the caller has the token or is on an allowed network."""
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

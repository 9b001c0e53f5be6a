"""Health endpoints for load balancers and orchestrators.

``/healthz``: the process answers (no database). ``/readyz``: the database and the cache
answer; otherwise 503 naming the failing part, as a problem document.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from api.problems import PROBLEM_CONTENT_TYPE, problem_body


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process runs (the database is not asked)."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    """Ask the database a query; raise if it does not answer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    """Write, read back and delete a probe in the cache; raise if any step fails."""
    probe = f"readyz:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=5)
    if cache.get(probe) != "1":
        raise RuntimeError("value not read back")
    cache.delete(probe)


def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the cache answer; else 503, a problem document naming the failing part."""
    checks: dict[str, str] = {}
    for name, probe in (("database", _database), ("cache", _cache)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # Any failure means not ready; the class names it without secrets.
            checks[name] = f"unreachable ({type(exc).__name__})"
    failing = [name for name, state in checks.items() if state != "ok"]
    if not failing:
        return JsonResponse({"status": "ready", "checks": checks})
    body = problem_body(
        request, status=503, code="unavailable", detail=f"Not ready: {', '.join(failing)} unreachable.", checks=checks
    )
    response = JsonResponse(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
    response["Retry-After"] = "5"
    return response

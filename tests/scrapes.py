"""Reading ``/metrics`` in a test, through Django's test client, as Prometheus reads it (with the token)."""

from __future__ import annotations

from django.test import Client

from tests.serving.helpers import METRICS_TOKEN


def scrape(settings) -> str:
    """The exposition ``/metrics`` serves to the metrics token (set on ``settings`` here)."""
    settings.LEDGER_METRICS_TOKEN = METRICS_TOKEN
    answer = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert answer.status_code == 200
    return answer.content.decode()


def sample(exposition: str, name: str) -> float | None:
    """The value of the unlabelled sample ``name``, None if the exposition does not have it."""
    values = [float(line.split()[-1]) for line in exposition.splitlines() if line.split(" ")[0] == name]
    assert len(values) <= 1
    return values[0] if values else None

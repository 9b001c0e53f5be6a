"""Fixtures of the webhook tests: a real HTTPS receiver trusted through LEDGER_WEBHOOK_CA_BUNDLE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhooks.receiver import Receiver, make_certificate


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def webhook_settings(settings, certificate):
    """Trust the test certificate, allow 127.0.0.1 and localhost, and a short schedule and timeout."""
    settings.LEDGER_WEBHOOK_CA_BUNDLE = str(certificate[0])
    settings.LEDGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.LEDGER_WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    settings.LEDGER_WEBHOOK_TIMEOUT_SECONDS = 2.0
    return settings


@pytest.fixture
def receiver(certificate, webhook_settings) -> Iterator[Receiver]:
    with Receiver(*certificate) as server:
        yield server

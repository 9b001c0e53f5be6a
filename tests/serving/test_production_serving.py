"""The production configuration, as `make serve` and the Dockerfile run it.

gunicorn starts with ``gunicorn.conf.py`` (several workers, threads, JSON logs, Prometheus
multiprocess metrics) and production settings (debug off, a strong secret key) on the test
PostgreSQL database; Redis, where it is reachable, shares the throttle between instances.
"""

from __future__ import annotations

import json
import secrets
import uuid
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import Hold
from harness.commands import manage
from harness.environment import database_url, project_env
from harness.ports import free_port
from harness.servers import gunicorn_command, http, serve
from tests.factories import AccountFactory, UserFactory
from tests.redis_server import REDIS_URL, redis_or_skip
from tests.serving.helpers import METRICS_TOKEN, production_env
from transactions.holds import hold_capture, hold_create, hold_void
from transactions.services import deposit_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> str:
    """collectstatic's output, as `make serve` and the Dockerfile produce it before gunicorn starts."""
    root = tmp_path_factory.mktemp("static")
    env = project_env(DJANGO_DEBUG="False", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_STATIC_ROOT=str(root))
    manage(env, "collectstatic", "--noinput", "-v0")
    return str(root)


def test_gunicorn_serves_the_api_health_and_metrics_with_json_logs(tmp_path, static_root):
    client = UserFactory()
    token = client.auth_token.key
    account = AccountFactory(owner=client)
    port, metrics_port, log = free_port(), free_port(), tmp_path / "gunicorn.log"
    request_id = f"prod-{uuid.uuid4().hex}"
    env = production_env(DJANGO_STATIC_ROOT=static_root, LEDGER_METRICS_BIND=f"127.0.0.1:{metrics_port}")
    del env["LEDGER_METRICS_ALLOWED_NETWORKS"]  # the default: behind a proxy on this host, loopback is anyone

    with serve(gunicorn_command(port), env, port, log) as base:
        assert http(base, "GET", "/healthz").body == {"status": "ok"}
        ready = http(base, "GET", "/readyz")
        assert (ready.status, ready.body["checks"]) == (200, {"database": "ok", "cache": "ok"})

        deposit = http(
            base,
            "POST",
            "/api/v1/deposits/",
            {"account_id": str(account.public_id), "amount": "12.34"},
            token=token,
            key="prod-1",
            headers={"X-Request-ID": request_id},
        )
        assert deposit.status == 201, deposit.body
        hold_create(actor=client, account_id=account.public_id, amount="2.00")  # read by the scrape, not counted
        assert deposit.header("X-Request-ID") == request_id
        assert http(base, "GET", f"/api/v1/accounts/{account.public_id}/balance/", token=token).body["balance"] == (
            "12.34"
        )
        assert http(base, "GET", "/static/admin/css/base.css").status == 200  # WhiteNoise

        # The app's /metrics, from 127.0.0.1 like every caller behind a proxy on this host: the token only.
        assert http(base, "GET", "/metrics").status == 403
        assert http(base, "GET", "/metrics", headers={"Authorization": "Bearer wrong"}).status == 403
        scrapes = [http(base, "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})]
        # The master's listener, on a port the public proxy does not reach: no token.
        scrapes.append(http(f"http://127.0.0.1:{metrics_port}", "GET", "/metrics"))
        for scrape in scrapes:
            assert scrape.status == 200
            assert scrape.header("Content-Type").startswith("text/plain")
            exposition = scrape.body if isinstance(scrape.body, str) else json.dumps(scrape.body)
            assert 'ledger_transactions_posted_total{currency="USD",kind="deposit"} 1.0' in exposition
            assert 'ledger_http_requests_total{method="POST",route="deposit-list",status="201"} 1.0' in exposition
            assert "ledger_http_request_duration_seconds_bucket" in exposition
        # What the database says at scrape time: the worker that answers /metrics reads it; the
        # master, which has no database, leaves it out.
        assert 'ledger_holds_open{currency="USD"} 1.0' in scrapes[0].body
        assert 'ledger_holds_open_amount_minor{currency="USD"} 200.0' in scrapes[0].body
        assert "ledger_holds_open" not in scrapes[1].body

    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]  # every line is one JSON object
    ours = [r for r in records if r.get("request_id") == request_id]
    request_line = next(r for r in ours if r["logger"] == "ledger.request")
    assert request_line["status"] == 201
    assert request_line["route"] == "deposit-list"
    assert request_line["client"] == client.username
    assert request_line["duration_ms"] > 0
    assert {"time", "level", "message"} <= request_line.keys()
    posted = next(r for r in ours if r["logger"] == "transactions.services")
    assert posted["transaction_id"] == deposit.body["id"]
    assert token not in log.read_text()  # no secrets in the logs
    assert not [r for r in records if r["logger"] == "gunicorn.access"]  # one line a request: ledger.request


def test_readyz_names_the_failing_part(tmp_path):
    port = free_port()
    env = production_env(REDIS_URL="redis://127.0.0.1:1/0", LEDGER_METRICS_BIND="")  # nothing listens on port 1
    with serve(gunicorn_command(port), env, port, tmp_path / "gunicorn.log") as base:
        answer = http(base, "GET", "/readyz")
        assert answer.status == 503
        assert answer.header("Content-Type") == "application/problem+json"
        assert answer.body["code"] == "unavailable"
        assert answer.body["checks"]["database"] == "ok"
        assert answer.body["checks"]["cache"].startswith("unreachable")
        assert http(base, "GET", "/healthz").status == 200  # alive, only not ready


def test_two_instances_share_one_throttle_through_redis(tmp_path):
    redis_or_skip()
    client = UserFactory()
    env = production_env(
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        LEDGER_THROTTLE_RATE="4/min",
        LEDGER_METRICS_BIND="",  # two instances on one host: one metrics port would be taken twice
    )
    with ExitStack() as stack:
        ports = [free_port(), free_port()]
        bases = [stack.enter_context(serve(gunicorn_command(p), env, p, tmp_path / f"g{p}.log")) for p in ports]
        statuses = [http(bases[i % 2], "GET", "/api/v1/accounts/", token=client.auth_token.key) for i in range(6)]
    # Four requests in all, wherever they landed, then both instances refuse.
    assert [a.status for a in statuses] == [200, 200, 200, 200, 429, 429]
    assert statuses[4].body["code"] == "throttled"
    assert int(statuses[4].header("Retry-After")) > 0


def test_two_instances_count_failed_authentications_together_through_redis(tmp_path):
    """A guesser cannot spread its wrong tokens over instances: the count is shared."""
    redis_or_skip()
    client = UserFactory()
    env = production_env(
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        LEDGER_AUTH_FAILURE_RATE="3/min",
        LEDGER_METRICS_BIND="",
    )
    with ExitStack() as stack:
        ports = [free_port(), free_port()]
        bases = [stack.enter_context(serve(gunicorn_command(p), env, p, tmp_path / f"g{p}.log")) for p in ports]
        guesses = [http(bases[i % 2], "GET", "/api/v1/accounts/", token="0" * 40) for i in range(5)]
        right = http(bases[1], "GET", "/api/v1/accounts/", token=client.auth_token.key)
    assert [a.status for a in guesses] == [401, 401, 401, 429, 429]
    assert guesses[3].body["code"] == "throttled"
    assert int(guesses[3].header("Retry-After")) > 0
    assert right.status == 429, "past the limit the address is refused even with a good token"


def test_check_deploy_is_clean_under_the_documented_production_environment():
    env = project_env(
        DATABASE_URL=database_url(),
        DJANGO_DEBUG="False",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="ledger.internal",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://ledger.internal",
        DJANGO_TRUST_X_FORWARDED_PROTO="True",
    )
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "key",
    ["", "short-key", "a" * 60, "django-insecure-" + secrets.token_urlsafe(50)],
    ids=["empty", "short", "one-character", "django-insecure-prefix"],
)
def test_the_app_refuses_to_start_without_a_strong_secret_key_outside_debug(key):
    env = project_env(DJANGO_DEBUG="False", DJANGO_SECRET_KEY=key)
    result = manage(env, "check", timeout=60, check=False)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


# --- /metrics in this process: the holds ---------------------------------------------------


def _scrape(settings) -> str:
    """Scrape this process's /metrics with the token and return the exposition."""
    settings.LEDGER_METRICS_TOKEN = METRICS_TOKEN
    answer = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert answer.status_code == 200
    return answer.content.decode()


def _sample(exposition: str, name: str, currency: str) -> float | None:
    """The value of ``name{currency="..."}`` in an exposition, None if it is not there."""
    prefix = f'{name}{{currency="{currency}"}} '
    values = [float(line[len(prefix) :]) for line in exposition.splitlines() if line.startswith(prefix)]
    assert len(values) <= 1
    return values[0] if values else None


@pytest.fixture
def open_holds(monkeypatch) -> dict[str, float]:
    """USD: three holds placed, one voided, one partly captured (4.00 of 10.00), one capture in all;
    EUR: one hold already past its expiry, not yet recorded (not open: it reserves nothing).

    Returns how much each USD counter went up."""
    owner = UserFactory()
    usd = AccountFactory(owner=owner, currency="USD")
    eur = AccountFactory(owner=owner, currency="EUR")
    deposit_create(actor=owner, account_id=usd.public_id, amount=Decimal("100.00"))
    deposit_create(actor=owner, account_id=eur.public_id, amount=Decimal("5.00"))
    before = {name: _counted(name) for name in ("created", "captured", "voided")}
    kept = hold_create(actor=owner, account_id=usd.public_id, amount="10.00")
    hold_create(actor=owner, account_id=usd.public_id, amount="2.50")
    dropped = hold_create(actor=owner, account_id=usd.public_id, amount="1.00")
    hold_void(actor=owner, hold_id=dropped.public_id)
    hold_capture(actor=owner, hold_id=kept.public_id, amount="4.00")
    counted = {name: _counted(name) - value for name, value in before.items()}
    past = timezone.now() - timedelta(hours=1)
    with monkeypatch.context() as clock:
        clock.setattr(timezone, "now", lambda: past)
        hold_create(actor=owner, account_id=eur.public_id, amount="1.00", expires_at=past + timedelta(minutes=30))
    return counted


def _counted(event: str) -> float:
    return REGISTRY.get_sample_value(f"ledger_holds_{event}_total", {"currency": "USD"}) or 0.0


def test_metrics_show_the_open_holds_and_count_the_holds_by_currency(open_holds, settings):
    exposition = _scrape(settings)

    assert _sample(exposition, "ledger_holds_open", "USD") == 2.0
    assert _sample(exposition, "ledger_holds_open_amount_minor", "USD") == 600 + 250
    assert _sample(exposition, "ledger_holds_open", "EUR") == 0.0  # past its expiry: reserves nothing
    assert _sample(exposition, "ledger_holds_open", "GBP") == 0.0  # every configured currency, 0 without holds
    assert "# TYPE ledger_holds_open gauge" in exposition
    assert open_holds == {"created": 3.0, "captured": 1.0, "voided": 1.0}
    for event in ("created", "captured", "voided"):
        assert _sample(exposition, f"ledger_holds_{event}_total", "USD") is not None
    assert "# TYPE ledger_holds_expired_total counter" in exposition


def test_the_multiprocess_exposition_shows_the_open_holds_too(open_holds, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # no worker wrote anything there yet

    exposition = _scrape(settings)

    assert _sample(exposition, "ledger_holds_open", "USD") == 2.0
    assert _sample(exposition, "ledger_holds_open_amount_minor", "USD") == 850.0


def test_a_database_that_does_not_answer_leaves_the_open_holds_out_of_the_scrape(
    open_holds, settings, monkeypatch, caplog
):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(Hold.objects, "filter", unreachable)

    exposition = _scrape(settings)

    assert "ledger_holds_open{" not in exposition
    assert "ledger_holds_created_total" in exposition  # the rest of the scrape is there
    assert "open holds left out of the metrics" in caplog.text

"""The commands the Dockerfile runs work on this code: collectstatic, and gunicorn serving the app."""

import sys
from pathlib import Path

from harness.commands import manage
from harness.environment import production_env
from harness.ports import free_port
from harness.servers import http, serve


def test_collectstatic_gathers_the_admin_and_the_offline_swagger_ui(tmp_path):
    manage(production_env(DJANGO_STATIC_ROOT=str(tmp_path)), "collectstatic", "--noinput", "-v0")
    assert (tmp_path / "admin" / "css" / "base.css").exists()
    assert (tmp_path / "drf_spectacular_sidecar" / "swagger-ui-dist" / "swagger-ui-bundle.js").exists()


def test_gunicorn_serves_the_wsgi_application(tmp_path):
    port = free_port()
    env = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    manage(env, "migrate", "-v0")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "ledger_project.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"]
    with serve(command, env, port, tmp_path / "gunicorn.log") as base:
        answer = http(base, "GET", "/api/schema/?format=json")
    assert answer.status == 200
    assert "openapi" in answer.body

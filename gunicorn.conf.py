"""gunicorn settings for the ledger service, all read from the environment.

    gunicorn -c gunicorn.conf.py ledger_project.wsgi

| variable | default | meaning |
| --- | --- | --- |
| GUNICORN_BIND | 0.0.0.0:8000 | address to listen on |
| WEB_CONCURRENCY | 2 per core | worker processes |
| GUNICORN_THREADS | 4 | threads per worker (gthread) |
| GUNICORN_TIMEOUT | 30 | seconds a silent worker may run before it is killed |
| GUNICORN_GRACEFUL_TIMEOUT | 30 | seconds to finish in-flight requests on SIGTERM |
| GUNICORN_KEEPALIVE | 5 | seconds to keep an idle client connection |
| GUNICORN_MAX_REQUESTS | 0 | recycle a worker after this many requests (0: never) |
| GUNICORN_ACCESS_LOG | false | also write gunicorn's access log (the app's ``ledger.request`` |
|   |   | line, in the same JSON, already is one) |
| DJANGO_TRUST_X_FORWARDED_PROTO | false | trust ``X-Forwarded-Proto`` from FORWARDED_ALLOW_IPS (as |
|   |   | the Django settings do); off, no forwarded header is trusted from anyone |
| FORWARDED_ALLOW_IPS | 127.0.0.1,::1 | the proxies trusted when the variable above is on |
| LEDGER_METRICS_BIND | 127.0.0.1:9100 | the master's metrics listener (host:port); empty: none |

Logs go to stdout in the app's JSON format. Metrics from all workers are aggregated through
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless set) and served by the master
on LEDGER_METRICS_BIND, a port of its own that the public proxy does not route to.

Traces (``OTEL_EXPORTER_OTLP_ENDPOINT``, docs/tracing.md) start in each worker as it loads the
application, after the fork (``ledger_project.apps``): never in the master, which does not load
it (no ``preload_app``).

The worker class is gunicorn's gthread worker, answering the requests gunicorn itself refuses
(request line, header limits, malformed requests) as problem documents
(``ledger_project/gunicorn_worker.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING

import environ

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

# Before prometheus_client is imported anywhere (workers fork from this process): it picks its
# multiprocess storage when first imported.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ledger-metrics-")

from prometheus_client import CollectorRegistry, multiprocess, start_http_server

# The settings' own parser, so that gunicorn and Django read a shared variable alike.
_django_env = environ.Env()


def _env_bool(name: str, default: bool) -> bool:
    """Return the variable ``name`` as a boolean (1, true, yes, on), ``default`` when unset."""
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _host_port(address: str) -> tuple[str, int]:
    """Split ``host:port`` (``[::1]:9100`` for IPv6); raise ValueError on anything else."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"LEDGER_METRICS_BIND must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
worker_class = "ledger_project.gunicorn_worker.ProblemThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10

# Forwarded headers. gunicorn trusts exactly what Django trusts: with
# DJANGO_TRUST_X_FORWARDED_PROTO off, nobody may set the scheme (gunicorn's own default trusts
# X-Forwarded-Proto, X-Forwarded-Protocol and X-Forwarded-Ssl from loopback, and a proxy on the
# same host makes every caller loopback); on, only X-Forwarded-Proto, only from
# FORWARDED_ALLOW_IPS. SCRIPT_NAME and PATH_INFO headers are never taken from anyone: the
# service is mounted at /. (X-Forwarded-For, -Host and Forwarded gunicorn does not interpret;
# Django ignores -Host unless USE_X_FORWARDED_HOST.)
_trust_forwarded_proto = _django_env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1") if _trust_forwarded_proto else ""
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"} if _trust_forwarded_proto else {}
forwarder_headers = ""

# What gunicorn refuses before the application runs (gunicorn's defaults, stated): a request
# line over 4094 bytes (414), a header line over 8190 bytes or more than 100 headers (431).
limit_request_line = 4094
limit_request_field_size = 8190
limit_request_fields = 100

# The workers' aggregated metrics, served by the master (see when_ready).
_metrics_bind = os.environ.get("LEDGER_METRICS_BIND", "127.0.0.1:9100").strip()
_metrics_address = _host_port(_metrics_bind) if _metrics_bind else None

access_log_wanted = _env_bool("GUNICORN_ACCESS_LOG", False)
accesslog = "-" if access_log_wanted else None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%({x-request-id}o)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{asctime}{levelname}{name}{message}",
            "style": "{",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        }
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        # With a logging configuration gunicorn passes every access line to this logger, whatever
        # ``accesslog`` says: it is written only when asked for.
        "gunicorn.access": {
            "handlers": ["stdout"] if access_log_wanted else [],
            "level": "INFO" if access_log_wanted else "CRITICAL",
            "propagate": False,
        },
    },
}


def on_starting(server: Arbiter) -> None:
    """Start every run with empty metric files."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def when_ready(server: Arbiter) -> None:
    """Serve the aggregate of every worker's metrics on LEDGER_METRICS_BIND, from the master.

    prometheus_client's multiprocess setup: a registry holding only a MultiProcessCollector,
    which reads PROMETHEUS_MULTIPROC_DIR on every scrape. The listener runs in a daemon thread of
    the master and is kept on the arbiter (which outlives a HUP reload of this file). A port
    already taken is logged and the service runs without it: the API matters more.
    """
    if _metrics_address is None:
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    host, port = _metrics_address
    try:
        server.ledger_metrics_listener, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        server.log.error("metrics listener not started on %s: %s", _metrics_bind, error)
        return
    server.log.info("Metrics listener at: http://%s/metrics", _metrics_bind)


def post_fork(server: Arbiter, worker: Worker) -> None:
    """Close the worker's copy of the metrics listener: only the master listens there.

    A forked worker inherits the socket but not the thread serving it; holding it open would
    keep the port bound after the master is gone. Only the file descriptor is closed: calling
    ``shutdown()`` here would wait forever for a serving loop this process does not run.
    """
    listener = getattr(server, "ledger_metrics_listener", None)
    if listener is not None:
        listener.socket.close()


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Drop the metrics of a worker that exited (its live gauges stop counting)."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Arbiter) -> None:
    """Stop the metrics listener once the workers are gone."""
    listener = getattr(server, "ledger_metrics_listener", None)
    if listener is not None:
        listener.shutdown()
        listener.server_close()

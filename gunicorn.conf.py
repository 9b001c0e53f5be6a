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

Logs go to stdout in the app's JSON format. Metrics from all workers are aggregated through
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless set).
"""

import os
import shutil
import tempfile

import environ

# Before prometheus_client is imported anywhere (workers fork from this process): it picks its
# multiprocess storage when first imported.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ledger-metrics-")

from prometheus_client import multiprocess

# The settings' own parser, so that gunicorn and Django read a shared variable alike.
_django_env = environ.Env()


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
worker_class = "gthread"
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


def on_starting(server) -> None:
    """Start every run with empty metric files."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker) -> None:
    multiprocess.mark_process_dead(worker.pid)

"""Settings for the ledger service, read from the environment (django-environ).

One settings module for every environment; behaviour is switched by variables:

- ``DATABASE_URL``: defaults to a SQLite file in the project (the embedded default).
- ``DJANGO_SECRET_KEY``: required unless ``DJANGO_DEBUG`` is true.
- ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``.
- ``LEDGER_CURRENCIES``: ISO 4217 codes accepted by the ledger (default ``USD,EUR,GBP,JPY``).
- ``LEDGER_THROTTLE_RATE``: requests per client, DRF rate syntax (default ``6000/min``).
- ``LEDGER_LOCK_TIMEOUT_MS`` / ``LEDGER_STATEMENT_TIMEOUT_MS``: PostgreSQL bounds on lock
  waits and statements; a lock wait that runs out answers 503, never hangs.
- ``DB_CONN_MAX_AGE`` / ``DB_POOL``: persistent connections, or a psycopg connection pool.
- ``REDIS_URL``: a shared cache (throttling) for several instances; else local memory.
- ``LEDGER_WEBHOOK_*``: the webhook relay (allowed private hosts, CA bundle, timeout, retries).
- ``LEDGER_EVENTS_BROKER_URL``: RabbitMQ (``amqp://...``) that receives every event; empty: none.
- ``LEDGER_GRPC_*``: the gRPC server (``manage.py grpcserver``): worker threads, streams, shutdown.
- ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME`` and the SDK's other ``OTEL_*``: traces,
  exported over OTLP/HTTP when the endpoint is set, off otherwise (``ledger_project.tracing``).

The README's "Deploying" section documents every variable.
"""

import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    SECRET_KEY = "insecure-debug-only-key-never-use-in-production"  # noqa: S105 (debug only)
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is too weak: use at least 50 random characters.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "ledger_project.apps.LedgerProjectConfig",  # traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set
    "console.admin_app.LedgerAdminConfig",  # django.contrib.admin on the ledger's admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # OpClass in index expressions: the console's trigram search indexes
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "accounts",
    "transactions",
    "audit",
    "events",
    "webhooks",
    "reconciliation",
    "api",
    "console",
    "grpc_api",
]

MIDDLEWARE = [
    "ledger_project.middleware.NoStoreMiddleware",
    "ledger_project.middleware.RequestIDMiddleware",
    "ledger_project.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ledger_project.middleware.ConsoleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# What only the console (the admin, the API's documentation pages, static files) needs; the
# JSON API under /api/v1/ skips it (ledger_project.middleware.ConsoleMiddleware).
CONSOLE_MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# The admin and the deployment checks look for session, CSRF, authentication and messages
# middleware in MIDDLEWARE; they are in CONSOLE_MIDDLEWARE, which console.checks checks instead
# (console.E001, E002, W001).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410", "security.W003"]

ROOT_URLCONF = "ledger_project.urls"
WSGI_APPLICATION = "ledger_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
_db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A health check is a round trip (SELECT 1) at the start of every request on a reused connection
# (what it costs a transfer: docs/benchmarks.md). Without it, a connection the server dropped
# fails its next request with 503 (nothing posted; a retry with the same key is safe) and is
# then replaced.
_db["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
LEDGER_LOCK_TIMEOUT_MS = env.int("LEDGER_LOCK_TIMEOUT_MS", default=5000)
LEDGER_STATEMENT_TIMEOUT_MS = env.int("LEDGER_STATEMENT_TIMEOUT_MS", default=30000)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the database lock when their transaction begins (BEGIN IMMEDIATE), so two
    # requests can never interleave a read-check-write; WAL lets readers run beside a writer.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": LEDGER_LOCK_TIMEOUT_MS / 1000,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _options = _db.setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    if env.bool("DB_PGBOUNCER", default=False):
        # PgBouncer in transaction mode: no session state survives a transaction, so no
        # server-side cursors, no prepared statements, and no startup options (set the
        # timeouts on the role instead: ALTER ROLE ... SET lock_timeout = ...; see README).
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
        _options["prepare_threshold"] = None
    else:
        # Parameters bound by the server (the extended protocol) rather than quoted into the text
        # by psycopg, and a statement a connection has run five times prepared (psycopg's own
        # default, which Django turns off for the sake of poolers): PostgreSQL then plans the
        # posting's statements once per connection, not once per request (docs/benchmarks.md).
        if env.bool("DB_SERVER_SIDE_BINDING", default=True):
            _options.setdefault("server_side_binding", True)
            _options.setdefault("prepare_threshold", 5)
        _options["options"] = (
            f"-c lock_timeout={LEDGER_LOCK_TIMEOUT_MS} "
            f"-c statement_timeout={LEDGER_STATEMENT_TIMEOUT_MS} "
            "-c idle_in_transaction_session_timeout=60000"
        )
    if env.bool("DB_POOL", default=False):
        # A psycopg pool per process (Django 5.1+) instead of one persistent connection per thread.
        _db["CONN_MAX_AGE"] = 0
        _options["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
            "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
        }

# An optional streaming replica for account history (docs/scaling.md): a history page is read
# there only once the replica has replayed the account's latest posting (ledger.replica), else
# from the primary, as is everything else. It is reached directly, never through PgBouncer.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **_db,
        **env.db("DATABASE_REPLICA_URL"),
        "OPTIONS": _db.get("OPTIONS", {}),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["ledger_project.routers.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -------------------------------------------------------------------

# The admin's password login, throttled per address like the API's tokens (LEDGER_AUTH_FAILURE_RATE).
AUTHENTICATION_BACKENDS = ["api.auth_failures.ThrottledModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# One date-time format in the console, with seconds and the zone: 2026-12-02 19:04:05 UTC.
FORMAT_MODULE_PATH = ["console.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # WhiteNoise serves collectstatic's output, compressed, under gunicorn.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security (production: DJANGO_DEBUG off) -------------------------------------------------

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets X-Forwarded-Proto itself (and drops the client's).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_HTTPONLY = True

# --- Cache: shared by every instance when REDIS_URL is set ------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ledger"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Bodies above this size are refused before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=256 * 1024)

# --- Ledger -------------------------------------------------------------------------------

LEDGER_CURRENCIES = [c.strip().upper() for c in env.list("LEDGER_CURRENCIES", default=["USD", "EUR", "GBP", "JPY"])]
LEDGER_THROTTLE_RATE = env.str("LEDGER_THROTTLE_RATE", default="6000/min") or None
# Failed authentications (wrong tokens, wrong admin passwords) allowed per client address; empty disables.
LEDGER_AUTH_FAILURE_RATE = env.str("LEDGER_AUTH_FAILURE_RATE", default="30/min") or None
if LEDGER_AUTH_FAILURE_RATE and not re.fullmatch(
    r"[1-9][0-9]{0,8}/(s|sec|m|min|h|hour|d|day)", LEDGER_AUTH_FAILURE_RATE
):
    raise ImproperlyConfigured("LEDGER_AUTH_FAILURE_RATE must look like 30/min (per s, min, hour or day), or be empty.")
# Proxies in front whose X-Forwarded-For is trusted for the client's address (throttles); 0: REMOTE_ADDR.
LEDGER_NUM_PROXIES = env.int("LEDGER_NUM_PROXIES", default=0)
# Bounded retries of a posting that lost a deadlock or serialization race.
LEDGER_CONFLICT_RETRIES = env.int("LEDGER_CONFLICT_RETRIES", default=5)
# /metrics answers the bearer token, or callers from these networks (default: none, since behind a
# proxy on the same host every caller comes from loopback). Under gunicorn the master also serves
# the metrics on a listener of its own, LEDGER_METRICS_BIND (gunicorn.conf.py).
LEDGER_METRICS_TOKEN = env.str("LEDGER_METRICS_TOKEN", default="")
LEDGER_METRICS_ALLOWED_NETWORKS = env.list("LEDGER_METRICS_ALLOWED_NETWORKS", default=[])

# The gRPC server (`manage.py grpcserver`, docs/grpc.md): threads answering calls (each holds a database
# connection while it works), event streams allowed at once (each holds a thread while it lasts), how often a
# caught-up stream polls, how long a SIGTERM waits for calls in flight, and its metrics listener (empty: none).
LEDGER_GRPC_PROCESSES = env.int("LEDGER_GRPC_PROCESSES", default=1)  # sharing the port, for more than one core
LEDGER_GRPC_WORKERS = env.int("LEDGER_GRPC_WORKERS", default=8)  # threads per process
LEDGER_GRPC_MAX_STREAMS = env.int("LEDGER_GRPC_MAX_STREAMS", default=max(1, LEDGER_GRPC_WORKERS // 2))
LEDGER_GRPC_STREAM_POLL_SECONDS = env.float("LEDGER_GRPC_STREAM_POLL_SECONDS", default=0.25)
LEDGER_GRPC_GRACE_SECONDS = env.float("LEDGER_GRPC_GRACE_SECONDS", default=10.0)
LEDGER_GRPC_METRICS_BIND = env.str("LEDGER_GRPC_METRICS_BIND", default="")
# A PEM certificate chain and its key: the gRPC server then speaks TLS only (empty: plain HTTP/2).
LEDGER_GRPC_TLS_CERT = env.str("LEDGER_GRPC_TLS_CERT", default="")
LEDGER_GRPC_TLS_KEY = env.str("LEDGER_GRPC_TLS_KEY", default="")
if LEDGER_GRPC_WORKERS < 2 or not 1 <= LEDGER_GRPC_MAX_STREAMS < LEDGER_GRPC_WORKERS:
    raise ImproperlyConfigured(
        "LEDGER_GRPC_WORKERS must be at least 2, and LEDGER_GRPC_MAX_STREAMS from 1 to one less."
    )

# Webhooks (webhooks.relay, run by `manage.py relay_events`). Endpoint URLs must be https:// and resolve to
# public addresses, unless their host (or host:port) is listed here (tests, private networks). In debug
# (`make run`, on a developer's machine) loopback is allowed unless set, to try webhooks locally.
LEDGER_WEBHOOK_ALLOWED_HOSTS = [
    h.strip().lower()
    for h in env.list("LEDGER_WEBHOOK_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
]
# The CA bundle (a PEM file) that receivers' certificates are checked against; empty: certifi's.
LEDGER_WEBHOOK_CA_BUNDLE = env.str("LEDGER_WEBHOOK_CA_BUNDLE", default="")
# Seconds a receiver has to answer 2xx (connecting included).
LEDGER_WEBHOOK_TIMEOUT_SECONDS = env.float("LEDGER_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Seconds to wait before each retry of a failed attempt; after the last, the delivery is failed.
LEDGER_WEBHOOK_RETRY_SCHEDULE = env.list(
    "LEDGER_WEBHOOK_RETRY_SCHEDULE", cast=float, default=[0, 5, 300, 1800, 7200, 18000, 36000, 36000]
)
# RabbitMQ (events.broker): every event published to the topic exchange ledger.events, in commit
# order, by `manage.py relay_events`; empty: no broker. The lease is how long one publisher has the
# outbox to itself (a relay killed mid-batch holds it back that long).
LEDGER_EVENTS_BROKER_URL = env.str("LEDGER_EVENTS_BROKER_URL", default="")
LEDGER_EVENTS_BROKER_LEASE_SECONDS = env.int("LEDGER_EVENTS_BROKER_LEASE_SECONDS", default=15)
if LEDGER_EVENTS_BROKER_LEASE_SECONDS < 2:
    raise ImproperlyConfigured("LEDGER_EVENTS_BROKER_LEASE_SECONDS must be at least 2.")

# --- REST framework -----------------------------------------------------------------------

# Seconds a worker remembers a token that authenticated (saves a query per request); 0: never.
# A token deleted or a client deactivated elsewhere may authenticate that long in other workers.
LEDGER_TOKEN_CACHE_SECONDS = env.int("LEDGER_TOKEN_CACHE_SECONDS", default=5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.CachedTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.JSONOnlyNegotiation",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.ClientRateThrottle",
        "api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CommitOrderPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": LEDGER_NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ledger API",
    "DESCRIPTION": (
        "A double-entry ledger. Amounts are decimal strings with the currency's minor-unit "
        "digits. Every money movement needs an `Idempotency-Key` header. Errors are RFC 9457 "
        "problem documents (`application/problem+json`) whose `type` links a page explaining their `code` "
        "(`/api/v1/problems/<code>/`); each operation lists the codes it can answer. Authenticate with "
        "`Authorization: Token <key>` (see Authorize). Lists take only the query parameters they document: "
        "any other is `400 validation_error` naming it."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One tag per resource, in this order in Swagger UI.
    "TAGS": [
        {
            "name": "Accounts",
            "description": "Open accounts, read them, their balance now or at an instant, and their postings.",
        },
        {
            "name": "Deposits",
            "description": (
                "Money into one of your accounts from outside the ledger. Every post needs an `Idempotency-Key`."
            ),
        },
        {
            "name": "Withdrawals",
            "description": (
                "Money out of one of your accounts, up to its available balance. Every post needs an `Idempotency-Key`."
            ),
        },
        {
            "name": "Transfers",
            "description": "Money from one of your accounts to any active account of the same currency.",
        },
        {
            "name": "Transactions",
            "description": "Every transaction you may see, of any kind, filtered; staff may reverse one.",
        },
        {
            "name": "Batches",
            "description": "Up to 1000 movements and holds in one database transaction, all or nothing.",
        },
        {"name": "Holds", "description": "Reserve money now (a card authorization), capture or void it later."},
        {
            "name": "Events",
            "description": "Every committed change to the books, oldest first, never missed nor repeated.",
        },
        {"name": "Webhooks", "description": "Endpoints that receive the events you may see, signed, at least once."},
    ],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.document_server_refusals"],
    "ENUM_NAME_OVERRIDES": {
        "AccountStatus": "accounts.models.Account.Status",
        "TransactionKind": "transactions.models.Transaction.Kind",
        "TransactionStatus": "transactions.models.Transaction.Status",
        "HoldStatus": "accounts.models.Hold.Status",
        "EventType": "events.models.Event.Type",
        "WebhookDeliveryStatus": "webhooks.models.WebhookDelivery.Status",
        "WebhookEndpointStatus": "api.webhooks._ENDPOINT_STATUSES",
    },
}

# --- Request ids --------------------------------------------------------------------------

LOG_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
REQUEST_ID_RESPONSE_HEADER = "X-Request-ID"
GENERATE_REQUEST_ID_IF_NOT_IN_HEADER = True

LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOG_STREAM = env.str("LOG_STREAM", default="stdout")  # manage.py sets stderr for commands
if LOG_FORMAT not in {"json", "plain"} or LOG_STREAM not in {"stdout", "stderr"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain, and LOG_STREAM stdout or stderr.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "log_request_id.filters.RequestIDFilter"}},
    "formatters": {
        # One JSON object a line: time, level, logger, message, request_id, and the record's extras
        # (client, route, method, status, duration_ms, transaction_id...).
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "{asctime}{levelname}{name}{message}{request_id}",
            "style": "{",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": f"ext://sys.{LOG_STREAM}",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # The request log below replaces Django's own 4xx/5xx request warnings.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        # pika logs every failed connection as a burst of errors with a traceback; events.broker
        # logs each failure once, in one line, and counts it.
        "pika": {"level": "CRITICAL"},
    },
}

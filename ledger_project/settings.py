"""Settings for the ledger service, read from the environment (django-environ).

One settings module for every environment; behaviour is switched by variables:

- ``DATABASE_URL``: defaults to a SQLite file in the project (the embedded default).
- ``DJANGO_SECRET_KEY``: required unless ``DJANGO_DEBUG`` is true.
- ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``.
- ``LEDGER_CURRENCIES``: ISO 4217 codes accepted by the ledger (default ``USD,EUR,GBP,JPY``).
- ``LEDGER_THROTTLE_RATE``: requests per client, DRF rate syntax (default ``6000/min``).
- ``LEDGER_LOCK_TIMEOUT_MS`` / ``LEDGER_STATEMENT_TIMEOUT_MS``: PostgreSQL bounds on lock
  waits and statements; a lock wait that runs out answers 503, never hangs.
- ``DB_CONN_MAX_AGE``: seconds a database connection is kept between requests.
"""

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

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "transactions",
    "audit",
]

MIDDLEWARE = [
    "ledger_project.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
_db["CONN_HEALTH_CHECKS"] = True
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
    _db.setdefault("OPTIONS", {})["options"] = (
        f"-c lock_timeout={LEDGER_LOCK_TIMEOUT_MS} "
        f"-c statement_timeout={LEDGER_STATEMENT_TIMEOUT_MS} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    _db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")

# Bodies above this size are refused before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_MAX_BODY_BYTES", default=256 * 1024)

# --- Ledger -------------------------------------------------------------------------------

LEDGER_CURRENCIES = [c.strip().upper() for c in env.list("LEDGER_CURRENCIES", default=["USD", "EUR", "GBP", "JPY"])]
LEDGER_THROTTLE_RATE = env.str("LEDGER_THROTTLE_RATE", default="6000/min") or None
# Bounded retries of a posting that lost a deadlock or serialization race.
LEDGER_CONFLICT_RETRIES = env.int("LEDGER_CONFLICT_RETRIES", default=5)

# --- REST framework -----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["ledger_project.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "ledger_project.api.negotiation.JSONOnlyNegotiation",
    "DEFAULT_THROTTLE_CLASSES": [
        "ledger_project.api.throttling.ClientRateThrottle",
        "ledger_project.api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "ledger_project.api.pagination.SignedCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ledger_project.api.problems.exception_handler",
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ledger API",
    "DESCRIPTION": (
        "A double-entry ledger. Amounts are decimal strings with the currency's minor-unit "
        "digits. Every money movement needs an `Idempotency-Key` header. Errors are RFC 9457 "
        "problem documents (`application/problem+json`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AccountStatus": "accounts.models.Account.Status",
        "TransactionKind": "transactions.models.Transaction.Kind",
        "TransactionStatus": "transactions.models.Transaction.Status",
    },
}

# --- Request ids --------------------------------------------------------------------------

LOG_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
REQUEST_ID_RESPONSE_HEADER = "X-Request-ID"
GENERATE_REQUEST_ID_IF_NOT_IN_HEADER = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "log_request_id.filters.RequestIDFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

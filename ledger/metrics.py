"""The ledger's Prometheus metrics (prometheus-client): what the core and its interfaces count.

Defined once here and incremented where things happen (postings, refusals, retries, requests).
Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py``)
and every worker writes its samples there; a scrape (``ledger_project.metrics``) sums them.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram

# Under PROMETHEUS_MULTIPROC_DIR every metric writes a file there, a counter without labels as soon
# as it is defined, below. The image sets it for every container, and only gunicorn's master
# creates it: a command in a container of its own (migrate, expire_holds, relay_events) would fail
# on import without this.
_MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _MULTIPROCESS_DIR:
    os.makedirs(_MULTIPROCESS_DIR, exist_ok=True)

HTTP_REQUESTS = Counter(
    "ledger_http_requests_total", "HTTP requests answered, by route, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "ledger_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRPC_REQUESTS = Counter(
    "ledger_grpc_requests_total", "gRPC calls answered, by method and status code.", ["method", "code"]
)
GRPC_LATENCY = Histogram(
    "ledger_grpc_request_duration_seconds",
    "Time to answer a gRPC call (a stream: until it ends), by method.",
    ["method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TRANSACTIONS_POSTED = Counter(
    "ledger_transactions_posted_total", "Transactions committed, by kind and currency.", ["kind", "currency"]
)
REFUSALS = Counter("ledger_refusals_total", "Requests refused with a problem document, by code.", ["code"])
POSTING_RETRIES = Counter(
    "ledger_posting_retries_total", "Postings retried after losing a race, by reason.", ["reason"]
)
LOCK_TIMEOUTS = Counter("ledger_lock_timeouts_total", "Postings given up after a lock wait or statement timeout.")
COMMIT_OUTCOME_UNKNOWN = Counter(
    "ledger_commit_outcome_unknown_total", "Writes whose COMMIT lost its connection: committed or not, unknown."
)
HOLDS_CREATED = Counter("ledger_holds_created_total", "Holds placed, by currency.", ["currency"])
HOLDS_CAPTURED = Counter(
    "ledger_holds_captured_total",
    "Captures of holds committed (each partial capture counts), by currency.",
    ["currency"],
)
HOLDS_VOIDED = Counter("ledger_holds_voided_total", "Holds voided, by currency.", ["currency"])
HOLDS_EXPIRED = Counter("ledger_holds_expired_total", "Holds recorded as expired, by currency.", ["currency"])
IDEMPOTENT_REPLAYS = Counter("ledger_idempotent_replays_total", "Answers replayed for a repeated Idempotency-Key.")
BROKER_PUBLISH_FAILURES = Counter(
    "ledger_events_broker_publish_failures_total",
    "Calls of the broker publisher (events.broker) that the broker failed, by stage: connect, publish, nack.",
    ["stage"],
)
REPLICA_READS = Counter(
    "ledger_replica_reads_total",
    "Reads that could go to the read replica, by the database that served them and why "
    "(fresh; replica_behind: it had not replayed what the primary showed; replica_failed).",
    ["database", "reason"],
)
DB_POOL = Gauge(
    "ledger_db_pool_connections",
    "Database pool connections of this process by state (DB_POOL=true only).",
    ["state"],
    multiprocess_mode="livesum",
)


def record_pool_usage() -> None:
    """Sample the psycopg pool of this process, if the database uses one."""
    from django.db import connection

    pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
    if pool is None:
        return
    stats = pool.get_stats()
    DB_POOL.labels("size").set(stats.get("pool_size", 0))
    DB_POOL.labels("idle").set(stats.get("pool_available", 0))
    DB_POOL.labels("waiting").set(stats.get("requests_waiting", 0))

"""What a benchmark run does (its scenarios and :class:`Config`) and what each scenario measured (:class:`Result`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BATCH_SIZE = 100

# name -> its scenario in bench/load.lua, a title, the pgbench script of its limit (and of that limit
# without the outbox), whether it only
# reads, the server it loads ("floor": the framework's floor, bench/floor; "grpc": the ledger over
# gRPC, manage.py grpcserver loaded by bench/grpc_load.py; else the ledger behind gunicorn), and a
# concurrency of its own (else --connections).
SCENARIOS: dict[str, dict[str, Any]] = {
    "0a-floor-transfer": {
        "wrk": "floor_transfer",
        "title": "framework floor: DRF serializer validates and renders a transfer, no database",
        "server": "floor",
    },
    "0b-floor-get": {
        "wrk": "floor_balance",
        "title": "framework floor: DRF renders a balance",
        "server": "floor",
        "read": True,
    },
    # pgbench_bare: the same SQL without the outbox's event, so that the outbox's cost is measured too.
    "1-transfers": {
        "wrk": "transfer",
        "title": "transfers, random accounts",
        "pgbench": "pgbench_transfer.sql",
        "pgbench_bare": "pgbench_transfer_bare.sql",
        "cluster": True,
    },
    # Scenario 1's transfers (the same accounts, amounts, fresh keys, concurrency) as CreateTransfer
    # calls, to compare with it in the same run (bench/grpc_bench.py).
    "1g-grpc-transfers": {
        "title": "gRPC transfers, random accounts (CreateTransfer)",
        "server": "grpc",
    },
    "2-hot-account": {"wrk": "hot", "title": "transfers, one hot account", "pgbench": "pgbench_hot.sql"},
    "2b-hot-destination": {"wrk": "hot_destination", "title": "transfers, many payers into one merchant"},
    "3-deposits": {"wrk": "deposit", "title": "deposits over 10,000 accounts", "cluster": True},
    "3b-withdrawals": {"wrk": "withdrawal", "title": "withdrawals over 10,000 accounts"},
    "4a-history-page": {"wrk": "history", "title": "history page, 1M postings", "read": True, "cluster": True},
    "4b-balance": {"wrk": "balance", "title": "balance read", "read": True, "cluster": True},
    # The page's own latency, without queueing behind 15 other clients on 2 cores.
    "4c-history-1-connection": {
        "wrk": "history",
        "title": "history page, 1 connection",
        "read": True,
        "connections": 1,
    },
    "5-batches": {"wrk": "batch", "title": f"batches of {BATCH_SIZE} transfers"},
    # A hold, then its capture (a withdrawal of what it reserved): applied = captures, 2 requests each.
    "5b-hold-capture": {"wrk": "hold_capture", "title": "hold, then capture, over 10,000 accounts"},
    # Only with --peer DIR (bench/peer.py).
    "6-peer-deposits": {
        "wrk": "peer_deposit",
        "title": "peer wallet (fomars/wallet_app_drf): deposits",
        "server": "peer",
    },
}


@dataclass
class Config:
    duration: float
    connections: int
    customers: int
    history: int
    warmup: float
    scenarios: list[str]
    smoke: bool
    peer: Path | None = None
    peer_debug_off: bool = False
    server_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    title: str
    kind: str  # "service" (the ledger), "grpc" (the ledger over gRPC), "floor" (bench/floor), "peer" or "pgbench"
    connections: int
    duration_s: float
    requests: int = 0
    applied: int = 0
    applied_per_s: float = 0.0
    requests_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    peak_rss_mib: list[float] = field(default_factory=list)
    reconcile: dict[str, Any] = field(default_factory=dict)
    conservation: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    worker_cpu_ms_per_request: float | None = None
    machine_cpu_busy_pct: float | None = None
    # CPU seconds during the load: the server's (its workers'), and the load generator's own.
    server_cpu_s: float | None = None
    generator_cpu_s: float | None = None
    server_threads: int | None = None  # threads answering requests, all processes together
    server_processes: int | None = None  # the processes those threads are in

    def record_applied(self, count: int) -> None:
        """Record how many transactions the database shows the scenario applied, and their rate."""
        self.applied = count
        self.applied_per_s = round(count / self.duration_s, 1) if self.duration_s else 0.0

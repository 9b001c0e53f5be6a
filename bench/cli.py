"""``python -m bench``: the ledger under load, against the ceiling PostgreSQL sets on this machine.

One run:

1. creates a fresh database ``ledger_bench_<random>`` on the server of ``$DATABASE_URL``
   (``scripts/with-postgres`` provides one), migrates it, creates the API client, and seeds it
   (:mod:`bench.seed`): 10,000 funded accounts, a hot account, and an account with 1,000,000
   postings; ``reconcile`` must find it clean;
2. runs the framework's floor first (:mod:`bench.floor`: Django and REST framework alone, under
   the same gunicorn configuration), then starts gunicorn with ``gunicorn.conf.py`` in the
   production configuration (debug off, logging at INFO, metrics served, throttling on through
   Redis when one answers) and waits for ``/readyz``;
3. runs each scenario for a fixed time at a fixed concurrency, driven by ``wrk`` with
   ``bench/load.lua`` (every POST with its own ``Idempotency-Key``):

   0. the floor's transfer-shaped POST and its GET; 1. transfers between random accounts;
   2. transfers that all touch one hot account, and (2b) many payers into it; 3. deposits and
   (3b) withdrawals over the 10,000 accounts; 4. the newest history page of the 1M-posting
   account, and its balance (and the history page again from a single connection: its
   latency without queueing); 5. atomic batches of 100 transfers; and (1g) scenario 1's
   transfers over gRPC: ``manage.py grpcserver`` on the same database and settings, with as
   many threads as gunicorn's workers have in all, loaded at the same concurrency by
   ``bench/grpc_load.py`` (a Python generator, whose CPU time is printed as a share of the
   server's against its limit);

   and records applied transactions per second (counted in the database, not answers),
   p50/p95/p99 latency, answers by status, and each worker's peak memory (``VmHWM``); an
   answer that is not 2xx (over gRPC: not OK) fails the run;
4. after each scenario, runs ``reconcile`` and checks that money is conserved (customer
   totals unchanged by transfers, raised by exactly the deposits; every currency sums to
   zero): a violation fails the run;
5. runs the same SQL work per transfer with ``pgbench`` (``bench/pgbench_transfer.sql`` and
   ``bench/pgbench_hot.sql``) at the same concurrency, for the same time, on the same
   database, and prints the service / pgbench ratios of scenarios 1 and 2, the service / floor
   ratios, gRPC / REST transfers, and every target of the throughput issue;
6. times the balance read's database work against a Redis copy (:mod:`bench.cache_probe`);
7. prints the table, writes ``bench/results/latest.json`` and the results section of
   ``docs/benchmarks.md``, and drops the database.

``--smoke`` runs the same steps with a tiny seed (200 accounts, a 10,000-posting history)
for two seconds each, writing nothing unless ``--results``/``--docs`` say where: the test
suite runs it so that the benchmark cannot rot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import BenchFailure
from bench.report import say
from bench.run import run
from bench.scenarios import SCENARIOS, Config
from harness.commands import REPO

RESULTS = REPO / "bench" / "results" / "latest.json"
DOCS = REPO / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--duration", type=float, help="seconds per scenario (default 30; smoke 2)")
    parser.add_argument("--connections", type=int, help="concurrent connections (default 16; smoke 4)")
    parser.add_argument("--customers", type=int, help="accounts for random transfers (default 10000; smoke 200)")
    parser.add_argument("--history", type=int, help="postings of the history account (default 1000000; smoke 10000)")
    parser.add_argument("--warmup", type=float, help="seconds of unrecorded transfers first (default 5; smoke 1)")
    parser.add_argument("--only", help=f"comma-separated scenarios (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server (repeatable), e.g. WEB_CONCURRENCY=8")  # fmt: skip
    parser.add_argument("--peer", type=Path, metavar="DIR",
                        help="also measure a peer wallet: DIR, a checkout of fomars/wallet_app_drf")  # fmt: skip
    parser.add_argument("--peer-debug-off", action="store_true",
                        help="serve the peer with debug off (bench/peer_settings.py)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="tiny seed and durations: proves the benchmark runs")
    parser.add_argument("--results", type=Path, help=f"JSON results file (default {RESULTS.relative_to(REPO)}; "
                                                     "smoke: none)")  # fmt: skip
    parser.add_argument("--docs", type=Path, help=f"Markdown file whose results section is rewritten (default "
                                                  f"{DOCS.relative_to(REPO)}; smoke: none)")  # fmt: skip
    args = parser.parse_args(argv)
    smoke = args.smoke
    scenarios = [name for name in SCENARIOS if SCENARIOS[name].get("server") != "peer" or args.peer]
    if args.only:
        scenarios = [name for name in scenarios if any(name.startswith(part.strip()) for part in args.only.split(","))]
        if not scenarios:
            parser.error(f"--only matches no scenario of {', '.join(SCENARIOS)}")
    config = Config(
        duration=args.duration or (2 if smoke else 30),
        connections=args.connections or (4 if smoke else 16),
        customers=args.customers or (200 if smoke else 10_000),
        history=args.history or (10_000 if smoke else 1_000_000),
        warmup=args.warmup if args.warmup is not None else (1 if smoke else 5),
        scenarios=scenarios,
        smoke=smoke,
        peer=args.peer.resolve() if args.peer else None,
        peer_debug_off=args.peer_debug_off,
        server_env=dict(item.split("=", 1) for item in args.server_env),
    )
    results_path = args.results or (None if smoke else RESULTS)
    docs_path = args.docs or (None if smoke or args.only else DOCS)
    try:
        document = run(config, results_path=results_path, docs_path=docs_path)
    except BenchFailure as exc:
        say(f"FAILED: {exc}")
        return 1
    if document["violations"]:
        say("FAILED: " + "; ".join(document["violations"]))
        return 1
    return 0

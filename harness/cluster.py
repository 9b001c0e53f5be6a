"""``python -m harness.cluster [--keep] [--workers N] [--threads N]`` (``make cluster``): the production topology, here.

Starts, in a temporary folder, what :mod:`harness.topology` describes (a PostgreSQL primary
and its streaming replica, PgBouncer, Redis, two gunicorn instances, the event relay, HAProxy
and Prometheus), creates an API client, prints the addresses and its token, and runs until
Ctrl-C (or SIGTERM), then stops everything and deletes the folder (unless ``--keep``). The
programs come from ``scripts/install-cluster-tools``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from types import FrameType

from harness.commands import manage
from harness.environment import production_env
from harness.topology import METRICS_TOKEN, MissingTools, Topology


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.cluster", description=__doc__.split("\n\n")[1])
    parser.add_argument("--keep", action="store_true", help="keep the folder (data, configuration, logs) afterwards")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    return parser.parse_args(argv)


def describe(topology: Topology, token: str) -> str:
    """The lines ``make cluster`` prints once everything is up."""
    lines = [
        f"API (HAProxy)      {topology.base}/api/v1/   (docs: {topology.base}/api/docs/)",
        f"HAProxy stats      http://127.0.0.1:{topology.balancer_stats_port}/stats",
        *(f"instance {i.name:<9} {i.base}   (metrics: {i.base}/metrics)" for i in topology.instances),
        f"Prometheus         {topology.prometheus_base}/alerts",
        f"PgBouncer          {topology.pgbouncer_url}",
        f"primary            {topology.primary_url}",
        f"replica            {topology.replica_url}",
        f"Redis              {topology.redis_url}",
        f"folder (logs)      {topology.folder}",
        "",
        f"API token (client 'cluster-demo'): {token}",
        f"metrics token:                     {METRICS_TOKEN}",
        f"try: curl -s -H 'Authorization: Token {token}' {topology.base}/api/v1/accounts/",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    # Ctrl-C raises KeyboardInterrupt even when started in a script's background, where SIGINT
    # arrives ignored; SIGTERM and a closed terminal stop it the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    started = time.monotonic()
    try:
        topology = Topology(workers=options.workers, threads=options.threads, keep=options.keep)
    except MissingTools as exc:
        print(f"make cluster: {exc}", file=sys.stderr)
        return 2
    print(f"cluster: starting in {topology.folder} ...", flush=True)
    try:
        topology.start()
        env = production_env(secret_key=topology.secret_key, DATABASE_URL=topology.primary_url)
        token = manage(env, "create_api_client", "cluster-demo").stdout.strip()
        print(f"cluster: up in {time.monotonic() - started:.1f} s\n\n{describe(topology, token)}\n", flush=True)
        print("cluster: Ctrl-C stops everything", flush=True)
        while not stopping.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        say("\ncluster: stopping ...")
        topology.stop()
        say("cluster: stopped" + (f"; kept {topology.folder}" if options.keep else ""))
    return 0


def say(text: str) -> None:
    """Print while stopping; the terminal or pipe that started the cluster may be gone."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())

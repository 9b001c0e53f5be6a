"""The gRPC load generator: ``python -m bench.grpc_load TARGET DATAFILE RUNID --duration S --concurrency N``.

No ghz or grpcurl here, so the benchmark brings its own: one process, one asyncio loop
(``grpc.aio``), ``N`` callers each keeping one ``CreateTransfer`` in flight for ``S`` seconds over
a few channels (each its own HTTP/2 connection), as wrk keeps ``N`` connections busy. Each call
is what ``bench/load.lua``'s ``transfer`` scenario posts: two distinct random accounts of the
seeded set, an amount of 0.01 to 2.99, the description "bench", and a fresh idempotency key
(``RUNID-caller-counter``).

DATAFILE is JSON: ``{"token": ..., "accounts": [public ids]}``. Callers stop starting calls at
the deadline and wait for those in flight, so every call sent is counted and its latency taken
(a call is given 10 s, as wrk's ``--timeout``).

It prints one line on stdout, ``GRPC_LOAD_JSON {...}``: the calls, the answers by status code
(``OK``, ``UNAVAILABLE``...) with the first details of each refusal, latency percentiles in
microseconds, and the CPU time this process used while the load ran (user and system, every
thread), so that the benchmark can show what the generator cost beside what the server did.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

from grpc_api.v1 import transactions_pb2, transactions_pb2_grpc

CALL_TIMEOUT = 10.0  # seconds, as wrk's --timeout


def percentile(ordered: list[float], pct: float) -> float:
    """The nearest-rank percentile of ``ordered`` (sorted), as bench.pgbench computes it."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def load(target: str, data: dict[str, Any], run_id: str, *, duration: float, concurrency: int,
               channels: int) -> dict[str, Any]:  # fmt: skip
    accounts: list[str] = data["accounts"]
    metadata = (("authorization", f"Token {data['token']}"),)
    # A channel pool of its own per channel: else gRPC shares one connection between channels
    # with the same target and arguments.
    opened = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
              for _ in range(channels)]  # fmt: skip
    try:
        await asyncio.wait_for(asyncio.gather(*(channel.channel_ready() for channel in opened)), timeout=10)
        stubs = [transactions_pb2_grpc.TransactionServiceStub(channel) for channel in opened]
        latencies: list[float] = []
        codes: Counter[str] = Counter()
        details: dict[str, str] = {}
        seed = time.time_ns()

        async def caller(number: int, deadline: float) -> None:
            stub = stubs[number % len(stubs)]
            rng = random.Random(seed + number * 7919)  # noqa: S311 -- load, not secrets
            counter = 0
            while time.monotonic() < deadline:
                counter += 1
                a = rng.randrange(len(accounts))
                b = rng.randrange(len(accounts) - 1)
                if b >= a:
                    b += 1
                request = transactions_pb2.CreateTransferRequest(
                    idempotency_key=f"{run_id}-{number}-{counter}",
                    transfer=transactions_pb2.TransferInput(
                        source_account_id=accounts[a],
                        destination_account_id=accounts[b],
                        amount=f"{rng.randint(0, 2)}.{rng.randint(1, 99):02d}",
                        description="bench",
                    ),
                )
                started = time.perf_counter()
                try:
                    await stub.CreateTransfer(request, metadata=metadata, timeout=CALL_TIMEOUT)
                    code = "OK"
                except grpc.aio.AioRpcError as refusal:
                    code = refusal.code().name
                    details.setdefault(code, refusal.details() or "")
                latencies.append(time.perf_counter() - started)
                codes[code] += 1

        cpu_before = _cpu()
        started = time.monotonic()
        await asyncio.gather(*(caller(n, started + duration) for n in range(1, concurrency + 1)))
        elapsed = time.monotonic() - started
        cpu_after = _cpu()
    finally:
        await asyncio.gather(*(channel.close() for channel in opened))
    ordered = sorted(latencies)
    user, system = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    return {
        "duration_us": round(elapsed * 1e6),
        "calls": len(latencies),
        "concurrency": concurrency,
        "channels": channels,
        "codes": dict(sorted(codes.items())),
        "details": details,
        "latency_us": {
            "min": round(ordered[0] * 1e6) if ordered else 0,
            "mean": round(sum(ordered) / len(ordered) * 1e6, 1) if ordered else 0,
            "max": round(ordered[-1] * 1e6) if ordered else 0,
            **{f"p{p:g}": round(percentile(ordered, p) * 1e6) for p in (50, 90, 95, 99, 99.9)},
        },
        "cpu_s": {"user": round(user, 3), "system": round(system, 3), "total": round(user + system, 3)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grpc_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("target", help="HOST:PORT of manage.py grpcserver")
    parser.add_argument("data", type=Path, help='JSON file: {"token": ..., "accounts": [public ids]}')
    parser.add_argument("run_id", help="prefix of every idempotency key")
    parser.add_argument("--duration", type=float, required=True, help="seconds of load")
    parser.add_argument("--concurrency", type=int, required=True, help="calls kept in flight")
    parser.add_argument("--channels", type=int, help="channels (connections) shared by the callers (default 1 or 2)")
    args = parser.parse_args(argv)
    data = json.loads(args.data.read_text())
    if len(data["accounts"]) < 2:
        parser.error("the data file needs at least two accounts")
    channels = args.channels or max(1, min(2, args.concurrency))  # As wrk's threads (bench.wrk).
    outcome = asyncio.run(load(args.target, data, args.run_id, duration=args.duration,
                               concurrency=args.concurrency, channels=channels))  # fmt: skip
    print("GRPC_LOAD_JSON " + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ceiling PostgreSQL sets: the same SQL work per transfer with ``pgbench``, on the same database."""

# ruff: noqa: S603 -- the command is pgbench, with arguments built here.
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from pathlib import Path

from bench.database import Database
from bench.errors import BenchFailure

BENCH = Path(__file__).resolve().parent


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), key=lambda p: int(p.parts[-3]))
    return str(candidates[-1]) if candidates else None


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_pgbench(db: Database, script: str, variables: dict[str, int], *, duration: float, connections: int,
                workdir: Path) -> dict:  # fmt: skip
    args, extra_env = db.pg_args()
    prefix = workdir / f"pgbench-{Path(script).stem}"
    threads = max(1, min(2, connections))
    command = [find_pgbench(), "-n", "-M", "prepared", "-c", str(connections), "-j", str(threads),
               "-T", str(max(1, round(duration))), "-f", str(BENCH / script), "-l", "--log-prefix", str(prefix),
               *[f"-D{name}={value}" for name, value in variables.items()], *args, db.name]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, cwd=workdir,
                            env={**os.environ, **extra_env})  # fmt: skip
    if result.returncode != 0:
        raise BenchFailure(f"pgbench failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    latencies = []
    for log in workdir.glob(f"{prefix.name}.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]))
        log.unlink()
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    return {
        "duration_s": max(1, round(duration)),
        "reported_tps": float(tps[1]) if tps else None,
        "failed": int(failed[1]) if failed else 0,
        "latency_us": {f"p{p}": percentile(latencies, p) for p in (50, 95, 99)}
        | {"mean": round(statistics.fmean(latencies), 1) if latencies else 0},
    }

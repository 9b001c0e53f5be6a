"""The load generator: ``wrk`` with ``bench/load.lua``, every POST with its own ``Idempotency-Key``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.errors import BenchFailure
from bench.scenarios import BATCH_SIZE
from bench.seed import Seeded
from harness.commands import REPO

LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"


def lua_data(token: str, seeded: Seeded) -> str:
    """The data file ``load.lua`` reads: the client's token and the seeded accounts."""
    accounts = ",\n".join(f'"{public_id}"' for public_id in seeded.customer_ids)
    return (
        f'return {{token = "{token}", hot = "{seeded.hot_id}", history = "{seeded.history_id}", '
        f"batch_size = {BATCH_SIZE}, accounts = {{\n{accounts}\n}}}}\n"
    )


def run_wrk(base: str, scenario: str, data_file: Path, run_id: str, *, duration: float, connections: int) -> dict:
    threads = max(1, min(2, connections))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
               "-s", str(LOAD_SCRIPT), base, "--", scenario, str(data_file), run_id]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, cwd=REPO)  # noqa: S603
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise BenchFailure(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return json.loads(line.removeprefix("BENCH_JSON "))

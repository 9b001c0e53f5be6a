"""``python -m torture [--short] [--only NAME[,NAME]] [--report docs/reliability.md]``

Runs the scenarios against real processes on this machine (PostgreSQL from ``DATABASE_URL``,
as ``scripts/with-postgres`` provides it; gunicorn instances; a throwaway cluster for the
outage), prints the table of figures, and writes it with the explanation of every scenario
to ``--report``. Exit status 0 when no scenario found a violation, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from torture.infra import Context, Databases, Server
from torture.report import Result, details, machine, table, write_note

SCENARIOS = {
    "racing": "1. Racing instances",
    "crashing": "2. Crashing workers",
    "outage": "3. Database outage",
    "fuzzing": "4. Fuzzing",
    "authz": "5. Authorization matrix",
    "hostile": "6. Hostile input",
    "relay": "7. Relay and broker",
    "cluster": "8. The cluster",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m torture", description=__doc__.split("\n\n")[1])
    parser.add_argument("--short", action="store_true", help="the small versions the test suite runs")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios: {', '.join(SCENARIOS)}")
    parser.add_argument("--report", type=Path, help="write the note (table, explanations, machine) to this file")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="seed of the random choices")
    parser.add_argument("--keep", action="store_true", help="keep the folder of server logs")
    options = parser.parse_args(argv)
    options.only = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = set(options.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
    return options


def run_scenario(name: str, ctx: Context) -> Result:
    started = time.monotonic()
    try:
        return importlib.import_module(f"torture.{name}").run(ctx)
    except Exception:  # A scenario that cannot finish is a failure to show, not a reason to skip the others.
        result = Result(name, SCENARIOS[name], duration=time.monotonic() - started)
        result.violations.append(f"the scenario could not finish:\n{traceback.format_exc()}")
        return result


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("torture: DATABASE_URL must point at PostgreSQL (make torture sets it up)", file=sys.stderr)
        return 2
    server = Server(url)
    databases = Databases(server)
    workdir = Path(tempfile.mkdtemp(prefix="ledger-torture-"))
    ctx = Context(databases=databases, workdir=workdir, short=options.short, seed=options.seed)
    names = options.only or list(SCENARIOS)
    print(f"torture: {len(names)} scenario(s), {'short' if options.short else 'full'} versions, seed {options.seed}")
    print(f"torture: PostgreSQL {server.version()} at {url.rsplit('@', 1)[-1].rsplit('/', 1)[0]}; logs in {workdir}")
    results: list[Result] = []
    try:
        for name in names:
            print(f"torture: {SCENARIOS[name]} ...", flush=True)
            result = run_scenario(name, ctx)
            databases.drop_clones()
            results.append(result)
            verdict = "pass" if result.passed else f"FAIL ({len(result.violations)} violations)"
            print(f"torture: {SCENARIOS[name]}: {verdict} in {result.duration:.1f} s", flush=True)
    finally:
        databases.close()
        failed = any(not r.passed for r in results)
        if options.keep or failed:
            print(f"torture: server logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(table(results))
    print()
    print(details(results))
    if options.report:
        write_note(options.report, results, machine(server.version()), short=options.short, seed=options.seed)
        print(f"torture: wrote {options.report}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

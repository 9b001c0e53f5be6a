"""``docs/reliability.md``: the table of the last run, what each scenario did and checked, and the machine."""

from __future__ import annotations

import importlib
import importlib.util
import re

from torture.known import KNOWN_BUGS
from torture.report import Result, details, table, times_phrase

INTRO = """\
# Reliability: the torture suite

`make torture` runs its scenarios against real processes on this machine: gunicorn instances
of the ledger in their production configuration (`gunicorn.conf.py`, debug off), PostgreSQL,
and client threads over HTTP on 127.0.0.1; the fuzzing, the authorization matrix and the
hostile input also run their cases over gRPC, against `manage.py grpcserver` with the same
settings. Each scenario works on a database of its own (a
clone of one migrated with `manage.py migrate`, dropped afterwards; the outage scenario runs
its own throwaway cluster), injects its faults, and then checks the books and every answer it
got. The table below is what the last run printed; `make torture` rewrites this file.
"""

COLUMNS = """\
## Reading the table

- **requests sent**: HTTP requests and gRPC calls the clients sent, every retry and probe
  included (a scenario's figures give REST's and gRPC's apart).
- **faults injected**: processes SIGKILLed (workers and whole instances), PostgreSQL crashes,
  and clients that hung up before their answer (their request still ran on the server).
- **invariants checked**: individual checks evaluated: one per answer checked against what it
  should be, per account and invariant (balance = sum of postings, last sequence = number of
  postings, customer balance not below zero), per posting (gap-free sequence, chained
  `balance_after`), per transaction (at least two postings, summing to zero, moving its amount,
  on accounts of its currency), per idempotency key (bound to exactly the transaction its 201
  named, or to nothing when refused), per account against what the clients' answers add up to,
  per `reconcile` check. The books are also checked in a fresh snapshot every half second while
  the load runs (each snapshot counts all of its checks).
- **violations**: checks that failed. A scenario passes with none. Known application bugs
  (below) are listed apart, not counted as violations, until they are fixed.
"""

RUNNING = """\
## Running it

```sh
make torture                                   # every scenario, full versions; rewrites this file
.venv/bin/python -m torture --only outage      # one scenario (DATABASE_URL: a PostgreSQL server)
.venv/bin/python -m torture --short            # the short versions
```

The short versions run in the normal suite (`tests/torture/`, PostgreSQL needed; the outage
also needs `initdb`/`pg_ctl`). Every request loop is bounded in count and in time, and all the
traffic stays on 127.0.0.1. The databases the run creates are named `ledger_torture_*` and
dropped at the end; the shared server is never stopped.
"""


def _markdown(docstring: str) -> str:
    text = docstring.split("\n\n", 1)[1] if "\n\n" in docstring else docstring
    text = re.sub(r":(?:mod|func|class|meth):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`").strip()


def render(results: list[Result], machine: dict[str, str], *, short: bool, seed: int) -> str:
    out = [INTRO]
    version = "short versions (`--short`)" if short else "full versions"
    out.append(f"## The last run ({version}, seed {seed}, {machine.get('date', '')})\n")
    out.append(table(results))
    out.append("")
    passed = all(r.passed for r in results)
    out.append(
        f"**{'Every scenario passed' if passed else 'Some scenarios FAILED'}**: "
        f"{sum(r.requests for r in results):,} requests, {sum(r.faults for r in results):,} faults injected, "
        f"{sum(r.checked for r in results):,} checks, {sum(len(r.violations) for r in results):,} violations.\n"
    )
    out.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items() if k != "date") + ".\n")
    out.append(COLUMNS)
    out.append("## The scenarios, and what this run measured\n")
    for result in results:
        module = importlib.import_module(f"torture.{result.name}")
        out.append(f"### {result.title}\n")
        out.append(_markdown(module.__doc__ or ""))
        out.append("")
        grpc_part = importlib.util.find_spec(f"torture.{result.name}_grpc")
        if grpc_part is not None:  # the scenario's gRPC part, explained by its own module
            out.append("#### Over gRPC\n")
            out.append(_markdown(importlib.import_module(grpc_part.name).__doc__ or ""))
            out.append("")
        out.append("Figures of this run:\n")
        lines = details([result]).splitlines()[1:]
        out.extend(line for line in lines if line.strip())
        out.append("")
    out.append("## Application bugs the suite found (open)\n")
    seen: dict[str, int] = {}
    for result in results:
        for name, times in result.known.items():
            seen[name] = seen.get(name, 0) + times
    for bug in KNOWN_BUGS:
        met = f"met {times_phrase(seen[bug.name])} in this run" if bug.name in seen else "not met in this run"
        out.append(f"- **{bug.name}** ({met}): {bug.summary}")
    if KNOWN_BUGS:
        out.append("")
        out.append(
            "Each has a strict `xfail` test in `tests/torture/test_known_bugs.py`, which fails once the bug is "
            "fixed; then remove it from `torture/known.py` and the marker from the test.\n"
        )
    else:
        out.append(
            "None. The four the suite found (format-suffix routes answering 500, Django's CSRF page for an "
            "unrouted POST under /api/, a non-string batch `kind` answering 500, and a retry racing its own first "
            'attempt told "refused" although it posted) are fixed; `tests/torture/test_known_bugs.py` keeps '
            "them fixed.\n"
        )
    out.append(RUNNING)
    return "\n".join(out)

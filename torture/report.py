"""What each scenario measured, the table ``make torture`` prints, and ``docs/reliability.md``."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from harness.books import Findings


@dataclass
class Result:
    """One scenario's figures. ``violations`` empty: the scenario passed."""

    name: str
    title: str
    duration: float = 0.0
    requests: int = 0
    faults: int = 0
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    known: dict[str, int] = field(default_factory=dict)  # known bugs (torture.known) met: name -> times

    @property
    def passed(self) -> bool:
        return not self.violations

    def take(self, findings: Findings, prefix: str = "") -> Findings:
        self.checked += findings.checked
        self.violations.extend(f"{prefix}{v}" for v in findings.violations)
        return findings

    def expect(self, ok: bool, message: str) -> bool:
        self.checked += 1
        if not ok:
            self.violations.append(message)
        return ok


COLUMNS = ("scenario", "duration", "requests sent", "faults injected", "invariants checked", "violations", "result")


def _row(result: Result) -> list[str]:
    return [
        result.title,
        f"{result.duration:.1f} s",
        f"{result.requests:,}",
        f"{result.faults:,}",
        f"{result.checked:,}",
        f"{len(result.violations):,}",
        "pass" if result.passed else "FAIL",
    ]


def table(results: list[Result]) -> str:
    """A Markdown table (readable as plain text too)."""
    rows = [list(COLUMNS), *[_row(r) for r in results]]
    total = Result("total", "total")
    for r in results:
        total.duration += r.duration
        total.requests += r.requests
        total.faults += r.faults
        total.checked += r.checked
        total.violations += r.violations
    rows.append(_row(total))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    right = {1, 2, 3, 4, 5}

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    rule = "|" + "|".join(("-" * (w + 1) + ":" if i in right else "-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(rows[0]), rule, *[line(r) for r in rows[1:]]])


def _format(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def times_phrase(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def details(results: list[Result], *, markdown: bool = False) -> str:
    out = []
    for r in results:
        out.append(f"### {r.title}" if markdown else f"{r.title}:")
        for name, value in r.figures.items():
            if isinstance(value, list):
                out.append(f"- {name}:")
                out.extend(f"  - {item}" for item in value)
            else:
                out.append(f"- {name}: {_format(value)}")
        for name, times in r.known.items():
            out.append(f"- known bug {name} met {times_phrase(times)} (not counted as a violation)")
        for note in r.notes:
            out.append(f"- note: {note}")
        for violation in r.violations[:30]:
            out.append(f"- VIOLATION: {violation}")
        if len(r.violations) > 30:
            out.append(f"- ... and {len(r.violations) - 30} more violations")
        out.append("")
    return "\n".join(out)


def _run(*command: str) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False).stdout.strip()  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(postgres_version: str) -> dict[str, str]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
            memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{cpu or platform.processor() or 'unknown'}, {os.cpu_count()} cores",
        "memory": memory or "unknown",
        "system": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "PostgreSQL": postgres_version,
        "gunicorn": _run(sys.executable, "-m", "gunicorn", "--version").replace("gunicorn (version ", "").rstrip(")"),
        "load average at the end (1, 5, 15 min)": load or "unknown",
    }


def write_note(path, results: list[Result], machine_info: dict[str, str], *, short: bool, seed: int) -> None:
    from torture.note import render

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results, machine_info, short=short, seed=seed))

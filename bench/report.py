"""The benchmark's results: the JSON document, the printed table, and docs/benchmarks.md."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

DOCS_BEGIN = "<!-- bench:results:begin (written by `make bench`; edit outside these markers) -->"
DOCS_END = "<!-- bench:results:end -->"


def _find(results: list[dict], name: str, kind: str) -> dict | None:
    return next((r for r in results if r["name"] == name and r["kind"] == kind), None)


def _ratio(results: list[dict], name: str) -> float | None:
    service, limit = _find(results, name, "service"), _find(results, name, "pgbench")
    if not service or not limit or not limit["applied_per_s"]:
        return None
    return round(service["applied_per_s"] / limit["applied_per_s"], 3)


def targets(results: list[dict], connections: int) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure that decides it (None: not measured in this run)."""
    rows = []

    def add(name: str, figure: float | None, goal: str, met: bool | None) -> None:
        rows.append({"target": name, "figure": figure, "goal": goal, "met": met})

    for name, share in (("1-transfers", 0.35), ("2-hot-account", 0.50)):
        ratio = _ratio(results, name)
        met = None if ratio is None else ratio >= share
        add(f"scenario {name[0]}: service / pgbench", ratio, f">= {share:.2f}", met)
        service = _find(results, name, "service")
        p99 = service["latency_ms"].get("p99") if service else None
        add(
            f"scenario {name[0]}: p99 at {connections} connections (ms)",
            p99,
            "< 50",
            None if p99 is None else p99 < 50,
        )
    batches, limit = _find(results, "5-batches", "service"), _find(results, "1-transfers", "pgbench")
    add(
        "scenario 5: transfers/s in batches vs pgbench single transfers/s",
        batches["applied_per_s"] if batches else None,
        f"> {limit['applied_per_s']}" if limit else "> pgbench scenario 1",
        None if not (batches and limit) else batches["applied_per_s"] > limit["applied_per_s"],
    )
    for name in ("4c-history-1-connection", "4a-history-page"):
        history = _find(results, name, "service")
        if history:
            p50 = history["latency_ms"].get("p50")
            add(f"scenario 4: history page p50 at {history['connections']} connection(s) (ms)", p50, "< 10", p50 < 10)
    return rows


def violations(results: list[dict]) -> list[str]:
    found = []
    for r in results:
        label = f"{r['name']} ({r['kind']})"
        if r["reconcile"] and not r["reconcile"]["clean"]:
            found.append(f"{label}: reconcile found {r['reconcile']['discrepancies']} discrepancies")
        found.extend(f"{label}: {problem}" for problem in r["conservation"])
    return found


def document(*, info: dict, config: dict, results: list[dict], started: float) -> dict[str, Any]:
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": info,
        "config": config,
        "results": results,
        "ratios": {name: _ratio(results, name) for name in ("1-transfers", "2-hot-account")},
        "targets": targets(results, config["connections"]),
        "violations": violations(results),
    }


def _statuses(r: dict) -> str:
    parts = [f"{status}:{count}" for status, count in r["statuses"].items()]
    parts += [f"{kind}:{count}" for kind, count in r.get("socket_errors", {}).items()]
    return " ".join(parts) or "-"


def _rss(r: dict) -> str:
    return f"{max(r['peak_rss_mib']):.0f}" if r["peak_rss_mib"] else "-"


def _rows(doc: dict) -> list[list[str]]:
    rows = []
    for r in doc["results"]:
        read = r["kind"] == "service" and r["name"].startswith("4")
        label = f"{r['name']}" if r["kind"] == "service" else f"  limit: {r['title'].removeprefix('pgbench: ')}"
        latency = r["latency_ms"]
        reconciled = "clean" if r["reconcile"].get("clean") and not r["conservation"] else "FAILED"
        rows.append(
            [
                label,
                f"{r['requests_per_s']:.0f}",
                "-" if read else f"{r['applied_per_s']:.0f}",
                f"{latency.get('p50', 0):.1f}",
                f"{latency.get('p95', 0):.1f}",
                f"{latency.get('p99', 0):.1f}",
                _statuses(r) if r["kind"] == "service" else (_statuses(r) if r["statuses"] else "-"),
                _rss(r),
                "-" if r.get("worker_cpu_ms_per_request") is None else f"{r['worker_cpu_ms_per_request']:.1f}",
                "-" if r.get("machine_cpu_busy_pct") is None else f"{r['machine_cpu_busy_pct']:.0f}",
                reconciled,
            ]
        )
    return rows


HEADERS = ["scenario", "req/s", "applied tx/s", "p50 ms", "p95 ms", "p99 ms", "answers", "peak RSS/worker MiB",
           "worker CPU ms/req", "machine CPU %", "books"]  # fmt: skip


def table(doc: dict) -> str:
    rows = _rows(doc)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    for name, ratio in doc["ratios"].items():
        if ratio is not None:
            lines.append(f"service / pgbench, {name}: {ratio:.2f}")
    for t in doc["targets"]:
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]
        lines.append(f"target {t['target']}: {t['figure']} (goal {t['goal']}): {verdict}")
    lines.append("invariants: " + ("; ".join(doc["violations"]) if doc["violations"] else "reconcile clean and money "
                                   "conserved after every scenario"))  # fmt: skip
    return "\n".join(lines)


def markdown(doc: dict) -> str:
    m, c = doc["machine"], doc["config"]
    out = [
        f"Run of {doc['started_at']}: {c['duration']:g} s per scenario at {c['connections']} connections, "
        f"{c['customers']:,} accounts, a {c['history']:,}-posting history account, batches of {c['batch_size']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mib'] / 1024:.0f} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}, PostgreSQL {m.get('postgresql', '?')} "
        f"({', '.join(f'{k}={v}' for k, v in m.get('postgresql_settings', {}).items())}); "
        f"load average {m['load_average_at_start'][0]:.2f} at the start, "
        f"{m.get('load_average_at_end', [0])[0]:.2f} at the end.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(" --- " for _ in HEADERS) + "|",
    ]
    out += ["| " + " | ".join(cell.strip() for cell in row) + " |" for row in _rows(doc)]
    out.append("")
    for name, ratio in doc["ratios"].items():
        if ratio is not None:
            out.append(f"- service / pgbench, {name}: **{ratio:.2f}**")
    for t in doc["targets"]:
        verdict = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        out.append(f"- {t['target']}: {t['figure']} (goal {t['goal']}): {verdict}")
    clean = "reconcile clean and money conserved after every scenario"
    out.append("- invariants: " + ("; ".join(doc["violations"]) if doc["violations"] else clean))
    return "\n".join(out)


def update_docs(path: Path, doc: dict) -> None:
    """Rewrite the results section of ``path`` (between the markers), keeping everything else."""
    section = f"{DOCS_BEGIN}\n{markdown(doc)}\n{DOCS_END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n## Latest results\n\n"
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        tail = rest.split(DOCS_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def one_line(r: dict | Any) -> str:
    r = r if isinstance(r, dict) else r.__dict__
    latency = r["latency_ms"]
    return (
        f"{r['name']} ({r['kind']}): {r['applied_per_s']:.0f} applied tx/s, {r['requests_per_s']:.0f} req/s, "
        f"p50 {latency.get('p50', 0):.1f} / p95 {latency.get('p95', 0):.1f} / p99 {latency.get('p99', 0):.1f} ms, "
        f"{_statuses(r)}, reconcile {'clean' if r['reconcile'].get('clean') else 'NOT CLEAN'} "
        f"({r['reconcile'].get('seconds')} s)"
    )


def say(message: str) -> None:
    """Show a line of progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)

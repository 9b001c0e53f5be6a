"""The benchmark's results: the JSON document, the printed table, and docs/benchmarks.md."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from bench.scenarios import SCENARIOS

DOCS_BEGIN = "<!-- bench:results:begin (written by `make bench`; edit outside these markers) -->"
DOCS_END = "<!-- bench:results:end -->"


# The kinds of result whose figure is applied transactions (but the service's scenarios 4, which read).
WRITE_KINDS = ("service", "grpc", "pgbench", "pgbench-bare", "peer", "cluster")


CLUSTER_SCENARIOS = [name for name, spec in SCENARIOS.items() if spec.get("cluster")]


def _find(results: list[dict], name: str, kind: str) -> dict | None:
    return next((r for r in results if r["name"] == name and r["kind"] == kind), None)


def _per_s(result: dict | None) -> float | None:
    """What a scenario achieved per second: applied transactions for writes, answers for reads and the floor."""
    if not result:
        return None
    writes = result["kind"] in WRITE_KINDS and not result["name"].startswith("4")
    return result["applied_per_s"] if writes else result["requests_per_s"]


def _share(results: list[dict], numerator: tuple[str, str], denominator: tuple[str, str]) -> float | None:
    top, bottom = _per_s(_find(results, *numerator)), _per_s(_find(results, *denominator))
    if top is None or not bottom:
        return None
    return round(top / bottom, 3)


def _ratio(results: list[dict], name: str) -> float | None:
    return _share(results, (name, "service"), (name, "pgbench"))


# The targets: (label, numerator (scenario, kind), denominator, least share).
SHARE_TARGETS = [
    ("transfers / pgbench transfers", ("1-transfers", "service"), ("1-transfers", "pgbench"), 0.35),
    ("transfers / framework floor transfer", ("1-transfers", "service"), ("0a-floor-transfer", "floor"), 0.5),
    ("deposits / transfers", ("3-deposits", "service"), ("1-transfers", "service"), 0.9),
    ("withdrawals / transfers", ("3b-withdrawals", "service"), ("1-transfers", "service"), 0.9),
    ("hot account / pgbench hot account", ("2-hot-account", "service"), ("2-hot-account", "pgbench"), 0.5),
    # A hold and its capture are two writes under the account's lock, where a transfer is one.
    ("holds captured / transfers", ("5b-hold-capture", "service"), ("1-transfers", "service"), 0.4),
    ("batched transfers / pgbench transfers", ("5-batches", "service"), ("1-transfers", "pgbench"), 1.0),
    ("balance reads / framework floor GET", ("4b-balance", "service"), ("0b-floor-get", "floor"), 0.5),
    ("deposits / peer wallet deposits", ("3-deposits", "service"), ("6-peer-deposits", "peer"), 3.0),
]
P99_LIMIT_MS = 50
# The outbox must not slow the service measurably: the database time its event adds to a transfer
# (pgbench's transfer with the event, against the same without) as a share of a transfer's time
# through the service, both at the same concurrency in the same run.
OUTBOX_SHARE_LIMIT = 0.05
RSS_LIMIT_MIB = 100
# The gRPC scenario's load generator is Python (no ghz here): its figures count only while it
# costs far less CPU than the server it loads, on the same cores.
GRPC_SCENARIO = "1g-grpc-transfers"
GRPC_GENERATOR_CPU_LIMIT = 0.25


def generator_share(result: dict | None) -> float | None:
    """The load generator's CPU time during a scenario as a share of the server's."""
    if not result or result.get("generator_cpu_s") is None or not result.get("server_cpu_s"):
        return None
    return round(result["generator_cpu_s"] / result["server_cpu_s"], 3)


def grpc_comparison(results: list[dict]) -> dict[str, Any] | None:
    """The gRPC transfers beside REST's (scenario 1) in the same run, and what their load generators cost."""
    grpc, rest = _find(results, GRPC_SCENARIO, "grpc"), _find(results, "1-transfers", "service")
    if grpc is None:
        return None

    def side(r: dict | None) -> dict[str, Any] | None:
        if r is None:
            return None
        return {
            "applied_per_s": _per_s(r),
            "requests_per_s": r["requests_per_s"],
            "p50_ms": r["latency_ms"].get("p50"),
            "p99_ms": r["latency_ms"].get("p99"),
            "server_threads": r.get("server_threads"),
            "server_processes": r.get("server_processes"),
            "server_cpu_ms_per_request": r.get("worker_cpu_ms_per_request"),
            "server_cpu_s": r.get("server_cpu_s"),
            "generator_cpu_s": r.get("generator_cpu_s"),
            "generator_cpu_share": generator_share(r),
        }

    return {
        "grpc": side(grpc),
        "rest": side(rest),
        "grpc / rest": _share(results, (GRPC_SCENARIO, "grpc"), ("1-transfers", "service")),
        "generator_cpu_limit": GRPC_GENERATOR_CPU_LIMIT,
    }


def outbox_share(results: list[dict]) -> float | None:
    """What the outbox's event adds to a transfer's database time, as a share of its time through the service.

    1 / rate is the time a transfer takes of the machine at the run's concurrency: the outbox adds
    1/pgbench - 1/pgbench-bare of it in the database, the service takes 1/service in all.
    """
    rates = [_per_s(_find(results, "1-transfers", kind)) for kind in ("pgbench", "pgbench-bare", "service")]
    if any(not rate for rate in rates):
        return None
    with_event, bare, service = rates
    return round((1 / with_event - 1 / bare) * service, 3)


def targets(results: list[dict], connections: int) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure that decides it (None: not measured in this run)."""
    rows = []

    def add(name: str, figure: float | None, goal: str, met: bool | None) -> None:
        rows.append({"target": name, "figure": figure, "goal": goal, "met": met})

    for label, numerator, denominator, least in SHARE_TARGETS:
        share = _share(results, numerator, denominator)
        add(label, share, f">= {least:.2f}", None if share is None else share >= least)
    add("outbox: its database time / a transfer's service time", outbox_share(results), f"<= {OUTBOX_SHARE_LIMIT}",
        None if outbox_share(results) is None else outbox_share(results) <= OUTBOX_SHARE_LIMIT)  # fmt: skip
    share = generator_share(_find(results, GRPC_SCENARIO, "grpc"))
    add(f"{GRPC_SCENARIO}: load generator CPU / gRPC server CPU", share, f"<= {GRPC_GENERATOR_CPU_LIMIT}",
        None if share is None else share <= GRPC_GENERATOR_CPU_LIMIT)  # fmt: skip
    for name in ("1-transfers", "3-deposits"):
        service = _find(results, name, "service")
        p99 = service["latency_ms"].get("p99") if service else None
        add(f"{name}: p99 at {connections} connections (ms)", p99, f"<= {P99_LIMIT_MS}",
            None if p99 is None else p99 <= P99_LIMIT_MS)  # fmt: skip
    for name in ("2-hot-account", "2b-hot-destination"):
        hot = _find(results, name, "service")
        unavailable = hot["statuses"].get("503", 0) if hot else None
        add(f"{name}: 503 answers", unavailable, "= 0", None if hot is None else unavailable == 0)
    peaks = [max(r["peak_rss_mib"]) for r in results if r["kind"] == "service" and r["peak_rss_mib"]]
    peak = max(peaks) if peaks else None
    add("peak RSS per worker (MiB)", peak, f"<= {RSS_LIMIT_MIB}", None if peak is None else peak <= RSS_LIMIT_MIB)
    for name in ("4c-history-1-connection", "4a-history-page"):
        history = _find(results, name, "service")
        if history:
            p50 = history["latency_ms"].get("p50")
            add(f"{name}: history page p50 at {history['connections']} connection(s) (ms)", p50, "< 10", p50 < 10)
    return rows


def _succeeded(kind: str, status: str) -> bool:
    """Whether an answer is a success: a 2xx status over HTTP, OK over gRPC."""
    return status == "OK" if kind == "grpc" else status.startswith("2")


def violations(results: list[dict]) -> list[str]:
    """What fails the run: books that do not reconcile, money not conserved, answers that are not 2xx (OK over gRPC)."""
    found = []
    for r in results:
        label = f"{r['name']} ({r['kind']})"
        if r["reconcile"] and not r["reconcile"]["clean"]:
            found.append(f"{label}: reconcile found {r['reconcile']['discrepancies']} discrepancies")
        found.extend(f"{label}: {problem}" for problem in r["conservation"])
        if not r["kind"].startswith("pgbench"):
            failed = {status: n for status, n in r["statuses"].items() if not _succeeded(r["kind"], status)}
            if failed or r.get("socket_errors"):
                wanted = "OK" if r["kind"] == "grpc" else "2xx"
                found.append(f"{label}: answers that are not {wanted}: {_statuses({**r, 'statuses': failed})}")
        elif r["statuses"].get("failed"):
            found.append(f"{label}: {r['statuses']['failed']} pgbench transactions failed")
    return found


def cache_lines(doc: dict) -> list[str]:
    """What the read-through cache probe found, beside the balance read it would serve."""
    probe = doc.get("cache_probe") or {}
    if not probe:
        return []
    read = _find(doc["results"], "4b-balance", "service")
    request_us = read["worker_cpu_ms_per_request"] * 1000 if read and read.get("worker_cpu_ms_per_request") else None
    lines = [f"balance cache probe: the balance read's database work {probe['database_read_us']} us"]
    if probe.get("redis_get_us") is None:
        return [*lines, "  (no Redis reachable: nothing to compare)"]
    saving = probe["database_read_us"] - probe["redis_get_us"]
    lines.append(f"  a Redis GET of the same document {probe['redis_get_us']} us; the SET each posting would add "
                 f"{probe['redis_set_us']} us")  # fmt: skip
    if request_us:
        lines.append(f"  at most {saving:.0f} us saved of a balance read's {request_us:.0f} us of worker CPU "
                     f"({100 * saving / request_us:.0f}%)")  # fmt: skip
    return lines


def grpc_lines(doc: dict) -> list[str]:
    """gRPC transfers beside REST's, measured in the same run, and what the gRPC load generator cost."""
    found = doc.get("grpc")
    if not found:
        return []
    grpc, rest = found["grpc"], found["rest"]
    if rest is None:
        lines = [f"gRPC transfers: {grpc['applied_per_s']:.0f}/s (REST transfers not run)"]
    else:
        lines = [
            f"gRPC transfers: {grpc['applied_per_s']:.0f}/s vs REST transfers {rest['applied_per_s']:.0f}/s "
            f"(same run, applied tx/s): {found['grpc / rest']}",
            f"  p50 / p99 {grpc['p50_ms']} / {grpc['p99_ms']} ms vs {rest['p50_ms']} / {rest['p99_ms']} ms; "
            f"server CPU {grpc['server_cpu_ms_per_request']} vs {rest['server_cpu_ms_per_request']} ms per "
            f"request; {grpc['server_threads']} threads in {grpc['server_processes']} grpcserver processes vs "
            f"{rest['server_threads']} in {rest['server_processes']} gunicorn workers",
        ]
    if grpc["generator_cpu_share"] is not None:
        wrk = rest["generator_cpu_share"] if rest else None
        lines.append(f"  gRPC load generator CPU {grpc['generator_cpu_s']} s, {grpc['generator_cpu_share']} of the "
                     f"gRPC server's {grpc['server_cpu_s']} s (limit {found['generator_cpu_limit']})"
                     + ("" if wrk is None else f"; wrk's on REST transfers: {wrk} of gunicorn's"))  # fmt: skip
    return lines


def document(*, info: dict, config: dict, results: list[dict], started: float,
             cache_probe: dict | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "cache_probe": cache_probe or {},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": info,
        "config": config,
        "results": results,
        "ratios": {
            "service / pgbench, 1-transfers": _ratio(results, "1-transfers"),
            "service / pgbench, 2-hot-account": _ratio(results, "2-hot-account"),
            "service / framework floor, 1-transfers": _share(
                results, ("1-transfers", "service"), ("0a-floor-transfer", "floor")
            ),
            "service / framework floor, 4b-balance": _share(
                results, ("4b-balance", "service"), ("0b-floor-get", "floor")
            ),
            **{
                f"via HAProxy + PgBouncer / direct, {name}": _share(results, (name, "cluster"), (name, "service"))
                for name in CLUSTER_SCENARIOS
            },
            "gRPC / REST, 1-transfers": _share(results, (GRPC_SCENARIO, "grpc"), ("1-transfers", "service")),
        },
        "grpc": grpc_comparison(results),
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
        read = r["kind"] == "floor" or r["name"].startswith("4")
        label = f"  limit: {r['title'].removeprefix('pgbench: ')}" if r["kind"].startswith("pgbench") else r["name"]
        if r["kind"] == "cluster":
            label = "  via HAProxy + PgBouncer"
        latency = r["latency_ms"]
        reconciled = "clean" if r["reconcile"].get("clean") and not r["conservation"] else "FAILED"
        if r["kind"] in ("floor", "peer"):
            reconciled = "-"  # no ledger behind it
        rows.append(
            [
                label,
                f"{r['requests_per_s']:.0f}",
                "-" if read else f"{r['applied_per_s']:.0f}",
                f"{latency.get('p50', 0):.1f}",
                f"{latency.get('p95', 0):.1f}",
                f"{latency.get('p99', 0):.1f}",
                _statuses(r) if not r["kind"].startswith("pgbench") or r["statuses"] else "-",
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
            lines.append(f"{name}: {ratio:.2f}")
    for t in doc["targets"]:
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]
        lines.append(f"target {t['target']}: {t['figure']} (goal {t['goal']}): {verdict}")
    lines += grpc_lines(doc)
    lines += cache_lines(doc)
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
            out.append(f"- {name}: **{ratio:.2f}**")
    for t in doc["targets"]:
        verdict = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        out.append(f"- {t['target']}: {t['figure']} (goal {t['goal']}): {verdict}")
    out += [f"- {line.strip()}" for line in grpc_lines(doc)]
    out += [f"- {line.strip()}" for line in cache_lines(doc)]
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
        f"{_statuses(r)}, " + _books(r)
    )


def _books(r: dict) -> str:
    if r["kind"] in ("floor", "peer"):
        return "no ledger behind it"
    return f"reconcile {'clean' if r['reconcile'].get('clean') else 'NOT CLEAN'} ({r['reconcile'].get('seconds')} s)"


def say(message: str) -> None:
    """Show a line of progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)

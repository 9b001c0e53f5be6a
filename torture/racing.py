"""Scenario 1, racing instances: two gunicorn instances on one PostgreSQL, many clients at once.

Clients post random deposits, withdrawals and transfers among a few accounts of two API
clients through both instances for a fixed time at high concurrency. Some first attempts are
made by impatient clients that hang up after a few milliseconds (the request still runs on
the server), and some are sent twice at the same moment, once through each instance; every
unknown outcome is retried with the same key, on either instance. While the load runs, an
observer checks the books in a fresh snapshot every half second.

Afterwards: no 5xx but 503 (each with Retry-After), the books balance, ``reconcile`` is clean,
every key answered 201 maps to exactly one transaction, every retried key posted once, and
each account holds what the answers add up to (money is conserved).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from harness.books import Findings, check_at
from torture.client import Load, LoadPlan, open_accounts
from torture.infra import Context, Instance, create_clients, instances
from torture.invariants import KeyFigures, Observer, keys, reconcile
from torture.report import Result

FULL = LoadPlan(duration=40, threads=16, timeout=5.0, impatient=0.05, max_requests=200_000)
SHORT = LoadPlan(duration=6, threads=12, timeout=5.0, impatient=0.08, max_requests=5_000, settle=20)


def check_after_load(result: Result, url: str, load: Load, observer: Observer) -> tuple[str, KeyFigures]:
    """The checks a load ends with: every answer, what the observer saw during the load, the
    books, ``reconcile``, and each key posted at most once. Returns reconcile's line and the
    key figures."""
    answers = Findings(checked=sum(load.stats.statuses.values()), violations=list(load.stats.bad_answers))
    result.take(answers, "answer: ")
    result.take(observer.findings, "during the load: ")
    result.take(check_at(url), "books: ")
    reconciled, line = reconcile(url)
    result.take(reconciled)
    key_findings, figures = keys(url, load.movements)
    result.take(key_findings, "keys: ")
    if figures.refused_but_posted:
        # Allowed: a refused attempt binds nothing, so a concurrent or later attempt with the same
        # key may still post (e.g. once funds arrived). Exactly-once is checked by `keys` above.
        result.notes.append("refused, then posted by another attempt: " + "; ".join(figures.refused_but_posted[:5]))
    return line, figures


def answer_figures(summary: dict, figures: KeyFigures) -> dict[str, object]:
    """What a load's clients were answered and what became of their keys, as the report shows them."""
    return {
        "answers": summary["statuses"],
        "transport errors (retried)": summary["transport errors"],
        "movements": f"{summary['movements']:,}: {figures.posted:,} posted, {figures.refused:,} refused (4xx), "
        f"{figures.unresolved_posted:,} without a final answer but posted, "
        f"{figures.unresolved_not_posted:,} without a final answer and not posted",
        "retried keys": f"{figures.retried:,} ({figures.retried_posted_once:,} of them posted, each exactly once;"
        f" {summary['replays']:,} replayed answers)",
    }


def load_scenario(
    ctx: Context,
    result: Result,
    label: str,
    plan: LoadPlan,
    *,
    chaos: Callable[[list[Instance], Load], Callable[[], None]] | None = None,
) -> Load:
    """Two instances on a fresh database, the load through both, and every check afterwards.

    ``chaos(instances, load)`` is started with the load and returns a function that stops it.
    """
    started = time.monotonic()
    url = ctx.databases.clone(label)
    tokens = create_clients(url, {f"{label}-a": False, f"{label}-b": False})
    pair = [Instance(f"{label}-1", url, ctx.workdir), Instance(f"{label}-2", url, ctx.workdir)]
    with instances(*pair):
        accounts = open_accounts(pair[0].base, tokens, per_client=3)
        load = Load(accounts, lambda: [i.base for i in pair], replace(plan, seed=ctx.seed), label=label)
        with Observer(url) as observer:
            load.start()
            stop_chaos = chaos(pair, load) if chaos else None
            try:
                load.join()
            finally:
                if stop_chaos:
                    stop_chaos()
        result.requests += load.stats.requests + len(accounts)

    line, figures = check_after_load(result, url, load, observer)
    result.expect(figures.posted > 0, "nothing was posted: the load did not reach the ledger")

    summary = load.summary()
    result.figures.update(
        {
            "instances": f"{len(pair)} x {pair[0].env['WEB_CONCURRENCY']} workers x "
            f"{pair[0].env['GUNICORN_THREADS']} threads, {plan.threads} client threads for {plan.duration:.0f} s",
            **answer_figures(summary, figures),
            "keys sent twice at once, through both instances": summary["keys sent twice at once"],
            "client hang-ups": load.stats.hangups,
            "money": f"{figures.money_in / 100:,.2f} deposited - {figures.money_out / 100:,.2f} withdrawn = "
            "what the accounts hold",
            "snapshots checked during the load": observer.snapshots,
            "checks in those snapshots": observer.findings.checked,
            "reconcile": line,
            "slowest answer": f"{summary['slowest answer (s)']} s",
        }
    )
    result.duration += time.monotonic() - started
    return load


def run(ctx: Context, plan: LoadPlan | None = None) -> Result:
    result = Result("racing", "1. Racing instances")
    plan = plan or (SHORT if ctx.short else FULL)
    load = load_scenario(ctx, result, "racing", plan)
    result.faults += load.stats.hangups
    return result

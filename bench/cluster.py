"""The same scenarios through the production topology: HAProxy, two instances, PgBouncer, the replica.

:func:`cluster_scenarios` starts :class:`harness.topology.Topology` (without Prometheus), seeds
its primary as the direct run's database is seeded (the replica replays the seed), and runs
the scenarios marked ``"cluster"`` in :data:`bench.scenarios.SCENARIOS` through the balancer
with the same load, connections and duration as the direct run, so the two are reported side by
side (``kind="cluster"``). The two instances together have the same workers and threads as the
direct run's one gunicorn (``WEB_CONCURRENCY`` split between them), so what the figures compare
is the path (one more proxy hop, PgBouncer's, and the replica), not the capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bench import report
from bench.database import Database, fetch
from bench.invariants import Books
from bench.scenarios import SCENARIOS, Config, Result
from bench.seed import seed
from bench.server import Measured, gunicorn_workers
from bench.wrk import lua_data, run_wrk
from harness.commands import manage
from harness.environment import production_env
from harness.topology import Topology


class Balanced(Measured):
    """The topology as the one server :func:`bench.run._load` measures: the balancer, and both instances' workers."""

    def __init__(self, topology: Topology, env: Mapping[str, str]) -> None:
        self.topology = topology
        self.base = topology.base
        self.env = dict(env)

    def workers(self) -> list[int]:
        return [pid for instance in self.topology.instances for pid in instance.workers()]


def cluster_scenarios(config: Config, workdir: Path, run_id: str, load, after_scenario) -> list[Result]:
    """Run the cluster scenarios of ``config`` through a topology of their own; return their results.

    ``load`` and ``after_scenario`` are :mod:`bench.run`'s: the same measurement and the same
    checks (the books, conservation, ``reconcile``) as the direct run.
    """
    names = [name for name in config.scenarios if SCENARIOS[name].get("cluster")]
    if not names:
        return []
    workers = max(1, gunicorn_workers(config.server_env) // 2)
    env_overrides = {"LEDGER_THROTTLE_RATE": "100000000/min", "LOG_LEVEL": "INFO", **config.server_env}
    env_overrides.pop("WEB_CONCURRENCY", None)
    results: list[Result] = []
    with Topology(prometheus_enabled=False, workers=workers, env=env_overrides) as topology:
        direct = production_env(secret_key=topology.secret_key, DATABASE_URL=topology.primary_url)
        token = manage(direct, "create_api_client", "bench-client").stdout.strip()
        db = Database(topology.primary_url)
        [(client_pk,)] = fetch(db, "SELECT id FROM auth_user WHERE username = 'bench-client'")
        seeded = seed(db.url, client_pk=client_pk, customers=config.customers, history=config.history)
        data_file = workdir / "cluster.lua"
        data_file.write_text(lua_data(token, seeded))
        instances = len(topology.instances)
        target = Balanced(topology, {**topology.ledger_env(), "WEB_CONCURRENCY": str(workers * instances)})
        report.say(f"cluster ready at {topology.base}: {len(topology.instances)} instances x {workers} workers")
        if config.warmup > 0:
            run_wrk(target.base, "transfer", data_file, run_id + "cw", duration=config.warmup,
                    connections=config.connections)  # fmt: skip
        for name in names:
            before, _ = Books.read(db)
            results.append(load(name, SCENARIOS[name], config, target, data_file, run_id + "c", kind="cluster"))
            after_scenario(results[-1], db, direct, before, own_process=True)
            report.say(report.one_line(results[-1]))
    return results

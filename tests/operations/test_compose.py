"""docker-compose.yml describes the topology of ``make cluster``, from the same files (no Docker engine runs here).

Every file it mounts exists, every service it waits for is defined, the instances reach the
database through PgBouncer and history through the replica, the balancer's instances are
the two ledger services, and Prometheus's compose targets are those instances.
"""

from __future__ import annotations

import json

import yaml

from harness.commands import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_mounted_file_exists_and_every_awaited_service_is_defined():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is missing"
        assert set(service.get("depends_on", {})) <= set(SERVICES), name


def test_the_topology_is_the_clusters():
    assert {"primary", "replica", "pgbouncer", "ledger-1", "ledger-2", "relay", "lb", "prometheus", "grafana"} <= set(
        SERVICES
    )
    for name in ("ledger-1", "ledger-2"):
        env = SERVICES[name]["environment"]
        assert "@pgbouncer:" in env["DATABASE_URL"], name
        assert env["DB_PGBOUNCER"] == "True", name
        assert "@replica:" in env["DATABASE_REPLICA_URL"], name
        assert env["REDIS_URL"].startswith("redis://redis:"), name
    balancer = SERVICES["lb"]["environment"]
    assert {balancer["LEDGER_INSTANCE_1"].split(":")[0], balancer["LEDGER_INSTANCE_2"].split(":")[0]} == {
        "ledger-1",
        "ledger-2",
    }
    targets = json.loads((REPO / "deploy/prometheus/compose-targets/ledger.json").read_text())
    assert sorted(t.split(":")[0] for group in targets for t in group["targets"]) == ["ledger-1", "ledger-2"]

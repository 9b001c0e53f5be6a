"""deploy/prometheus and deploy/grafana hold together: promtool accepts the config and the rules, every alert
fires and stays quiet as its unit tests say, and every ledger metric they or the dashboard name exists.

promtool (Debian's prometheus package, or scripts/install-cluster-tools) is taken from PATH:
without it the promtool tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.core import Metric

from harness.commands import REPO
from ledger_project.metrics import DATABASE_COLLECTORS
from tests.tools import require

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "ledger.json"


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    require([] if found else ["promtool"], "checking the alert rules")
    assert found is not None
    return found


def run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_scrape_config_as_make_cluster_lays_it_out(promtool, tmp_path):
    folder = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, folder)
    (folder / "targets").mkdir()
    (folder / "targets" / "ledger.json").write_text(json.dumps([{"targets": ["127.0.0.1:8001", "127.0.0.1:8002"]}]))
    (folder / "metrics-token").write_text("a-token\n")

    checked = run(promtool, "check", "config", "prometheus.yml", cwd=folder)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout


def test_the_scrape_config_reads_the_token_and_targets_beside_it():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    assert config["rule_files"] == ["alerts.yml"]
    assert jobs["ledger"]["authorization"]["credentials_file"] == "metrics-token"
    assert jobs["ledger"]["file_sd_configs"][0]["files"] == ["targets/ledger.json"]
    for job in jobs.values():  # compose mounts compose-targets/ as targets/: every file it names is there
        for name in job["file_sd_configs"][0]["files"]:
            assert (PROMETHEUS / "compose-targets" / Path(name).name).is_file(), name


def test_promtool_accepts_the_alert_rules(promtool):
    checked = run(promtool, "check", "rules", "alerts.yml", cwd=PROMETHEUS)

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_fires_and_stays_quiet_as_its_unit_tests_say(promtool):
    tested = run(promtool, "test", "rules", "alerts_test.yml", cwd=PROMETHEUS)

    assert tested.returncode == 0, tested.stdout + tested.stderr


def alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_has_a_unit_test_that_fires_it_and_one_where_it_stays_quiet():
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    checks = [check for test in tests for check in test["alert_rule_test"]]

    for rule in alerts():
        name = rule["alert"]
        assert any(c["alertname"] == name and c["exp_alerts"] for c in checks), f"{name} never fires"
        assert any(c["alertname"] == name and not c["exp_alerts"] for c in checks), f"{name} never stays quiet"


def test_every_alert_says_how_bad_it_is_and_where_its_runbook_is():
    for rule in alerts():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule.get("for"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_every_alert_has_its_section_in_the_operations_guide():
    headings = set(re.findall(r"^### (\w+)$", (REPO / "docs" / "operations.md").read_text(), re.MULTILINE))
    assert {rule["alert"] for rule in alerts()} <= headings


# --- every ledger metric named exists ----------------------------------------------------------

_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}


def exposed() -> set[str]:
    """Every series name the ledger exposes: the counted metrics and what the collectors read."""
    families: list[Metric] = [*REGISTRY.collect()]
    for collector in DATABASE_COLLECTORS:
        families.extend(collector.describe())
    names = set()
    for family in families:
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
    return names


def ledger_names(expression: str) -> set[str]:
    """The ledger_* metric names in a PromQL expression (label matchers and strings left out)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", re.sub(r"\{[^}]*\}", "", expression))
    return set(re.findall(r"\bledger_[a-zA-Z0-9_]+", bare))


def dashboard_expressions() -> Iterator[str]:
    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(json.loads(DASHBOARD.read_text()))


def test_the_name_parser_finds_metrics_and_skips_labels():
    found = ledger_names('sum(rate(ledger_a_total{route!~"ledger_b"}[5m])) / max(ledger_c) > 0 or "ledger_d"')

    assert found == {"ledger_a_total", "ledger_c"}


def test_every_ledger_metric_the_alerts_use_exists():
    used = {name for rule in alerts() for name in ledger_names(rule["expr"])}

    assert len(used) >= 10
    assert used - exposed() == set()


def test_every_ledger_metric_the_dashboard_uses_exists():
    used = {name for expression in dashboard_expressions() for name in ledger_names(expression)}

    assert len(used) >= 10
    assert used - exposed() == set()


def test_promtool_parses_every_dashboard_query(promtool, tmp_path):
    # Grafana's $__rate_interval becomes a plain range; each query becomes a recording rule promtool parses.
    rules = [
        {"record": f"dashboard:query_{n}", "expr": expression.replace("$__rate_interval", "1m")}
        for n, expression in enumerate(dashboard_expressions())
    ]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    checked = run(promtool, "check", "rules", "dashboard.yml", cwd=tmp_path)

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_reads_the_provisioned_data_source():
    provisioned = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]

    assert dashboard["schemaVersion"] >= 39
    assert panels
    assert all(panel["datasource"]["uid"] == uid for panel in panels)
    assert all(target["datasource"]["uid"] == uid for panel in panels for target in panel["targets"])

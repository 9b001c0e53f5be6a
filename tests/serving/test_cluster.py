"""``make cluster``: the topology comes up, serves through HAProxy from both instances, is scraped, and goes down.

The command itself (``python -m harness.cluster``) is started as an operator starts it and
stopped with Ctrl-C (SIGINT): it prints the addresses and a token that work, and leaves no
process and no folder behind. Prometheus, started by the topology with ``deploy/prometheus/``,
must really scrape both instances: both targets up, and the requests each answered in its
samples.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from harness.commands import REPO
from harness.environment import project_env
from harness.servers import http
from harness.topology import Topology, missing_tools
from tests.tools import require

pytestmark = pytest.mark.postgres

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def prometheus(base: str, path: str, **query: str) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(query)}" if query else base + path
    with _OPENER.open(url, timeout=10) as answer:
        return json.loads(answer.read())


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_prometheus_scrapes_both_instances_behind_the_balancer():
    require(missing_tools(), "the cluster")
    with Topology() as topology:
        for _ in range(20):  # through the balancer: least connections spreads them over both
            assert http(topology.base, "GET", "/readyz").status == 200

        def both_up():
            targets = prometheus(topology.prometheus_base, "/api/v1/targets")["data"]["activeTargets"]
            ledger = [t for t in targets if t["labels"]["job"] == "ledger"]
            return len(ledger) == 2 and all(t["health"] == "up" for t in ledger) and ledger

        targets = wait_for(both_up, 60, "Prometheus to scrape both instances")
        assert {t["labels"]["instance"] for t in targets} == {f"127.0.0.1:{i.port}" for i in topology.instances}

        def answered_by_each():
            found = prometheus(
                topology.prometheus_base,
                "/api/v1/query",
                query='sum by (instance) (ledger_http_requests_total{route="readyz"})',
            )["data"]["result"]
            return len(found) == 2 and all(float(r["value"][1]) > 0 for r in found) and found

        wait_for(answered_by_each, 60, "both instances' request counts in Prometheus")
        rules = prometheus(topology.prometheus_base, "/api/v1/rules")["data"]["groups"]
        assert sum(len(group["rules"]) for group in rules) > 0  # the alert rules are loaded


def test_make_cluster_prints_working_addresses_and_stops_everything_on_ctrl_c():
    require(missing_tools(), "make cluster")
    command = [sys.executable, "-m", "harness.cluster"]
    # Started as a script's background job is, with SIGINT ignored: Ctrl-C must still stop it.
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        printed = "".join(lines)
        api = re.search(r"API \(HAProxy\)\s+(http://127\.0\.0\.1:\d+)/api/v1/", printed)
        token = re.search(r"API token \(client 'cluster-demo'\): (\w+)", printed)
        folder_line = re.search(r"folder \(logs\)\s+(\S+)", printed)
        assert api, printed
        assert token, printed
        assert folder_line, printed
        folder = Path(folder_line[1])
        opened = http(api[1], "POST", "/api/v1/accounts/", {"currency": "USD"}, token=token[1], key="cluster-test")
        assert opened.status == 201, opened.body
        assert folder.is_dir()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.terminate()  # SIGTERM stops it too: leave nothing running behind a failed test
            rest, _ = process.communicate(timeout=120)
            raise AssertionError(f"Ctrl-C did not stop make cluster:\n{''.join(lines)}{rest}") from None
    assert process.returncode == 0, rest
    assert "cluster: stopped" in rest
    assert not folder.exists()
    left = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True, check=False)
    assert left.stdout.strip() == "", f"processes left: {left.stdout}"

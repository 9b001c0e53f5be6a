"""The torture suite's short versions: real gunicorn instances on databases of their own.

One migrated template per test session (per xdist worker), cloned for each scenario; every
database made here is dropped at the end. See ``torture/`` and ``docs/reliability.md``.
"""

from __future__ import annotations

import os

import pytest

from harness.environment import database_url
from torture.infra import Context, Databases, Server


@pytest.fixture(scope="session")
def torture_context(tmp_path_factory) -> Context:
    databases = Databases(Server(database_url()), prefix="ledger_torture_test")
    seed = int(os.environ.get("TORTURE_SEED", "20261122"))
    yield Context(databases=databases, workdir=tmp_path_factory.mktemp("torture"), short=True, seed=seed)
    databases.close()


@pytest.fixture(autouse=True)
def _drop_scenario_databases(request):
    yield
    if "torture_context" in request.fixturenames:
        request.getfixturevalue("torture_context").databases.drop_clones()

"""The short version of every torture scenario (``python -m torture --short``), with the same checks.

Each starts real gunicorn instances in their production configuration on a database of its
own (the fuzzing, the authorization matrix and the hostile input also a ``manage.py
grpcserver``) and asserts what ``make torture`` asserts: no violation of any invariant, and
figures showing that the scenario really did its work (requests answered, faults injected,
money posted), over REST and over gRPC. The full versions, with their figures, are in
``docs/reliability.md``.
"""

from __future__ import annotations

import os

import pytest

from harness.postgres import find_bindir
from harness.topology import missing_tools
from tests.tools import require
from torture import authz, cluster, crashing, fuzzing, hostile, outage, racing
from torture.report import Result, details

pytestmark = pytest.mark.postgres


def assert_passed(result: Result) -> None:
    assert result.passed, f"{len(result.violations)} violations:\n" + details([result])
    print("\n" + details([result]))


def test_racing_instances_lose_nothing_and_post_each_key_once(torture_context):
    result = racing.run(torture_context)

    assert_passed(result)
    assert result.requests > 50
    assert result.figures["answers"].get(201, 0) > 20  # the load reached the ledger through both instances
    assert result.figures["snapshots checked during the load"] > 0


def test_crashing_workers_and_instances_leave_no_partial_transaction(torture_context):
    result = crashing.run(torture_context)

    assert_passed(result)
    assert result.faults >= 2  # at least one worker and one whole instance were SIGKILLed
    assert "1 whole instances SIGKILLed" in result.figures["faults"]
    assert result.figures["answers"].get("no answer", 0) > 0  # requests died with their process; retried


def test_a_database_outage_answers_quick_503s_and_recovers_without_a_restart(torture_context):
    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("initdb/pg_ctl are needed for the outage scenario in CI")
        pytest.skip("initdb/pg_ctl not found: the outage scenario needs a throwaway PostgreSQL cluster")

    result = outage.run(torture_context)

    assert_passed(result)
    assert result.faults == 1
    assert result.figures["answers during an outage"].get(503, 0) > 0
    assert set(result.figures["answers during an outage"]) == {503}
    assert result.figures["same processes"].startswith("master kept")


def test_the_cluster_loses_nothing_through_the_balancer_pgbouncer_and_the_replica_faults(torture_context):
    require(missing_tools(prometheus=False), "the cluster scenario")

    result = cluster.run(torture_context)

    assert_passed(result)
    faults = result.figures["faults (seconds into the load)"]
    happened = ["replica stopped", "replica started again", "PgBouncer SIGKILLed", "SIGKILL instance", "restarted"]
    assert [what in fault for what, fault in zip(happened, faults, strict=True)] == [True] * 5
    assert result.figures["answers"].get(201, 0) > 100  # the load reached the ledger through the balancer
    assert result.figures["answers"].get(503, 0) > 0  # PgBouncer's restart answered 503s, each with Retry-After
    served = result.figures["history reads served by"]
    assert served.get("replica (fresh)", 0) > 0  # the replica served history while it ran and was fresh
    assert served.get("primary (replica_failed)", 0) > 0  # and the primary while it was stopped


def test_fuzzing_finds_no_server_error_nor_schema_mismatch_but_the_known_bugs(torture_context):
    result = fuzzing.run(torture_context)

    assert_passed(result)  # known bugs (torture/known.py) are listed apart; test_known_bugs.py pins each
    assert result.figures["operations exercised"] >= 24  # 19, and the five of holds
    assert result.figures["hold operations exercised"] == 5
    assert sum(result.figures["answers"].values()) > 300
    # Over gRPC: every RPC of the proto, generated and mutated requests, many of them answered OK.
    assert int(result.figures["gRPC methods exercised"].split()[0]) >= 21
    assert sum(result.figures["gRPC answers"].values()) > 300
    assert result.figures["gRPC answers"].get("OK", 0) > 20
    assert result.figures["gRPC idempotency keys checked in the database"] > 20


def test_authorization_matrix_holds_for_every_endpoint_method_and_caller(torture_context):
    result = authz.run(torture_context)

    assert_passed(result)
    answers = {key: value for key, value in result.figures.items() if key.startswith("expected answers to ")}
    assert set(answers["expected answers to anonymous"]) == {401}
    assert set(answers["expected answers to wrong token"]) == {401}
    assert 403 not in answers["expected answers to staff"]
    assert answers["expected answers to A"][404] > 0
    # Holds are in the matrix: captured and voided by their owners and staff, exactly as answered.
    stored, answered = result.figures["holds stored = answered 201"].split(" (")[0].split(" = ")
    assert stored == answered
    assert int(stored) > 20
    # Over gRPC: every RPC of the five services, as the same callers.
    assert int(result.figures["gRPC methods"].split()[0]) >= 21
    over_grpc = {key: value for key, value in result.figures.items() if key.startswith("gRPC expected answers to ")}
    assert set(over_grpc["gRPC expected answers to anonymous"]) == {"UNAUTHENTICATED"}
    assert set(over_grpc["gRPC expected answers to wrong token"]) == {"UNAUTHENTICATED"}
    assert "PERMISSION_DENIED" not in over_grpc["gRPC expected answers to staff"]
    assert over_grpc["gRPC expected answers to A"]["NOT_FOUND"] > 0
    assert over_grpc["gRPC expected answers to B"]["PERMISSION_DENIED"] > 0
    stored, answered = result.figures["gRPC holds stored = answered OK"].split(" (")[0].split(" = ")
    assert stored == answered
    assert int(stored) > 20


def test_hostile_input_gets_a_clear_4xx_and_posts_nothing(torture_context):
    result = hostile.run(torture_context)

    assert_passed(result)
    assert len(result.figures["cases"]) >= 130
    assert result.figures["hold cases"] >= 70
    assert result.figures["longest write transaction open during a case (s)"] < hostile.LOCK_BOUND
    # Over gRPC: raw messages, every one answered with a contract status, nothing posted.
    assert len(result.figures["gRPC cases"]) >= 150
    assert result.figures["gRPC longest write transaction open during a case (s)"] < hostile.LOCK_BOUND

"""The transaction lists' filters: kind, status, account_id, created_after/before, reference.

Each filter lets the right rows in and keeps the others out, combines with paging (walking
``next`` under a filter neither skips nor repeats), never shows another client's rows, and
refuses a bad value with 400 ``validation_error`` naming the parameter.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api.helpers import assert_page, assert_problem
from tests.factories import AccountFactory
from transactions.services import deposit_create, transaction_reverse, transfer_create, withdrawal_create

LISTS = ["/api/v1/transactions/", "/api/v1/deposits/", "/api/v1/withdrawals/", "/api/v1/transfers/"]
KIND_OF_LIST = {"/api/v1/deposits/": "deposit", "/api/v1/withdrawals/": "withdrawal", "/api/v1/transfers/": "transfer"}


def _ids(page: dict[str, Any]) -> list[str]:
    return [row["id"] for row in page["results"]]


def _walk(api, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of the list under ``params``, following ``next`` one row per page."""
    page = assert_page(api.get(path, {**params, "page_size": 1}))
    rows = list(page["results"])
    while page["next"]:
        page = assert_page(api.get(page["next"]))
        assert len(page["results"]) == 1
        rows.extend(page["results"])
    return rows


@pytest.fixture
def books(user, other_user, staff, account):
    """Movements of every kind on two accounts of ``user``, one reversed, and another client's."""
    savings = AccountFactory(owner=user, currency="USD")
    theirs = AccountFactory(owner=other_user, currency="USD")
    made = {
        "d1": deposit_create(actor=user, account_id=account.public_id, amount=Decimal("100.00"), reference="INV-1"),
        "d2": deposit_create(actor=user, account_id=savings.public_id, amount=Decimal("50.00"), reference="INV-2"),
        "w1": withdrawal_create(actor=user, account_id=account.public_id, amount=Decimal("10.00"), reference="INV-1"),
        "t1": transfer_create(
            actor=user,
            source_account_id=account.public_id,
            destination_account_id=savings.public_id,
            amount=Decimal("5.00"),
        ),
        "d3": deposit_create(actor=user, account_id=account.public_id, amount=Decimal("7.00")),
        "x1": deposit_create(actor=other_user, account_id=theirs.public_id, amount=Decimal("9.00"), reference="INV-1"),
    }
    made["r1"] = transaction_reverse(actor=staff, transaction_id=made["d3"].public_id, reason="duplicate")
    ids = {name: str(txn.public_id) for name, txn in made.items()}
    return {"ids": ids, "txns": made, "account": account, "savings": savings, "theirs": theirs}


def _expect(books, *names: str, path: str) -> set[str]:
    """The ids of ``names`` that the list at ``path`` holds (its kind only)."""
    kind = KIND_OF_LIST.get(path)
    return {books["ids"][name] for name in names if kind is None or books["txns"][name].kind == kind}


@pytest.mark.parametrize("path", LISTS)
def test_without_filters_a_list_holds_the_clients_own_rows(api, books, path):
    mine = ("d1", "d2", "w1", "t1", "d3", "r1")
    assert set(_ids(assert_page(api.get(path)))) == _expect(books, *mine, path=path)


def test_kind_filters_the_transactions_list(api, books):
    for kind, names in {
        "deposit": ("d1", "d2", "d3"),
        "withdrawal": ("w1",),
        "transfer": ("t1",),
        "reversal": ("r1",),
    }.items():
        page = assert_page(api.get("/api/v1/transactions/", {"kind": kind}))
        assert set(_ids(page)) == {books["ids"][name] for name in names}
        assert {row["kind"] for row in page["results"]} == {kind}


@pytest.mark.parametrize("path", LISTS)
def test_status_filters(api, books, path):
    reversed_ = assert_page(api.get(path, {"status": "reversed"}))
    assert set(_ids(reversed_)) == _expect(books, "d3", path=path)
    posted = assert_page(api.get(path, {"status": "posted"}))
    assert set(_ids(posted)) == _expect(books, "d1", "d2", "w1", "t1", "r1", path=path)


@pytest.mark.parametrize("path", LISTS)
def test_account_id_filters_to_movements_in_or_out_of_that_account(api, books, path):
    savings = assert_page(api.get(path, {"account_id": str(books["savings"].public_id)}))
    assert set(_ids(savings)) == _expect(books, "d2", "t1", path=path)
    checking = assert_page(api.get(path, {"account_id": str(books["account"].public_id)}))
    assert set(_ids(checking)) == _expect(books, "d1", "w1", "t1", "d3", "r1", path=path)


@pytest.mark.parametrize("path", LISTS)
def test_another_clients_account_id_matches_nothing(api, books, path):
    page = assert_page(api.get(path, {"account_id": str(books["theirs"].public_id)}))
    assert page["results"] == []
    assert page["next"] is None


def test_another_clients_account_id_matches_nothing_even_where_a_transfer_reaches_it(api, other_api, books):
    """Bob's list filtered by the account Alice paid from shows nothing, though he sees the transfer to him."""
    theirs = books["theirs"]
    alice_pays = transfer_create(
        actor=books["account"].owner,
        source_account_id=books["account"].public_id,
        destination_account_id=theirs.public_id,
        amount=Decimal("1.00"),
    )
    assert str(alice_pays.public_id) in _ids(assert_page(other_api.get("/api/v1/transfers/")))
    page = assert_page(other_api.get("/api/v1/transfers/", {"account_id": str(books["account"].public_id)}))
    assert page["results"] == []
    page = assert_page(other_api.get("/api/v1/transfers/", {"account_id": str(theirs.public_id)}))
    assert _ids(page) == [str(alice_pays.public_id)]


def test_staff_may_filter_by_any_account(staff_api, books):
    page = assert_page(staff_api.get("/api/v1/transactions/", {"account_id": str(books["theirs"].public_id)}))
    assert _ids(page) == [books["ids"]["x1"]]


def test_an_unknown_account_id_matches_nothing(api, books):
    page = assert_page(api.get("/api/v1/transactions/", {"account_id": "6f1c9a2e-5b7d-4c8e-9f10-2a3b4c5d6e7f"}))
    assert page["results"] == []


@pytest.mark.parametrize("path", LISTS)
def test_reference_matches_exactly(api, books, path):
    assert set(_ids(assert_page(api.get(path, {"reference": "INV-1"})))) == _expect(books, "d1", "w1", path=path)
    assert assert_page(api.get(path, {"reference": "INV"}))["results"] == []
    assert assert_page(api.get(path, {"reference": "inv-1"}))["results"] == []


@pytest.mark.parametrize("path", LISTS)
def test_created_after_is_inclusive_and_created_before_exclusive(api, books, path):
    pivot = books["txns"]["w1"].created_at.isoformat()
    after = set(_ids(assert_page(api.get(path, {"created_after": pivot}))))
    before = set(_ids(assert_page(api.get(path, {"created_before": pivot}))))
    assert after == _expect(books, "w1", "t1", "d3", "r1", path=path)
    assert before == _expect(books, "d1", "d2", path=path)
    window = {"created_after": books["txns"]["d2"].created_at.isoformat(), "created_before": pivot}
    assert set(_ids(assert_page(api.get(path, window)))) == _expect(books, "d2", path=path)


def test_an_instant_without_a_zone_is_utc(api, books):
    pivot = books["txns"]["w1"].created_at
    assert pivot.utcoffset().total_seconds() == 0  # Read back in UTC.
    naive = pivot.replace(tzinfo=None)
    with_zone = assert_page(api.get("/api/v1/transactions/", {"created_after": pivot.isoformat()}))
    without = assert_page(api.get("/api/v1/transactions/", {"created_after": naive.isoformat()}))
    assert _ids(without) == _ids(with_zone)
    assert books["ids"]["d1"] not in _ids(without)


def test_filters_combine(api, books):
    params = {"kind": "deposit", "account_id": str(books["account"].public_id), "status": "posted"}
    assert _ids(assert_page(api.get("/api/v1/transactions/", params))) == [books["ids"]["d1"]]
    params = {"reference": "INV-1", "kind": "withdrawal"}
    assert _ids(assert_page(api.get("/api/v1/transactions/", params))) == [books["ids"]["w1"]]


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "deposit"},
        {"account_id": "ACCOUNT"},
        {"status": "posted"},
        {"reference": "INV-1"},
        {"created_after": "CREATED"},
    ],
)
def test_paging_under_a_filter_neither_skips_nor_repeats(api, user, books, params):
    account = books["account"]
    for n in range(1, 6):  # More rows that the filters let in, and some they keep out.
        deposit_create(actor=user, account_id=account.public_id, amount=Decimal(n), reference="INV-1")
        withdrawal_create(actor=user, account_id=books["savings"].public_id, amount=Decimal("1.00"))
    params = {
        name: {"ACCOUNT": str(account.public_id), "CREATED": books["txns"]["d2"].created_at.isoformat()}.get(
            value, value
        )
        for name, value in params.items()
    }
    everything = assert_page(api.get("/api/v1/transactions/", {**params, "page_size": 200}))["results"]
    walked = _walk(api, "/api/v1/transactions/", params)
    assert [row["id"] for row in walked] == [row["id"] for row in everything]
    assert len({row["id"] for row in walked}) == len(walked) > 3
    unfiltered = {row["id"] for row in assert_page(api.get("/api/v1/transactions/", {"page_size": 200}))["results"]}
    assert {row["id"] for row in walked} < unfiltered  # The filter kept some rows out.


def test_the_next_link_keeps_the_filters(api, user, books):
    deposit_create(actor=user, account_id=books["account"].public_id, amount=Decimal("1.00"))
    page = assert_page(api.get("/api/v1/transactions/", {"kind": "deposit", "page_size": 1}))
    assert "kind=deposit" in page["next"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("kind", "refund"),
        ("kind", "DEPOSIT"),
        ("status", "pending"),
        ("account_id", "not-a-uuid"),
        ("account_id", "123"),
        ("created_after", "yesterday"),
        ("created_after", "2026-13-01T00:00:00Z"),
        ("created_before", "2026-11-30T06:00:00Z\n"),
        ("created_before", "1700000000"),
    ],
)
def test_a_bad_filter_value_is_a_validation_error_naming_the_parameter(api, books, name, value):
    problem = assert_problem(api.get("/api/v1/transactions/", {name: value}), 400, "validation_error", fields=(name,))
    assert set(problem["errors"]) == {name}


@pytest.mark.parametrize("path", ["/api/v1/deposits/", "/api/v1/withdrawals/", "/api/v1/transfers/"])
def test_a_list_of_one_kind_takes_no_kind(api, books, path):
    problem = assert_problem(api.get(path, {"kind": "deposit"}), 400, "validation_error", fields=("kind",))
    assert "Unknown query parameter" in problem["errors"]["kind"][0]

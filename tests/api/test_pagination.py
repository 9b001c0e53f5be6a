"""Cursor pages: shape, page sizes, signed cursors, and stable paging while rows arrive."""

from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.api.helpers import (
    PAGE_KEYS,
    assert_json,
    assert_page,
    assert_problem,
    deposited,
    open_account,
    withdraw,
)
from tests.factories import AccountFactory
from transactions.services import deposit_create


def _fill(user, account, count: int) -> None:
    """Post ``count`` deposits of 1.00 .. count.00 through the posting service (fast setup)."""
    for n in range(1, count + 1):
        deposit_create(actor=user, account_id=account.public_id, amount=Decimal(n))


def _history(account) -> str:
    return f"/api/v1/accounts/{account.public_id}/history/"


def _cursor(url: str) -> str:
    return parse_qs(urlsplit(url).query)["cursor"][0]


def _with_cursor(path: str, cursor: str, **params) -> str:
    return f"{path}?{urlencode({'cursor': cursor, **params})}"


LISTS = [
    "/api/v1/accounts/",
    "/api/v1/transactions/",
    "/api/v1/deposits/",
    "/api/v1/withdrawals/",
    "/api/v1/transfers/",
]


# --- Shape and sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*LISTS, "history"])
def test_every_list_is_a_page_of_next_previous_results(api, account, path):
    deposited(api, account.public_id, "1.00")
    page = assert_page(api.get(_history(account) if path == "history" else path))
    assert set(page) == PAGE_KEYS
    assert page["next"] is None
    assert page["previous"] is None


def test_the_default_page_size_is_50(api, user, account):
    _fill(user, account, 55)
    for path in (_history(account), "/api/v1/transactions/", "/api/v1/deposits/"):
        first = assert_page(api.get(path))
        assert len(first["results"]) == 50
        assert first["next"] is not None
        assert first["previous"] is None
        second = assert_page(api.get(first["next"]))
        assert len(second["results"]) == 5
        assert second["next"] is None
        assert second["previous"] is not None


def test_page_sizes_from_1_to_200(api, user, account):
    _fill(user, account, 201)
    history = _history(account)
    one = assert_page(api.get(history, {"page_size": "1"}))
    assert [row["amount"] for row in one["results"]] == ["201.00"]
    assert "page_size=1" in one["next"]
    assert [row["amount"] for row in assert_page(api.get(one["next"]))["results"]] == ["200.00"]
    assert len(assert_page(api.get(history, {"page_size": "200"}))["results"]) == 200
    assert len(assert_page(api.get("/api/v1/transactions/", {"page_size": "200"}))["results"]) == 200
    assert len(assert_page(api.get(history, {"page_size": "7"}))["results"]) == 7


@pytest.mark.parametrize("page_size", ["0", "201", "-1", "abc", "1.5", "", " 5", "1e2", "1000", "99999999999999999999"])
@pytest.mark.parametrize("path", [*LISTS, "history"])
def test_an_invalid_page_size_is_refused(api, account, path, page_size):
    url = _history(account) if path == "history" else path
    assert_problem(api.get(url, {"page_size": page_size}), 400, "invalid_page_size")


# --- Cursors -----------------------------------------------------------------------------------


@pytest.fixture
def paged(api, user, account):
    """An account with 6 deposits, and the first page (size 2) of its history."""
    _fill(user, account, 6)
    return assert_page(api.get(_history(account), {"page_size": 2}))


def test_following_next_and_previous(api, account, paged):
    assert [row["amount"] for row in paged["results"]] == ["6.00", "5.00"]
    second = assert_page(api.get(paged["next"]))
    assert [row["amount"] for row in second["results"]] == ["4.00", "3.00"]
    third = assert_page(api.get(second["next"]))
    assert [row["amount"] for row in third["results"]] == ["2.00", "1.00"]
    assert third["next"] is None
    back = assert_page(api.get(third["previous"]))
    assert back["results"] == second["results"]
    first_again = assert_page(api.get(back["previous"]))
    assert first_again["results"] == paged["results"]
    assert first_again["previous"] is None


@pytest.mark.parametrize("cursor", ["garbage", "", "cD0yMDI0", "bnVsbA", "." * 10, "a" * 5000])
def test_a_garbage_cursor_is_invalid_cursor(api, account, paged, cursor):
    assert_problem(api.get(_history(account), {"cursor": cursor}), 400, "invalid_cursor")


def test_a_tampered_cursor_is_invalid_cursor(api, account, paged):
    cursor = _cursor(paged["next"])
    assert assert_page(api.get(_with_cursor(_history(account), cursor)))["results"]
    for position in (1, len(cursor) // 2, len(cursor) - 1):
        flipped = "A" if cursor[position] != "A" else "B"
        tampered = cursor[:position] + flipped + cursor[position + 1 :]
        assert_problem(api.get(_with_cursor(_history(account), tampered)), 400, "invalid_cursor")
    assert_problem(api.get(_with_cursor(_history(account), cursor + "x")), 400, "invalid_cursor")
    assert_problem(api.get(_with_cursor(_history(account), cursor[:-1])), 400, "invalid_cursor")


def test_a_cursor_from_another_accounts_history_is_invalid_cursor(api, user, account, paged):
    other = AccountFactory(owner=user)
    _fill(user, other, 6)
    cursor = _cursor(paged["next"])
    assert_problem(api.get(_with_cursor(_history(other), cursor)), 400, "invalid_cursor")


def test_a_cursor_from_another_list_is_invalid_cursor(api, user, account):
    _fill(user, account, 4)
    deposits_page = assert_page(api.get("/api/v1/deposits/", {"page_size": 1}))
    cursor = _cursor(deposits_page["next"])
    assert_page(api.get(_with_cursor("/api/v1/deposits/", cursor, page_size=1)))
    for path in ("/api/v1/transactions/", "/api/v1/withdrawals/", "/api/v1/accounts/", _history(account)):
        assert_problem(api.get(_with_cursor(path, cursor, page_size=1)), 400, "invalid_cursor")


def test_another_clients_cursor_on_an_account_it_cannot_see_is_not_found(api, other_api, account, paged):
    assert_problem(other_api.get(paged["next"]), 404, "not_found")


# --- Stability while rows arrive ---------------------------------------------------------------


def _walk_while_posting(api, first_url, post_between):
    """Follow ``next`` from ``first_url`` to the end, calling ``post_between()`` before each fetch."""
    seen, url = [], first_url
    while url:
        page = assert_page(api.get(url))
        seen.extend(page["results"])
        url = page["next"]
        if url:
            post_between()
    return seen


def test_paging_a_history_while_deposits_arrive_neither_skips_nor_repeats(api, user, account):
    _fill(user, account, 23)
    history = _history(account)
    expected = [row["transaction_id"] for row in assert_page(api.get(history, {"page_size": 200}))["results"]]
    assert len(expected) == 23

    def post_between():
        for _ in range(3):
            deposited(api, account.public_id, "0.01")

    seen = _walk_while_posting(api, f"{history}?page_size=5", post_between)
    seen_ids = [row["transaction_id"] for row in seen]
    assert len(seen_ids) == len(set(seen_ids)), "a row was repeated"
    assert seen_ids == expected, "a row was skipped, repeated or reordered"
    # Rows posted meanwhile are on top of the list for the next walk.
    assert len(assert_page(api.get(history, {"page_size": 200}))["results"]) == 23 + 3 * 4


def test_paging_transactions_while_deposits_arrive_neither_skips_nor_repeats(api, user, account):
    other = open_account(api, "USD")
    _fill(user, account, 17)
    expected = [txn["id"] for txn in assert_page(api.get("/api/v1/transactions/", {"page_size": 200}))["results"]]

    def post_between():
        deposited(api, other["id"], "1.00")
        deposited(api, account.public_id, "1.00")

    seen = [txn["id"] for txn in _walk_while_posting(api, "/api/v1/transactions/?page_size=4", post_between)]
    assert len(seen) == len(set(seen))
    assert seen == expected


def test_next_links_keep_the_filters(api, user, account):
    _fill(user, account, 5)
    for _ in range(3):
        assert_json(withdraw(api, account.public_id, "0.50"), 201)
    seen = _walk_while_posting(api, f"{_history(account)}?kind=deposit&page_size=2", lambda: None)
    assert [row["amount"] for row in seen] == ["5.00", "4.00", "3.00", "2.00", "1.00"]
    withdrawals = _walk_while_posting(api, f"{_history(account)}?kind=withdrawal&page_size=1", lambda: None)
    assert [row["amount"] for row in withdrawals] == ["-0.50"] * 3

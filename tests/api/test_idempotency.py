"""Idempotency keys: a money movement retried with its key posts exactly once."""

import pytest

from accounts.models import Account
from harness.books import assert_books_balance
from tests.api.helpers import (
    assert_json,
    assert_problem,
    balance_of,
    deposit,
    deposited,
    ledger_snapshot,
    post_movement,
    post_raw,
    reverse,
    transfer,
    withdraw,
)
from tests.factories import AccountFactory
from transactions.models import Transaction

# --- Replays -----------------------------------------------------------------------------------


def test_a_replay_answers_the_same_status_and_bytes_and_posts_nothing(api, account):
    body = {"account_id": str(account.public_id), "amount": "10.00", "description": "once", "metadata": {"a": 1}}
    first = post_movement(api, "/api/v1/deposits/", body, key="dep-1")
    assert first.status_code == 201
    assert not first.has_header("Idempotent-Replayed")
    after_first = ledger_snapshot()
    for _ in range(3):
        again = post_movement(api, "/api/v1/deposits/", body, key="dep-1")
        assert again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert again["Content-Type"].split(";")[0] == "application/json"
        assert again.has_header("X-Request-ID")
        assert again.content == first.content
    assert ledger_snapshot() == after_first
    assert balance_of(api, account.public_id) == "10.00"
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert_books_balance()


@pytest.mark.parametrize("movement", ["withdrawal", "transfer"])
def test_withdrawals_and_transfers_replay_too(api, account, user, movement):
    other = AccountFactory(owner=user)
    deposited(api, account.public_id, "10.00")
    if movement == "withdrawal":
        first = withdraw(api, account.public_id, "3.00", key="k")
        again = withdraw(api, account.public_id, "3.00", key="k")
    else:
        first = transfer(api, account.public_id, other.public_id, "3.00", key="k")
        again = transfer(api, account.public_id, other.public_id, "3.00", key="k")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert balance_of(api, account.public_id) == "7.00"


def test_the_same_body_in_another_key_order_or_spacing_is_a_replay(api, account):
    """The app compares bodies as canonical JSON, so formatting differences are the same request."""
    account_id = str(account.public_id)
    first = post_raw(api, "/api/v1/deposits/", f'{{"account_id":"{account_id}","amount":"5.00"}}', key="fmt")
    again = post_raw(api, "/api/v1/deposits/", f'{{ "amount" : "5.00",\n "account_id" : "{account_id}" }}', key="fmt")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert balance_of(api, account.public_id) == "5.00"


def test_a_replay_after_the_transaction_was_reversed_still_shows_the_first_answer(api, staff_api, account):
    first = deposit(api, account.public_id, "10.00", key="before-reversal")
    txn = assert_json(first, 201)
    assert_json(reverse(staff_api, txn["id"]), 201)
    after_reversal = ledger_snapshot()

    again = deposit(api, account.public_id, "10.00", key="before-reversal")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert assert_json(again, 201)["status"] == "posted"
    # Nothing was posted again, and the transaction itself is reversed.
    assert ledger_snapshot() == after_reversal
    assert assert_json(api.get(f"/api/v1/transactions/{txn['id']}/"), 200)["status"] == "reversed"
    assert balance_of(api, account.public_id) == "0.00"


def test_a_replay_after_the_account_was_frozen_still_shows_the_first_answer(api, account):
    first = deposit(api, account.public_id, "10.00", key="then-frozen")
    assert first.status_code == 201
    Account.objects.filter(pk=account.pk).update(status="frozen")
    before = ledger_snapshot()
    again = deposit(api, account.public_id, "10.00", key="then-frozen")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert ledger_snapshot() == before
    # A new key is refused.
    assert_problem(deposit(api, account.public_id, "10.00"), 422, "account_inactive")


def test_a_reversal_replays_instead_of_answering_already_reversed(staff_api, api, account):
    txn = deposited(api, account.public_id, "10.00")
    first = reverse(staff_api, txn["id"], "dispute", key="rev-1")
    assert first.status_code == 201
    before = ledger_snapshot()
    again = reverse(staff_api, txn["id"], "dispute", key="rev-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert ledger_snapshot() == before
    # Another reason with the same key is another request.
    assert_problem(reverse(staff_api, txn["id"], "another reason", key="rev-1"), 422, "idempotency_key_reused")
    assert ledger_snapshot() == before


# --- Reuse with another request ----------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        {"amount": "10.01"},
        {"amount": "10"},
        {"description": "other"},
        {"metadata": {"a": 2}},
        {"reference": "r"},
    ],
)
def test_the_same_key_with_another_body_is_idempotency_key_reused(api, account, changed):
    body = {"account_id": str(account.public_id), "amount": "10.00", "metadata": {"a": 1}}
    assert post_movement(api, "/api/v1/deposits/", body, key="reuse").status_code == 201
    before = ledger_snapshot()
    response = post_movement(api, "/api/v1/deposits/", {**body, **changed}, key="reuse")
    assert_problem(response, 422, "idempotency_key_reused")
    assert not response.has_header("Idempotent-Replayed")
    assert ledger_snapshot() == before


def test_the_same_key_with_another_account_is_idempotency_key_reused(api, account, user):
    other = AccountFactory(owner=user)
    assert deposit(api, account.public_id, "1.00", key="acct").status_code == 201
    before = ledger_snapshot()
    assert_problem(deposit(api, other.public_id, "1.00", key="acct"), 422, "idempotency_key_reused")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("second_path", ["/api/v1/withdrawals/", "/api/v1/transfers/"])
def test_the_same_key_on_another_endpoint_is_idempotency_key_reused(api, account, second_path):
    body = {"account_id": str(account.public_id), "amount": "1.00"}
    assert post_movement(api, "/api/v1/deposits/", body, key="cross").status_code == 201
    before = ledger_snapshot()
    assert_problem(post_movement(api, second_path, body, key="cross"), 422, "idempotency_key_reused")
    assert ledger_snapshot() == before


def test_a_deposit_key_reused_for_a_reversal_is_idempotency_key_reused(staff_api, account):
    txn = deposited(staff_api, account.public_id, "5.00")
    assert deposit(staff_api, account.public_id, "1.00", key="staff-key").status_code == 201
    before = ledger_snapshot()
    assert_problem(reverse(staff_api, txn["id"], key="staff-key"), 422, "idempotency_key_reused")
    assert ledger_snapshot() == before


# --- Scope and refusals ------------------------------------------------------------------------


def test_keys_are_scoped_to_the_client(api, other_api, account, other_user):
    theirs = AccountFactory(owner=other_user)
    mine = deposit(api, account.public_id, "1.00", key="shared-key")
    assert mine.status_code == 201
    response = deposit(other_api, theirs.public_id, "2.00", key="shared-key")
    theirs_txn = assert_json(response, 201)
    assert not response.has_header("Idempotent-Replayed")
    assert theirs_txn["id"] != assert_json(mine, 201)["id"]
    assert balance_of(other_api, theirs.public_id) == "2.00"
    # And the second client's first use did not disturb the first client's replay.
    again = deposit(api, account.public_id, "1.00", key="shared-key")
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == mine.content


def test_a_request_refused_for_insufficient_funds_binds_nothing(api, account):
    assert_problem(withdraw(api, account.public_id, "5.00", key="retry-later"), 422, "insufficient_funds")
    # The same refusal again (not a replay of anything).
    response = withdraw(api, account.public_id, "5.00", key="retry-later")
    assert_problem(response, 422, "insufficient_funds")
    assert not response.has_header("Idempotent-Replayed")
    deposited(api, account.public_id, "5.00")
    retried = withdraw(api, account.public_id, "5.00", key="retry-later")
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")
    assert balance_of(api, account.public_id) == "0.00"


def test_a_request_refused_as_invalid_binds_nothing(api, account):
    assert_problem(deposit(api, account.public_id, "1.005", key="fix-me"), 400, "validation_error")
    fixed = deposit(api, account.public_id, "1.01", key="fix-me")
    assert fixed.status_code == 201
    assert not fixed.has_header("Idempotent-Replayed")
    assert balance_of(api, account.public_id) == "1.01"


def test_a_request_refused_as_not_found_binds_nothing(api, account, other_user):
    theirs = AccountFactory(owner=other_user)
    assert_problem(deposit(api, theirs.public_id, "1.00", key="wrong-account"), 404, "not_found")
    assert deposit(api, account.public_id, "1.00", key="wrong-account").status_code == 201


def test_a_request_refused_for_an_inactive_account_binds_nothing(api, account):
    Account.objects.filter(pk=account.pk).update(status="frozen")
    assert_problem(deposit(api, account.public_id, "1.00", key="thaw"), 422, "account_inactive")
    Account.objects.filter(pk=account.pk).update(status="active")
    assert deposit(api, account.public_id, "1.00", key="thaw").status_code == 201


def test_a_reversal_refused_as_already_reversed_binds_nothing(staff_api, api, account):
    txn = deposited(api, account.public_id, "1.00")
    other = deposited(api, account.public_id, "2.00")
    assert_json(reverse(staff_api, txn["id"], "x", key="rk-1"), 201)
    assert_problem(reverse(staff_api, txn["id"], "x", key="rk-2"), 422, "already_reversed")
    # "rk-2" is still free: it may be used for another request.
    assert_json(reverse(staff_api, other["id"], "x", key="rk-2"), 201)


# --- The header itself -------------------------------------------------------------------------

_MOVEMENTS = ["/api/v1/deposits/", "/api/v1/withdrawals/", "/api/v1/transfers/", "reverse"]


def _movement_request(client, path, account, payee, key_headers):
    if path == "reverse":
        txn = Transaction.objects.filter(kind="deposit").latest("pk")
        path = f"/api/v1/transactions/{txn.public_id}/reverse/"
        body = {"reason": "test"}
    elif path == "/api/v1/transfers/":
        body = {"source_account_id": str(account.public_id), "destination_account_id": str(payee.public_id)}
        body["amount"] = "1.00"
    else:
        body = {"account_id": str(account.public_id), "amount": "1.00"}
    return client.post(path, body, format="json", **key_headers)


@pytest.mark.parametrize("path", _MOVEMENTS)
@pytest.mark.parametrize(
    "key_headers",
    [
        {},
        {"HTTP_IDEMPOTENCY_KEY": ""},
        {"HTTP_IDEMPOTENCY_KEY": "k" * 256},
        {"HTTP_IDEMPOTENCY_KEY": "cl\u00e9"},
        {"HTTP_IDEMPOTENCY_KEY": "\u00e9t\u00e9-2024"},
        {"HTTP_IDEMPOTENCY_KEY": "a\tb"},
        {"HTTP_IDEMPOTENCY_KEY": "a\x7fb"},
    ],
    ids=["missing", "empty", "256-chars", "non-ascii", "latin1", "tab", "del"],
)
def test_a_missing_or_malformed_key_is_idempotency_key_required(staff_api, account, user, path, key_headers):
    payee = AccountFactory(owner=user)
    deposited(staff_api, account.public_id, "10.00")
    before = ledger_snapshot()
    response = _movement_request(staff_api, path, account, payee, key_headers)
    assert_problem(response, 400, "idempotency_key_required")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("key", ["k", "k" * 255, "order 42 / #!~{}", "0", "A-Za-z_0.9:;<=>?@[]^`|"])
def test_keys_of_1_to_255_printable_ascii_characters_are_accepted(api, account, key):
    response = deposit(api, account.public_id, "1.00", key=key)
    assert response.status_code == 201, response.content
    again = deposit(api, account.public_id, "1.00", key=key)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == response.content
    assert balance_of(api, account.public_id) == "1.00"


def test_opening_an_account_needs_no_key(api):
    assert api.post("/api/v1/accounts/", {"currency": "USD"}, format="json").status_code == 201


def test_keys_are_looked_up_per_client_even_for_staff(staff_api, api, account):
    """A staff client's key does not collide with the account owner's key."""
    mine = deposit(api, account.public_id, "1.00", key="same")
    staffs = deposit(staff_api, account.public_id, "2.00", key="same")
    assert mine.status_code == staffs.status_code == 201
    assert not staffs.has_header("Idempotent-Replayed")
    assert balance_of(api, account.public_id) == "3.00"

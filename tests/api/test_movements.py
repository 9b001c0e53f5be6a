"""Money movements: deposits, withdrawals, transfers and reversals, with who may see what."""

import uuid
from decimal import Decimal

import pytest

from accounts.models import Account
from harness.books import assert_books_balance
from tests.api.helpers import (
    LEG_KEYS,
    TRANSACTION_KEYS,
    assert_json,
    assert_page,
    assert_problem,
    balance_of,
    deposit,
    deposited,
    ledger_snapshot,
    open_account,
    post_raw,
    reverse,
    transfer,
    withdraw,
)
from tests.factories import AccountFactory
from transactions.services import deposit_create


def _system_account_id(currency: str) -> str:
    return str(Account.objects.get(is_system=True, currency=currency).public_id)


# --- Deposits ----------------------------------------------------------------------------------


def test_a_deposit_answers_201_with_the_transaction(api, account):
    response = deposit(
        api, account.public_id, "25.50", description="top-up", reference="ref-1", metadata={"order": "A-1001"}
    )
    txn = assert_json(response, 201)
    assert not response.has_header("Idempotent-Replayed")
    assert set(txn) == TRANSACTION_KEYS
    assert uuid.UUID(txn["id"])
    assert txn["kind"] == "deposit"
    assert txn["status"] == "posted"
    assert txn["amount"] == "25.50"
    assert txn["currency"] == "USD"
    assert txn["source_account_id"] is None
    assert txn["destination_account_id"] == str(account.public_id)
    assert txn["description"] == "top-up"
    assert txn["reference"] == "ref-1"
    assert txn["metadata"] == {"order": "A-1001"}
    assert txn["reverses"] is None
    assert txn["reversed_by"] is None
    # The client sees its own leg only, not the system account's.
    assert txn["postings"] == [
        {"account_id": str(account.public_id), "amount": "25.50", "balance_after": "25.50", "sequence": 1}
    ]
    assert balance_of(api, account.public_id) == "25.50"
    assert_books_balance()


def test_a_deposit_reads_back_the_same_under_its_kind_and_under_transactions(api, account):
    txn = deposited(api, account.public_id, "1.00")
    assert assert_json(api.get(f"/api/v1/deposits/{txn['id']}/"), 200) == txn
    assert assert_json(api.get(f"/api/v1/transactions/{txn['id']}/"), 200) == txn


def test_deposits_accumulate(api, account):
    deposited(api, account.public_id, "0.10")
    deposited(api, account.public_id, "0.20")
    txn = deposited(api, account.public_id, "0.30")
    assert txn["postings"][0]["balance_after"] == "0.60"
    assert balance_of(api, account.public_id) == "0.60"


@pytest.mark.parametrize(
    ("currency", "amount", "rendered"),
    [
        ("USD", "10.00", "10.00"),
        ("USD", "10", "10.00"),
        ("USD", "0.01", "0.01"),
        ("USD", 10, "10.00"),
        ("EUR", "7.5", "7.50"),
        ("GBP", "0.99", "0.99"),
        ("JPY", "10", "10"),
        ("JPY", 10, "10"),
        ("JPY", "999999999999999", "999999999999999"),
    ],
)
def test_amounts_render_with_the_currencys_minor_unit_digits(api, currency, amount, rendered):
    account = open_account(api, currency)
    txn = deposited(api, account["id"], amount)
    assert txn["amount"] == rendered
    assert txn["postings"][0]["balance_after"] == rendered
    assert balance_of(api, account["id"]) == rendered


@pytest.mark.parametrize(
    ("raw", "rendered"), [("10.25", "10.25"), ("0.07", "0.07"), ("1e3", "1000.00"), ("2.5E1", "25.00")]
)
def test_a_json_number_amount_is_taken_exactly(api, account, raw, rendered):
    """0.07 as a binary float is 0.07000000000000000666...; an exact parser keeps it 0.07."""
    response = post_raw(api, "/api/v1/deposits/", f'{{"account_id": "{account.public_id}", "amount": {raw}}}')
    assert assert_json(response, 201)["amount"] == rendered
    assert balance_of(api, account.public_id) == rendered


def test_the_largest_usd_amount_is_exact(api, account):
    txn = deposited(api, account.public_id, "999999999999999.99")
    assert txn["amount"] == "999999999999999.99"
    assert balance_of(api, account.public_id) == "999999999999999.99"
    assert_json(withdraw(api, account.public_id, "0.01"), 201)
    assert balance_of(api, account.public_id) == "999999999999999.98"
    assert_books_balance()


def test_a_balance_beyond_what_the_ledger_can_hold_is_limit_exceeded(api, user, account):
    """Not in the contract's table: the app refuses (422 ``limit_exceeded``) a posting that would take a
    balance past 9 * 10^18 minor units, instead of overflowing a 64-bit column into a 500."""
    for _ in range(90):
        deposit_create(actor=user, account_id=account.public_id, amount=Decimal("999999999999999.99"))
    assert balance_of(api, account.public_id) == "89999999999999999.10"
    before = ledger_snapshot()
    assert_problem(deposit(api, account.public_id, "999999999999999.99"), 422, "limit_exceeded")
    assert ledger_snapshot() == before
    assert_json(deposit(api, account.public_id, "0.90"), 201)
    assert balance_of(api, account.public_id) == "90000000000000000.00"
    assert_books_balance()


@pytest.mark.parametrize(
    "amount",
    [
        "1.005",
        "0.001",
        0,
        "0",
        "0.00",
        -1,
        "-1.00",
        "abc",
        True,
        False,
        None,
        "",
        " 1",
        "1e3",
        "NaN",
        "Infinity",
        "1,00",
        "0x10",
        "+1",
        [1],
        {"value": "1"},
        10**15,
        "1000000000000000",
        "1000000000000000.00",
        10**20,
    ],
)
def test_an_invalid_usd_amount_is_a_validation_error_and_posts_nothing(api, account, amount):
    before = ledger_snapshot()
    assert_problem(deposit(api, account.public_id, amount), 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "raw", ["1.005", "1.000", "10.250", "100e-3", "-0.5", "0", "-0", "0.0", "1000000000000000", "1e15", "0.001"]
)
def test_an_invalid_json_number_amount_is_a_validation_error(api, account, raw):
    before = ledger_snapshot()
    response = post_raw(api, "/api/v1/deposits/", f'{{"account_id": "{account.public_id}", "amount": {raw}}}')
    assert_problem(response, 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


@pytest.mark.parametrize("amount", ["1.5", "0.1", 1.5, "10.01", "10.0", "10.00"])
def test_a_jpy_amount_with_decimals_is_refused_never_rounded(api, amount):
    account = open_account(api, "JPY")
    before = ledger_snapshot()
    assert_problem(deposit(api, account["id"], amount), 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


def test_a_deposit_needs_an_account_and_an_amount(api):
    response = deposit(api, "", None)
    assert_problem(response, 400, "validation_error", fields=("account_id", "amount"))
    response = api.post("/api/v1/deposits/", {}, format="json", HTTP_IDEMPOTENCY_KEY="empty-body")
    assert_problem(response, 400, "validation_error", fields=("account_id", "amount"))


def test_a_malformed_account_id_in_a_body_is_a_validation_error(api):
    assert_problem(deposit(api, "not-a-uuid", "1.00"), 400, "validation_error", fields=("account_id",))


def test_a_deposit_into_an_unknown_account_is_not_found(api, account):
    before = ledger_snapshot()
    assert_problem(deposit(api, uuid.uuid4(), "1.00"), 404, "not_found")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("field", ["description", "reference"])
def test_overlong_texts_are_validation_errors(api, account, field):
    length = {"description": 501, "reference": 201}[field]
    response = deposit(api, account.public_id, "1.00", **{field: "x" * length})
    assert_problem(response, 400, "validation_error", fields=(field,))


# --- Withdrawals -------------------------------------------------------------------------------


def test_a_withdrawal_answers_201_with_the_transaction(api, account):
    deposited(api, account.public_id, "50.00")
    response = withdraw(api, account.public_id, "20.25", description="atm", reference="w-1", metadata={"k": [1]})
    txn = assert_json(response, 201)
    assert set(txn) == TRANSACTION_KEYS
    assert txn["kind"] == "withdrawal"
    assert txn["status"] == "posted"
    assert txn["amount"] == "20.25"
    assert txn["currency"] == "USD"
    assert txn["source_account_id"] == str(account.public_id)
    assert txn["destination_account_id"] is None
    assert (txn["description"], txn["reference"], txn["metadata"]) == ("atm", "w-1", {"k": [1]})
    assert txn["postings"] == [
        {"account_id": str(account.public_id), "amount": "-20.25", "balance_after": "29.75", "sequence": 2}
    ]
    assert assert_json(api.get(f"/api/v1/withdrawals/{txn['id']}/"), 200) == txn
    assert balance_of(api, account.public_id) == "29.75"
    assert_books_balance()


def test_withdrawing_the_whole_balance_leaves_zero(api, account):
    deposited(api, account.public_id, "10.00")
    assert_json(withdraw(api, account.public_id, "10.00"), 201)
    assert balance_of(api, account.public_id) == "0.00"


@pytest.mark.parametrize("amount", ["10.01", "10000"])
def test_a_withdrawal_beyond_the_balance_is_insufficient_funds(api, account, amount):
    deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    assert_problem(withdraw(api, account.public_id, amount), 422, "insufficient_funds")
    assert ledger_snapshot() == before
    assert balance_of(api, account.public_id) == "10.00"


def test_a_withdrawal_from_an_empty_account_is_insufficient_funds(api, account):
    before = ledger_snapshot()
    assert_problem(withdraw(api, account.public_id, "0.01"), 422, "insufficient_funds")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("amount", ["1.005", 0, "-5", "abc", None])
def test_an_invalid_withdrawal_amount_is_a_validation_error(api, account, amount):
    deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    assert_problem(withdraw(api, account.public_id, amount), 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


# --- Inactive accounts ---------------------------------------------------------------------


@pytest.mark.parametrize("status", ["frozen", "closed"])
@pytest.mark.parametrize("movement", ["deposit", "withdrawal"])
def test_an_inactive_account_refuses_deposits_and_withdrawals(api, account, status, movement):
    deposited(api, account.public_id, "10.00")
    Account.objects.filter(pk=account.pk).update(status=status)
    before = ledger_snapshot()
    post = deposit if movement == "deposit" else withdraw
    assert_problem(post(api, account.public_id, "1.00"), 422, "account_inactive")
    assert ledger_snapshot() == before
    assert balance_of(api, account.public_id) == "10.00"


@pytest.mark.parametrize("status", ["frozen", "closed"])
@pytest.mark.parametrize("side", ["source", "destination"])
def test_a_transfer_touching_an_inactive_account_is_refused(api, account, user, status, side):
    other = AccountFactory(owner=user)
    deposited(api, account.public_id, "10.00")
    frozen = account if side == "source" else other
    Account.objects.filter(pk=frozen.pk).update(status=status)
    before = ledger_snapshot()
    assert_problem(transfer(api, account.public_id, other.public_id, "1.00"), 422, "account_inactive")
    assert ledger_snapshot() == before


def test_an_inactive_account_is_still_readable(api, account):
    deposited(api, account.public_id, "3.00")
    Account.objects.filter(pk=account.pk).update(status="frozen")
    assert assert_json(api.get(f"/api/v1/accounts/{account.public_id}/"), 200)["status"] == "frozen"
    assert balance_of(api, account.public_id) == "3.00"


# --- Transfers ---------------------------------------------------------------------------------


def test_a_transfer_between_own_accounts_shows_both_legs(api, account, user):
    savings = AccountFactory(owner=user)
    deposited(api, account.public_id, "100.00")
    response = transfer(api, account.public_id, savings.public_id, "40.00", description="save", reference="t-1")
    txn = assert_json(response, 201)
    assert set(txn) == TRANSACTION_KEYS
    assert txn["kind"] == "transfer"
    assert txn["status"] == "posted"
    assert txn["amount"] == "40.00"
    assert txn["currency"] == "USD"
    assert txn["source_account_id"] == str(account.public_id)
    assert txn["destination_account_id"] == str(savings.public_id)
    assert (txn["description"], txn["reference"]) == ("save", "t-1")
    assert all(set(leg) == LEG_KEYS for leg in txn["postings"])
    assert sorted(txn["postings"], key=lambda leg: leg["amount"]) == [
        {"account_id": str(account.public_id), "amount": "-40.00", "balance_after": "60.00", "sequence": 2},
        {"account_id": str(savings.public_id), "amount": "40.00", "balance_after": "40.00", "sequence": 1},
    ]
    assert assert_json(api.get(f"/api/v1/transfers/{txn['id']}/"), 200) == txn
    assert balance_of(api, account.public_id) == "60.00"
    assert balance_of(api, savings.public_id) == "40.00"
    assert_books_balance()


def test_a_transfer_to_another_clients_account_is_allowed_and_each_side_sees_its_own_leg(
    api, other_api, staff_api, account, other_user
):
    payee = AccountFactory(owner=other_user)
    deposited(api, account.public_id, "100.00")
    txn = assert_json(transfer(api, account.public_id, payee.public_id, "30.00"), 201)
    payer_leg = {"account_id": str(account.public_id), "amount": "-30.00", "balance_after": "70.00", "sequence": 2}
    payee_leg = {"account_id": str(payee.public_id), "amount": "30.00", "balance_after": "30.00", "sequence": 1}
    assert txn["postings"] == [payer_leg]
    assert txn["destination_account_id"] == str(payee.public_id)

    payee_view = assert_json(other_api.get(f"/api/v1/transfers/{txn['id']}/"), 200)
    assert payee_view["postings"] == [payee_leg]
    assert {k: v for k, v in payee_view.items() if k != "postings"} == {k: v for k, v in txn.items() if k != "postings"}
    assert txn["id"] in [t["id"] for t in assert_page(other_api.get("/api/v1/transfers/"))["results"]]

    staff_view = assert_json(staff_api.get(f"/api/v1/transactions/{txn['id']}/"), 200)
    assert sorted(staff_view["postings"], key=lambda leg: leg["amount"]) == [payer_leg, payee_leg]

    assert balance_of(other_api, payee.public_id) == "30.00"
    # The payer still cannot read the payee's account.
    assert_problem(api.get(f"/api/v1/accounts/{payee.public_id}/"), 404, "not_found")
    assert_books_balance()


def test_a_transfer_from_another_clients_account_is_not_found(api, other_api, account, other_user):
    theirs = AccountFactory(owner=other_user)
    deposited(other_api, theirs.public_id, "50.00")
    before = ledger_snapshot()
    assert_problem(transfer(api, theirs.public_id, account.public_id, "1.00"), 404, "not_found")
    assert ledger_snapshot() == before
    assert balance_of(other_api, theirs.public_id) == "50.00"


def test_a_transfer_to_an_unknown_account_is_not_found(api, account):
    deposited(api, account.public_id, "5.00")
    before = ledger_snapshot()
    assert_problem(transfer(api, account.public_id, uuid.uuid4(), "1.00"), 404, "not_found")
    assert ledger_snapshot() == before


def test_a_transfer_between_currencies_is_a_currency_mismatch(api, account):
    euros = open_account(api, "EUR")
    deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    assert_problem(transfer(api, account.public_id, euros["id"], "1.00"), 422, "currency_mismatch")
    assert ledger_snapshot() == before


def test_a_transfer_to_the_same_account_is_refused(api, account):
    deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    assert_problem(transfer(api, account.public_id, account.public_id, "1.00"), 422, "same_account")
    assert ledger_snapshot() == before


def test_a_transfer_beyond_the_balance_is_insufficient_funds(api, account, other_user):
    payee = AccountFactory(owner=other_user)
    deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    assert_problem(transfer(api, account.public_id, payee.public_id, "10.01"), 422, "insufficient_funds")
    assert ledger_snapshot() == before


def test_a_transfer_needs_both_accounts_and_an_amount(api):
    response = api.post("/api/v1/transfers/", {}, format="json", HTTP_IDEMPOTENCY_KEY="t")
    assert_problem(response, 400, "validation_error", fields=("source_account_id", "destination_account_id", "amount"))


def test_a_jpy_transfer_with_decimals_is_refused(api):
    yen = open_account(api, "JPY")
    other = open_account(api, "JPY")
    deposited(api, yen["id"], "100")
    before = ledger_snapshot()
    assert_problem(transfer(api, yen["id"], other["id"], "0.5"), 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


# --- Reads: lists by kind ------------------------------------------------------------------


def test_lists_are_newest_first_and_filtered_by_kind(api, account, user):
    other = AccountFactory(owner=user)
    d1 = deposited(api, account.public_id, "10.00")
    w1 = assert_json(withdraw(api, account.public_id, "1.00"), 201)
    t1 = assert_json(transfer(api, account.public_id, other.public_id, "2.00"), 201)
    d2 = deposited(api, other.public_id, "3.00")

    def ids(path):
        return [txn["id"] for txn in assert_page(api.get(path))["results"]]

    assert ids("/api/v1/transactions/") == [d2["id"], t1["id"], w1["id"], d1["id"]]
    assert ids("/api/v1/deposits/") == [d2["id"], d1["id"]]
    assert ids("/api/v1/withdrawals/") == [w1["id"]]
    assert ids("/api/v1/transfers/") == [t1["id"]]
    listed = assert_page(api.get("/api/v1/transactions/"))["results"]
    assert all(set(txn) == TRANSACTION_KEYS for txn in listed)
    assert listed[1] == t1


@pytest.mark.parametrize(
    ("kind_path", "other_paths"),
    [
        ("deposits", ["transfers", "withdrawals"]),
        ("withdrawals", ["deposits", "transfers"]),
        ("transfers", ["deposits", "withdrawals"]),
    ],
)
def test_a_transaction_is_not_found_under_another_kinds_path(api, account, user, kind_path, other_paths):
    other = AccountFactory(owner=user)
    deposited(api, account.public_id, "10.00")
    made = {
        "deposits": deposited(api, account.public_id, "1.00"),
        "withdrawals": assert_json(withdraw(api, account.public_id, "1.00"), 201),
        "transfers": assert_json(transfer(api, account.public_id, other.public_id, "1.00"), 201),
    }
    txn_id = made[kind_path]["id"]
    assert_json(api.get(f"/api/v1/{kind_path}/{txn_id}/"), 200)
    for path in other_paths:
        assert_problem(api.get(f"/api/v1/{path}/{txn_id}/"), 404, "not_found")


@pytest.mark.parametrize("path", ["transactions", "deposits", "withdrawals", "transfers"])
@pytest.mark.parametrize("txn_id", ["not-a-uuid", "42", str(uuid.UUID(int=0))])
def test_an_unknown_or_malformed_transaction_id_is_not_found(api, path, txn_id):
    assert_problem(api.get(f"/api/v1/{path}/{txn_id}/"), 404, "not_found")


# --- Ownership -----------------------------------------------------------------------------


def test_a_deposit_into_another_clients_account_is_not_found(api, other_api, other_user):
    theirs = AccountFactory(owner=other_user)
    before = ledger_snapshot()
    assert_problem(deposit(api, theirs.public_id, "1.00"), 404, "not_found")
    assert ledger_snapshot() == before
    assert balance_of(other_api, theirs.public_id) == "0.00"


def test_a_withdrawal_from_another_clients_account_is_not_found(api, other_api, other_user):
    theirs = AccountFactory(owner=other_user)
    deposited(other_api, theirs.public_id, "20.00")
    before = ledger_snapshot()
    assert_problem(withdraw(api, theirs.public_id, "1.00"), 404, "not_found")
    assert ledger_snapshot() == before
    assert balance_of(other_api, theirs.public_id) == "20.00"


@pytest.mark.parametrize("movement", ["deposit", "withdrawal", "transfer"])
def test_another_clients_account_in_a_movement_answers_exactly_like_an_unknown_one(
    api, other_api, account, other_user, movement
):
    theirs = AccountFactory(owner=other_user)
    deposited(other_api, theirs.public_id, "5.00")
    deposited(api, account.public_id, "5.00")

    def attempt(account_id):
        if movement == "deposit":
            return deposit(api, account_id, "1.00")
        if movement == "withdrawal":
            return withdraw(api, account_id, "1.00")
        return transfer(api, account_id, account.public_id, "1.00")

    before = ledger_snapshot()
    foreign = assert_problem(attempt(theirs.public_id), 404, "not_found")
    unknown = assert_problem(attempt(uuid.uuid4()), 404, "not_found")
    foreign.pop("request_id"), unknown.pop("request_id")
    assert foreign == unknown
    assert ledger_snapshot() == before


def test_a_transaction_touching_none_of_the_clients_accounts_is_invisible(api, other_api, account, other_user):
    theirs = AccountFactory(owner=other_user)
    their_deposit = deposited(other_api, theirs.public_id, "20.00")
    their_withdrawal = assert_json(withdraw(other_api, theirs.public_id, "1.00"), 201)
    mine = deposited(api, account.public_id, "1.00")

    hidden = assert_problem(api.get(f"/api/v1/transactions/{their_deposit['id']}/"), 404, "not_found")
    missing = assert_problem(api.get(f"/api/v1/transactions/{uuid.uuid4()}/"), 404, "not_found")
    hidden.pop("request_id"), missing.pop("request_id")
    assert hidden == missing
    assert_problem(api.get(f"/api/v1/deposits/{their_deposit['id']}/"), 404, "not_found")
    assert_problem(api.get(f"/api/v1/withdrawals/{their_withdrawal['id']}/"), 404, "not_found")
    for path in ["transactions", "deposits", "withdrawals", "transfers"]:
        listed = [txn["id"] for txn in assert_page(api.get(f"/api/v1/{path}/"))["results"]]
        assert their_deposit["id"] not in listed
        assert their_withdrawal["id"] not in listed
    assert [txn["id"] for txn in assert_page(api.get("/api/v1/transactions/"))["results"]] == [mine["id"]]


def test_staff_see_every_transaction_with_all_legs_including_the_system_account(
    staff_api, api, other_api, account, other_user
):
    theirs = AccountFactory(owner=other_user)
    mine = deposited(api, account.public_id, "10.00")
    their = deposited(other_api, theirs.public_id, "2.00")
    listed = [txn["id"] for txn in assert_page(staff_api.get("/api/v1/transactions/"))["results"]]
    assert listed[:2] == [their["id"], mine["id"]]

    staff_view = assert_json(staff_api.get(f"/api/v1/deposits/{mine['id']}/"), 200)
    assert sorted(staff_view["postings"], key=lambda leg: leg["amount"]) == [
        {"account_id": _system_account_id("USD"), "amount": "-10.00", "balance_after": None, "sequence": None},
        {"account_id": str(account.public_id), "amount": "10.00", "balance_after": "10.00", "sequence": 1},
    ]
    # The system account itself is readable by staff; its balance is the money that came in,
    # the same in the account, on the balance endpoint and as its postings add up in its history.
    world = _system_account_id("USD")
    assert balance_of(staff_api, world) == "-12.00"
    assert assert_json(staff_api.get(f"/api/v1/accounts/{world}/"), 200)["balance"] == "-12.00"
    history = assert_page(staff_api.get(f"/api/v1/accounts/{world}/history/", {"page_size": 1}))
    assert [(row["transaction_id"], row["amount"], row["balance_after"]) for row in history["results"]] == [
        (their["id"], "-2.00", None)
    ]
    rest = assert_page(staff_api.get(history["next"]))["results"]
    assert [(row["transaction_id"], row["amount"]) for row in rest] == [(mine["id"], "-10.00")]


def test_staff_may_act_on_any_clients_account(staff_api, api, account):
    txn = deposited(staff_api, account.public_id, "15.00")
    assert len(txn["postings"]) == 2
    assert_json(withdraw(staff_api, account.public_id, "5.00"), 201)
    assert balance_of(api, account.public_id) == "10.00"
    assert txn["id"] in [t["id"] for t in assert_page(api.get("/api/v1/deposits/"))["results"]]
    assert_books_balance()


def test_nobody_posts_to_a_system_account_directly(staff_api, account):
    system_id = _system_account_id("USD")
    before = ledger_snapshot()
    assert_problem(deposit(staff_api, system_id, "1.00"), 400, "validation_error", fields=("account_id",))
    assert_problem(withdraw(staff_api, system_id, "1.00"), 400, "validation_error", fields=("account_id",))
    assert ledger_snapshot() == before


# --- Reversals -----------------------------------------------------------------------------


def test_a_client_that_is_not_staff_may_not_reverse(api, account):
    txn = deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    assert_problem(reverse(api, txn["id"]), 403, "permission_denied")
    # Not even learning whether an id exists.
    assert_problem(reverse(api, uuid.uuid4()), 403, "permission_denied")
    assert ledger_snapshot() == before
    assert assert_json(api.get(f"/api/v1/transactions/{txn['id']}/"), 200)["status"] == "posted"


def test_staff_reverse_a_deposit(staff_api, api, account):
    original = deposited(api, account.public_id, "10.00")
    response = reverse(staff_api, original["id"], "entered twice")
    reversal = assert_json(response, 201)
    assert set(reversal) == TRANSACTION_KEYS
    assert reversal["kind"] == "reversal"
    assert reversal["status"] == "posted"
    assert reversal["reverses"] == original["id"]
    assert reversal["reversed_by"] is None
    assert reversal["amount"] == "10.00"
    assert reversal["currency"] == "USD"
    assert reversal["description"] == "entered twice"
    assert sorted(reversal["postings"], key=lambda leg: leg["amount"]) == [
        {"account_id": str(account.public_id), "amount": "-10.00", "balance_after": "0.00", "sequence": 2},
        {"account_id": _system_account_id("USD"), "amount": "10.00", "balance_after": None, "sequence": None},
    ]

    for client in (api, staff_api):
        now = assert_json(client.get(f"/api/v1/transactions/{original['id']}/"), 200)
        assert now["status"] == "reversed"
        assert now["reversed_by"] == reversal["id"]
        assert now["reverses"] is None
    assert assert_json(api.get(f"/api/v1/deposits/{original['id']}/"), 200)["status"] == "reversed"
    assert balance_of(api, account.public_id) == "0.00"
    # The owner sees the reversal in its lists and in the account history.
    assert assert_page(api.get("/api/v1/transactions/"))["results"][0]["id"] == reversal["id"]
    rows = assert_page(api.get(f"/api/v1/accounts/{account.public_id}/history/"))["results"]
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in rows] == [
        ("reversal", "-10.00", "0.00"),
        ("deposit", "10.00", "10.00"),
    ]
    assert_books_balance()


def test_staff_reverse_a_transfer(staff_api, api, other_api, account, other_user):
    payee = AccountFactory(owner=other_user)
    deposited(api, account.public_id, "10.00")
    original = assert_json(transfer(api, account.public_id, payee.public_id, "4.00"), 201)
    reversal = assert_json(reverse(staff_api, original["id"]), 201)
    assert reversal["source_account_id"] == str(payee.public_id)
    assert reversal["destination_account_id"] == str(account.public_id)
    assert balance_of(api, account.public_id) == "10.00"
    assert balance_of(other_api, payee.public_id) == "0.00"
    # Each side sees the reversal, with its own leg only.
    assert assert_json(api.get(f"/api/v1/transactions/{reversal['id']}/"), 200)["postings"] == [
        {"account_id": str(account.public_id), "amount": "4.00", "balance_after": "10.00", "sequence": 3}
    ]
    assert assert_json(other_api.get(f"/api/v1/transactions/{reversal['id']}/"), 200)["postings"] == [
        {"account_id": str(payee.public_id), "amount": "-4.00", "balance_after": "0.00", "sequence": 2}
    ]
    assert_books_balance()


def test_staff_reverse_a_withdrawal(staff_api, api, account):
    deposited(api, account.public_id, "10.00")
    original = assert_json(withdraw(api, account.public_id, "6.00"), 201)
    assert_json(reverse(staff_api, original["id"]), 201)
    assert balance_of(api, account.public_id) == "10.00"
    assert_books_balance()


def test_a_second_reversal_is_already_reversed(staff_api, api, account):
    original = deposited(api, account.public_id, "10.00")
    assert_json(reverse(staff_api, original["id"]), 201)
    before = ledger_snapshot()
    assert_problem(reverse(staff_api, original["id"]), 422, "already_reversed")
    assert ledger_snapshot() == before


def test_a_reversal_cannot_be_reversed(staff_api, api, account):
    original = deposited(api, account.public_id, "10.00")
    reversal = assert_json(reverse(staff_api, original["id"]), 201)
    before = ledger_snapshot()
    assert_problem(reverse(staff_api, reversal["id"]), 422, "reversal_not_allowed")
    assert ledger_snapshot() == before


def test_a_reversal_that_would_overdraw_is_insufficient_funds(staff_api, api, account):
    original = deposited(api, account.public_id, "10.00")
    assert_json(withdraw(api, account.public_id, "8.00"), 201)
    before = ledger_snapshot()
    assert_problem(reverse(staff_api, original["id"]), 422, "insufficient_funds")
    assert ledger_snapshot() == before
    assert assert_json(api.get(f"/api/v1/transactions/{original['id']}/"), 200)["status"] == "posted"


def test_a_reversal_touching_a_frozen_account_is_account_inactive(staff_api, api, account):
    original = deposited(api, account.public_id, "10.00")
    Account.objects.filter(pk=account.pk).update(status="frozen")
    before = ledger_snapshot()
    assert_problem(reverse(staff_api, original["id"]), 422, "account_inactive")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("txn_id", ["3f2c5b9e-1d2a-4c3b-8e4f-5a6b7c8d9e0f", "not-a-uuid"])
def test_reversing_an_unknown_transaction_is_not_found(staff_api, txn_id):
    assert_problem(reverse(staff_api, txn_id), 404, "not_found")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": None}, {"reason": "r" * 501}])
def test_a_reversal_needs_a_reason(staff_api, api, account, body):
    original = deposited(api, account.public_id, "10.00")
    before = ledger_snapshot()
    response = staff_api.post(
        f"/api/v1/transactions/{original['id']}/reverse/", body, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert_problem(response, 400, "validation_error", fields=("reason",))
    assert ledger_snapshot() == before

"""Accounts: open, list, read; the balance now and at an instant; the history of postings."""

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from accounts.models import Account
from tests.api.helpers import (
    ACCOUNT_KEYS,
    HISTORY_KEYS,
    assert_json,
    assert_page,
    assert_problem,
    balance_of,
    deposited,
    open_account,
    parse_instant,
    transfer,
    withdraw,
)
from tests.factories import AccountFactory

# --- Opening accounts ------------------------------------------------------------------------


def test_open_account_answers_201_with_the_account(api, user):
    response = api.post(
        "/api/v1/accounts/",
        {"currency": "USD", "name": "Operating", "metadata": {"team": "ops", "tags": ["a", "b"], "n": 3}},
        format="json",
    )
    account = assert_json(response, 201)
    assert set(account) == ACCOUNT_KEYS
    assert uuid.UUID(account["id"])
    assert account["name"] == "Operating"
    assert account["currency"] == "USD"
    assert account["balance"] == "0.00"
    assert account["status"] == "active"
    assert account["metadata"] == {"team": "ops", "tags": ["a", "b"], "n": 3}
    parse_instant(account["created_at"])
    parse_instant(account["updated_at"])
    assert Account.objects.get(public_id=account["id"]).owner == user
    # Reading it back gives the same document.
    assert assert_json(api.get(f"/api/v1/accounts/{account['id']}/"), 200) == account


def test_opening_with_an_idempotency_key_answers_a_retry_with_the_same_account(api, user):
    body = {"currency": "USD", "name": "Payroll"}
    first = api.post("/api/v1/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-payroll")
    again = api.post("/api/v1/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-payroll")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Account.objects.filter(owner=user, name="Payroll").count() == 1


def test_the_same_opening_key_with_another_body_is_refused_and_opens_nothing(api, user):
    api.post("/api/v1/accounts/", {"currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY="open-once")
    refused = api.post("/api/v1/accounts/", {"currency": "EUR"}, format="json", HTTP_IDEMPOTENCY_KEY="open-once")

    assert assert_problem(refused, 422, "idempotency_key_reused")
    assert list(Account.objects.filter(owner=user).values_list("currency", flat=True)) == ["USD"]


def test_without_a_key_each_opening_opens_another_account(api, user):
    open_account(api, "USD")
    open_account(api, "USD")
    assert Account.objects.filter(owner=user).count() == 2


def test_a_malformed_opening_key_is_refused(api, user):
    refused = api.post("/api/v1/accounts/", {"currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY="")
    assert assert_problem(refused, 400, "idempotency_key_required")
    assert not Account.objects.filter(owner=user).exists()


def test_open_account_with_only_a_currency(api):
    account = open_account(api, "EUR")
    assert account["name"] == ""
    assert account["metadata"] == {}
    assert account["balance"] == "0.00"


def test_a_jpy_balance_has_no_decimals(api):
    assert open_account(api, "JPY")["balance"] == "0"


@pytest.mark.parametrize("currency", ["XXX", "usd", "", "EURO", "US", "XTS", 840, None, ["USD"]])
def test_an_unknown_currency_is_a_validation_error_naming_currency(api, currency):
    before = Account.objects.count()
    response = api.post("/api/v1/accounts/", {"currency": currency}, format="json")
    assert_problem(response, 400, "validation_error", fields=("currency",))
    assert Account.objects.count() == before


def test_a_missing_currency_is_a_validation_error_naming_currency(api):
    assert_problem(
        api.post("/api/v1/accounts/", {"name": "x"}, format="json"), 400, "validation_error", fields=("currency",)
    )


@pytest.mark.parametrize("metadata", [[1, 2], "text", 3, True, None])
def test_account_metadata_must_be_an_object(api, metadata):
    response = api.post("/api/v1/accounts/", {"currency": "USD", "metadata": metadata}, format="json")
    assert_problem(response, 400, "validation_error", fields=("metadata",))


def test_an_overlong_name_is_a_validation_error(api):
    response = api.post("/api/v1/accounts/", {"currency": "USD", "name": "n" * 201}, format="json")
    assert_problem(response, 400, "validation_error", fields=("name",))


# --- Listing and reading -------------------------------------------------------------------


def test_a_client_lists_only_its_own_accounts_newest_first(api, other_api):
    first = open_account(api, "USD")
    open_account(other_api, "USD")
    second = open_account(api, "JPY")
    page = assert_page(api.get("/api/v1/accounts/"))
    assert [account["id"] for account in page["results"]] == [second["id"], first["id"]]
    assert all(set(account) == ACCOUNT_KEYS for account in page["results"])
    assert page["next"] is None
    assert page["previous"] is None


def test_staff_list_every_account_including_system_accounts(staff_api, api, other_api):
    mine = open_account(api, "USD")
    theirs = open_account(other_api, "GBP")
    ids = {account["id"] for account in assert_page(staff_api.get("/api/v1/accounts/", {"page_size": 200}))["results"]}
    system_ids = {str(pk) for pk in Account.objects.filter(is_system=True).values_list("public_id", flat=True)}
    assert {mine["id"], theirs["id"]} <= ids
    assert system_ids  # opening the accounts created the USD and GBP system accounts
    assert system_ids <= ids


@pytest.mark.parametrize("suffix", ["", "balance/", "history/"])
def test_another_clients_account_is_not_found_never_forbidden(api, other_user, suffix):
    theirs = AccountFactory(owner=other_user)
    assert_problem(api.get(f"/api/v1/accounts/{theirs.public_id}/{suffix}"), 404, "not_found")


@pytest.mark.parametrize("suffix", ["", "balance/", "history/"])
def test_another_clients_account_answers_exactly_like_an_unknown_one(api, other_user, suffix):
    theirs = AccountFactory(owner=other_user)
    foreign = assert_problem(api.get(f"/api/v1/accounts/{theirs.public_id}/{suffix}"), 404, "not_found")
    unknown = assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/{suffix}"), 404, "not_found")
    foreign.pop("request_id"), unknown.pop("request_id")
    assert foreign == unknown


@pytest.mark.parametrize("suffix", ["", "balance/", "history/"])
def test_an_unknown_account_is_not_found(api, suffix):
    assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/{suffix}"), 404, "not_found")


@pytest.mark.parametrize("account_id", ["not-a-uuid", "123", "0" * 40])
@pytest.mark.parametrize("suffix", ["", "balance/", "history/"])
def test_a_malformed_account_id_is_not_found(api, account_id, suffix):
    assert_problem(api.get(f"/api/v1/accounts/{account_id}/{suffix}"), 404, "not_found")


@pytest.mark.parametrize("suffix", ["", "balance/", "history/"])
def test_staff_read_any_clients_account(staff_api, account, suffix):
    assert_json(staff_api.get(f"/api/v1/accounts/{account.public_id}/{suffix}"), 200)


def test_the_account_balance_reflects_postings(api, account):
    deposited(api, account.public_id, "100.00")
    assert_json(withdraw(api, account.public_id, "0.01"), 201)
    account_doc = assert_json(api.get(f"/api/v1/accounts/{account.public_id}/"), 200)
    assert account_doc["balance"] == "99.99"


# --- Balance -----------------------------------------------------------------------------------


def test_balance_now(api, account):
    deposited(api, account.public_id, "12.34")
    body = assert_json(api.get(f"/api/v1/accounts/{account.public_id}/balance/"), 200)
    assert set(body) == {"account_id", "currency", "balance", "available_balance", "as_of"}
    assert body["account_id"] == str(account.public_id)
    assert body["currency"] == "USD"
    assert body["balance"] == "12.34"
    assert body["available_balance"] == "12.34"
    parse_instant(body["as_of"])


def _post_spaced_deposits(api, account_id, amounts):
    """Deposit each amount, pausing so that consecutive postings have distinct instants."""
    created = []
    for amount in amounts:
        created.append(parse_instant(deposited(api, account_id, amount)["created_at"]))
        time.sleep(0.005)
    assert created == sorted(created)
    assert len(set(created)) == len(created)
    return created


def test_balance_at_an_instant_is_the_balance_as_it_stood_then(api, account):
    first, second, third = _post_spaced_deposits(api, account.public_id, ["10.00", "20.50", "0.01"])

    def balance_at(instant):
        return balance_of(api, account.public_id, at=instant.isoformat())

    assert balance_at(first - timedelta(seconds=1)) == "0.00"
    assert balance_at(first - timedelta(microseconds=1)) == "0.00"
    assert balance_at(first) == "10.00"
    assert balance_at(first + (second - first) / 2) == "10.00"
    assert balance_at(second - timedelta(microseconds=1)) == "10.00"
    assert balance_at(second) == "30.50"
    assert balance_at(second + (third - second) / 2) == "30.50"
    assert balance_at(third) == "30.51"
    assert balance_at(third + timedelta(days=1)) == "30.51"
    assert balance_of(api, account.public_id) == "30.51"


def test_balance_at_an_instant_after_a_withdrawal(api, account):
    deposited(api, account.public_id, "50.00")
    time.sleep(0.005)
    withdrawal = assert_json(withdraw(api, account.public_id, "20.00"), 201)
    time.sleep(0.005)
    deposited(api, account.public_id, "1.00")
    at = parse_instant(withdrawal["created_at"])
    assert balance_of(api, account.public_id, at=at.isoformat()) == "30.00"
    assert balance_of(api, account.public_id, at=(at - timedelta(microseconds=1)).isoformat()) == "50.00"


def test_balance_at_echoes_the_instant_and_honours_its_offset(api, account):
    (created,) = _post_spaced_deposits(api, account.public_id, ["7.00"])
    plus_two = created.astimezone(timezone(timedelta(hours=2)))
    body = assert_json(api.get(f"/api/v1/accounts/{account.public_id}/balance/", {"at": plus_two.isoformat()}), 200)
    assert body["balance"] == "7.00"
    assert parse_instant(body["as_of"]) == created
    earlier = (created - timedelta(microseconds=1)).astimezone(timezone(timedelta(hours=-5)))
    assert balance_of(api, account.public_id, at=earlier.isoformat()) == "0.00"


def test_balance_at_for_jpy_has_no_decimals(api, user):
    account = open_account(api, "JPY")
    (created,) = _post_spaced_deposits(api, account["id"], ["1500"])
    assert balance_of(api, account["id"], at=created.isoformat()) == "1500"
    assert balance_of(api, account["id"], at=(created - timedelta(seconds=1)).isoformat()) == "0"


@pytest.mark.parametrize("ahead", [timedelta(seconds=5), timedelta(days=3650), None])
def test_balance_at_a_future_instant_is_the_balance_now_labelled_now(api, account, ahead):
    """The books say nothing yet about a later instant: the answer is the balance now, ``as_of`` now."""
    deposited(api, account.public_id, "12.00")
    before = datetime.now(UTC)
    at = "9999-12-31T23:59:59.999999+00:00" if ahead is None else (before + ahead).isoformat()
    body = assert_json(api.get(f"/api/v1/accounts/{account.public_id}/balance/", {"at": at}), 200)
    assert body["balance"] == "12.00"
    assert before <= parse_instant(body["as_of"]) <= datetime.now(UTC)


@pytest.mark.parametrize(
    "at",
    [
        "nonsense",
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "yesterday",
        "1700000000",
        "2024-01-01T00:00:00Z\n",
        "2024-01-01",  # a day is not an instant
        "\u0662\u0660\u0662\u0664-01-01T00:00:00Z",  # other scripts' digits
        "0000-01-01T00:00:00Z",
    ],
)
def test_an_invalid_at_is_a_validation_error(api, account, at):
    response = api.get(f"/api/v1/accounts/{account.public_id}/balance/", {"at": at})
    assert_problem(response, 400, "validation_error", fields=("at",))


# --- History -----------------------------------------------------------------------------------


def test_history_is_newest_first_with_signed_amounts_and_running_balances(api, other_api, account, other_user):
    theirs = AccountFactory(owner=other_user)
    deposit_doc = deposited(api, account.public_id, "100.00", description="salary", reference="r-1")
    withdrawal = assert_json(withdraw(api, account.public_id, "30.25", description="cash"), 201)
    outgoing = assert_json(transfer(api, account.public_id, theirs.public_id, "20.00", reference="inv-7"), 201)
    their_deposit = deposited(other_api, theirs.public_id, "10.00")
    incoming = assert_json(transfer(other_api, theirs.public_id, account.public_id, "5.00"), 201)

    page = assert_page(api.get(f"/api/v1/accounts/{account.public_id}/history/"))
    rows = page["results"]
    assert all(set(row) == HISTORY_KEYS for row in rows)
    assert [(row["transaction_id"], row["kind"], row["amount"], row["balance_after"]) for row in rows] == [
        (incoming["id"], "transfer", "5.00", "54.75"),
        (outgoing["id"], "transfer", "-20.00", "49.75"),
        (withdrawal["id"], "withdrawal", "-30.25", "69.75"),
        (deposit_doc["id"], "deposit", "100.00", "100.00"),
    ]
    assert rows[3]["description"] == "salary"
    assert rows[3]["reference"] == "r-1"
    assert rows[2]["description"] == "cash"
    assert rows[1]["reference"] == "inv-7"
    instants = [parse_instant(row["created_at"]) for row in rows]
    assert instants == sorted(instants, reverse=True)
    # The payee's history shows the incoming side of the same transfer.
    their_rows = assert_page(other_api.get(f"/api/v1/accounts/{theirs.public_id}/history/"))["results"]
    assert [(row["transaction_id"], row["amount"]) for row in their_rows] == [
        (incoming["id"], "-5.00"),
        (their_deposit["id"], "10.00"),
        (outgoing["id"], "20.00"),
    ]


def test_history_of_a_jpy_account_has_no_decimals(api):
    account = open_account(api, "JPY")
    deposited(api, account["id"], "1000")
    assert_json(withdraw(api, account["id"], 1), 201)
    rows = assert_page(api.get(f"/api/v1/accounts/{account['id']}/history/"))["results"]
    assert [(row["amount"], row["balance_after"]) for row in rows] == [("-1", "999"), ("1000", "1000")]


def test_history_of_a_new_account_is_empty(api, account):
    page = assert_page(api.get(f"/api/v1/accounts/{account.public_id}/history/"))
    assert page == {"next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("deposit", ["deposit", "deposit"]), ("withdrawal", ["withdrawal"]), ("transfer", ["transfer"]), ("reversal", [])],
)
def test_history_filtered_by_kind(api, account, other_user, kind, expected):
    theirs = AccountFactory(owner=other_user)
    deposited(api, account.public_id, "10.00")
    assert_json(withdraw(api, account.public_id, "1.00"), 201)
    assert_json(transfer(api, account.public_id, theirs.public_id, "2.00"), 201)
    deposited(api, account.public_id, "3.00")
    rows = assert_page(api.get(f"/api/v1/accounts/{account.public_id}/history/", {"kind": kind}))["results"]
    assert [row["kind"] for row in rows] == expected


@pytest.mark.parametrize("kind", ["nonsense", "DEPOSIT", "deposits", " deposit"])
def test_history_with_an_invalid_kind_is_a_validation_error(api, account, kind):
    response = api.get(f"/api/v1/accounts/{account.public_id}/history/", {"kind": kind})
    assert_problem(response, 400, "validation_error", fields=("kind",))


def test_an_empty_kind_means_no_filter(api, account):
    """The app treats ``?kind=`` (empty) like an absent filter, as REST framework does for query fields."""
    deposited(api, account.public_id, "5.00")
    assert_json(withdraw(api, account.public_id, "1.00"), 201)
    rows = assert_page(api.get(f"/api/v1/accounts/{account.public_id}/history/", {"kind": ""}))["results"]
    assert [row["kind"] for row in rows] == ["withdrawal", "deposit"]


def test_history_filtered_by_creation_instant(api, account):
    first, second, third = _post_spaced_deposits(api, account.public_id, ["1.00", "2.00", "3.00"])
    url = f"/api/v1/accounts/{account.public_id}/history/"

    def amounts(**params):
        return [row["amount"] for row in assert_page(api.get(url, params))["results"]]

    # created_after is inclusive, created_before exclusive (as the schema says).
    assert amounts(created_after=second.isoformat()) == ["3.00", "2.00"]
    assert amounts(created_after=(second + timedelta(microseconds=1)).isoformat()) == ["3.00"]
    assert amounts(created_before=second.isoformat()) == ["1.00"]
    assert amounts(created_after=first.isoformat(), created_before=third.isoformat()) == ["2.00", "1.00"]
    assert amounts(created_after=third.isoformat(), created_before=first.isoformat()) == []
    assert amounts(created_before=(first - timedelta(seconds=1)).isoformat()) == []


@pytest.mark.parametrize("param", ["created_after", "created_before"])
def test_history_with_an_invalid_instant_is_a_validation_error(api, account, param):
    response = api.get(f"/api/v1/accounts/{account.public_id}/history/", {param: "last tuesday"})
    assert_problem(response, 400, "validation_error", fields=(param,))

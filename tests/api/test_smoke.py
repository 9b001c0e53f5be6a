"""A first end-to-end pass through the API: open, deposit, transfer, withdraw."""

from harness.books import assert_books_balance
from tests.factories import AccountFactory


def test_deposit_transfer_withdraw_move_money_and_keep_the_books(api, account, other_user):
    payee = AccountFactory(owner=other_user)
    deposit = api.post(
        "/api/v1/deposits/", {"account_id": str(account.public_id), "amount": "100.00"}, HTTP_IDEMPOTENCY_KEY="d1"
    )
    assert deposit.status_code == 201, deposit.content
    transfer = api.post(
        "/api/v1/transfers/",
        {"source_account_id": str(account.public_id), "destination_account_id": str(payee.public_id), "amount": "40"},
        HTTP_IDEMPOTENCY_KEY="t1",
    )
    assert transfer.status_code == 201, transfer.content
    withdrawal = api.post(
        "/api/v1/withdrawals/", {"account_id": str(account.public_id), "amount": 10.5}, HTTP_IDEMPOTENCY_KEY="w1"
    )
    assert withdrawal.status_code == 201, withdrawal.content
    balance = api.get(f"/api/v1/accounts/{account.public_id}/balance/").json()
    assert balance["balance"] == "49.50"
    assert_books_balance()

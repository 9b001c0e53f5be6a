"""A first conversation over a real channel: open an account, deposit, read the balance back."""

import pytest

from accounts.models import Account
from grpc_api.v1 import accounts_pb2, transactions_pb2
from tests.grpc.helpers import refused

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_client_opens_an_account_deposits_and_reads_its_balance(ledger_as, user):
    ledger = ledger_as(user)
    account = ledger.call(
        ledger.accounts.OpenAccount,
        accounts_pb2.OpenAccountRequest(idempotency_key="open-main", currency="USD", name="main"),
    )
    deposit = ledger.call(
        ledger.transactions.CreateDeposit,
        transactions_pb2.CreateDepositRequest(
            idempotency_key="first-deposit",
            deposit=transactions_pb2.DepositInput(account_id=account.id, amount="10.50"),
        ),
    )
    balance = ledger.call(ledger.accounts.GetBalance, accounts_pb2.GetBalanceRequest(account_id=account.id))

    assert (deposit.kind, deposit.amount, deposit.currency) == ("deposit", "10.50", "USD")
    assert [(leg.account_id, leg.amount, leg.balance_after) for leg in deposit.postings] == [
        (account.id, "10.50", "10.50")
    ]
    assert (balance.balance, balance.available_balance) == ("10.50", "10.50")
    assert Account.objects.get(public_id=account.id).owner == user


def test_a_call_without_a_token_is_unauthenticated(ledger_as):
    anonymous = ledger_as(None)
    found = refused(anonymous.accounts.ListAccounts, accounts_pb2.ListAccountsRequest(), anonymous)
    assert (found.code.name, found.reason, found.domain) == ("UNAUTHENTICATED", "not_authenticated", "ledger")

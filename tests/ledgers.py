"""A small ledger written through the posting service: what the command and console tests reconcile, damage and show."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Account
from tests.factories import AccountFactory, StaffFactory, UserFactory
from transactions.models import Posting, Transaction
from transactions.services import deposit_create, transaction_reverse, transfer_create, withdrawal_create


@dataclass
class Ledger:
    """Alice and Bob hold USD, Carol EUR; money came in, moved, went out, and one transfer was reversed."""

    alice: Account
    bob: Account
    carol: Account
    usd_world: Account
    deposit: Transaction
    transfer: Transaction
    withdrawal: Transaction
    reversed_transfer: Transaction
    reversal: Transaction

    def refresh(self) -> None:
        """Read the accounts again from the database."""
        for account in (self.alice, self.bob, self.carol, self.usd_world):
            account.refresh_from_db()


def build_ledger() -> Ledger:
    """Write the :class:`Ledger` through the posting service and return it."""
    owner, other = UserFactory(), UserFactory()
    staff = StaffFactory()
    alice = AccountFactory(owner=owner, currency="USD", name="Alice")
    bob = AccountFactory(owner=other, currency="USD", name="Bob")
    carol = AccountFactory(owner=other, currency="EUR", name="Carol")
    deposit = deposit_create(actor=owner, account_id=alice.public_id, amount=Decimal("100.00"))
    deposit_create(actor=other, account_id=bob.public_id, amount=Decimal("20.00"))
    deposit_create(actor=other, account_id=carol.public_id, amount=Decimal("7.50"))
    transfer = transfer_create(
        actor=owner, source_account_id=alice.public_id, destination_account_id=bob.public_id, amount=Decimal("30.25")
    )
    withdrawal = withdrawal_create(actor=other, account_id=bob.public_id, amount=Decimal("5.00"))
    reversed_transfer = transfer_create(
        actor=owner, source_account_id=alice.public_id, destination_account_id=bob.public_id, amount=Decimal("1.10")
    )
    reversal = transaction_reverse(actor=staff, transaction_id=reversed_transfer.public_id, reason="sent by mistake")
    deposit_create(actor=owner, account_id=alice.public_id, amount=Decimal("3.00"))
    ledger = Ledger(
        alice=alice,
        bob=bob,
        carol=carol,
        usd_world=Account.objects.get(is_system=True, currency="USD"),
        deposit=deposit,
        transfer=transfer,
        withdrawal=withdrawal,
        reversed_transfer=reversed_transfer,
        reversal=reversal,
    )
    ledger.refresh()
    return ledger


def posting(account: Account, sequence: int) -> Posting:
    """Return ``account``'s posting number ``sequence``."""
    return Posting.objects.get(account=account, sequence=sequence)

"""The journal: transactions prepared against locked accounts, then written together.

The posting service locks the accounts, then adds each transaction to a :class:`Journal`:
``add`` checks the legs against the accounts' balances as they stand after the entries
already added (so a batch sees its own earlier movements), and changes nothing in the
database. ``write`` then stores every entry in three statements: the transactions, their
postings, and the new balances and sequence numbers of the accounts touched. A refusal
therefore always comes before the first write.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.utils import timezone

from accounts.models import Account
from ledger_project import metrics
from transactions.errors import InsufficientFunds, LimitExceeded
from transactions.models import Posting, Transaction
from transactions.money import BALANCE_LIMIT

logger = logging.getLogger("transactions.services")

Leg = tuple[Account, int]  # (a locked account, signed amount in minor units)


class Journal:
    """Entries of one database transaction, by one actor, at one instant."""

    def __init__(self, actor: AbstractBaseUser) -> None:
        self.actor = actor
        self.now = timezone.now()
        self._entries: list[tuple[Transaction, list[Posting]]] = []
        self._touched: dict[int, Account] = {}

    def add(
        self,
        *,
        kind: str,
        currency: str,
        amount_minor: int,
        legs: list[Leg],
        source: Account | None,
        destination: Account | None,
        description: str = "",
        reference: str = "",
        metadata: dict[str, Any] | None = None,
        reverses: Transaction | None = None,
    ) -> Transaction:
        """Check the legs (no customer balance below zero, none beyond the limit) and stage them."""
        assert sum(amount for _, amount in legs) == 0, "a transaction's postings must sum to zero"
        for account, amount in legs:
            new_balance = account.balance_minor + amount
            if not account.is_system and new_balance < 0:
                raise InsufficientFunds(f"Account {account.public_id} holds too little for this posting.")
            if abs(new_balance) > BALANCE_LIMIT:
                raise LimitExceeded()

        txn = Transaction(
            kind=kind,
            amount_minor=amount_minor,
            currency=currency,
            source_account=source,
            destination_account=destination,
            description=description,
            reference=reference,
            metadata=metadata or {},
            posted_by=self.actor,
            reverses=reverses,
            created_at=self.now,
        )
        postings = []
        for account, amount in legs:
            account.balance_minor += amount
            account.last_sequence += 1
            account.updated_at = self.now
            self._touched[account.pk] = account
            postings.append(
                Posting(
                    transaction=txn,
                    account=account,
                    amount_minor=amount,
                    balance_after_minor=account.balance_minor,
                    sequence=account.last_sequence,
                    created_at=self.now,
                )
            )
        self._entries.append((txn, postings))
        return txn

    def write(self, **transaction_fields: Any) -> list[Transaction]:
        """Store every staged entry in three statements; ``transaction_fields`` apply to each."""
        transactions = [txn for txn, _ in self._entries]
        for txn in transactions:
            for name, value in transaction_fields.items():
                setattr(txn, name, value)
        Transaction.objects.bulk_create(transactions)
        Posting.objects.bulk_create([posting for _, postings in self._entries for posting in postings])
        Account.objects.bulk_update(self._touched.values(), ["balance_minor", "last_sequence", "updated_at"])
        for txn, postings in self._entries:
            # What the API renders is all in memory: the postings, and no reversal yet.
            txn._prefetched_objects_cache = {"postings": postings}
            Transaction.reversed_by.related.set_cached_value(txn, None)
        db_transaction.on_commit(lambda: _posted(transactions))
        return transactions


def _posted(transactions: list[Transaction]) -> None:
    """After commit: count the transactions and log their ids (no owners, no secrets)."""
    for txn in transactions:
        metrics.TRANSACTIONS_POSTED.labels(txn.kind, txn.currency).inc()
        logger.info(
            "posted %s %s",
            txn.kind,
            txn.public_id,
            extra={"transaction_id": str(txn.public_id), "kind": txn.kind, "currency": txn.currency},
        )

"""The journal: transactions prepared against locked accounts, then written together.

The posting service locks the accounts, then adds each transaction to a :class:`Journal`:
``add`` checks the legs against the accounts' balances as they stand after the entries
already added (so a batch sees its own earlier movements), and changes nothing in the
database. ``write`` then stores every entry and binds the idempotency key, if any, to the
answer: on PostgreSQL in one statement (the transactions, their postings, the new balances
and sequence numbers of the accounts touched, and the idempotency record, as data-modifying
CTEs), elsewhere in one statement each. A refusal therefore always comes before the first write.

One statement instead of four saves three round trips to the database per posting, each
taken while the accounts' row locks are held (see docs/benchmarks.md); the database checks
exactly the same constraints and triggers either way. The record carries the rendered
answer, which needs the transaction's id: the locking query draws it from the sequence
(:func:`transactions.engine.locking.lock_accounts`). A batch, whose ids are not drawn in advance,
binds its answer in a second statement.

The same statement writes the events (``events.outbox``): a ``transaction.posted`` for every
transaction, and those the caller adds with :meth:`Journal.emit` (the reversed original, the
captured hold). An event therefore exists exactly when its transaction committed.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from accounts.models import Account, Hold
from events import outbox
from ledger import metrics
from transactions.engine import bulk, orm, rules
from transactions.engine.events import posted_event
from transactions.models import Posting, Transaction

if TYPE_CHECKING:
    from ledger.users import User
    from transactions.engine.idempotency import IdempotencyClaim

logger = logging.getLogger("transactions.services")

Leg = tuple[Account, int]  # (a locked account, signed amount in minor units)


class Journal:
    """Entries of one database transaction, by one actor, at one instant."""

    def __init__(self, actor: User, *, transaction_id: int | None = None) -> None:
        """Start the journal of ``actor``'s entries, all stamped with this instant.

        ``transaction_id``: an id already drawn from the sequence for the first transaction
        added (see :func:`transactions.engine.locking.lock_accounts`).
        """
        self.actor = actor
        self.now = timezone.now()
        self._entries: list[tuple[Transaction, list[Posting]]] = []
        self._touched: dict[int, Account] = {}
        self._reserved_id = transaction_id
        self.holds: list[Hold] = []  # Holds a batch places with its movements (transactions.holds stores them).
        self._events: list[
            Callable[[], outbox.Draft]
        ] = []  # Events the caller adds, written after each transaction.posted.

    @property
    def has_entries(self) -> bool:
        """Whether any transaction was added (a batch of holds alone adds none)."""
        return bool(self._entries)

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
        hold: Hold | None = None,
    ) -> Transaction:
        """Check the legs (no available balance below zero, none beyond the limit) and stage them.

        A leg on a system account is checked against nothing and numbered nothing: the outside
        world keeps no running balance (``accounts.models``), so no client can exhaust it. A
        capture (``hold``) has already released what it takes from the account's reservation,
        which the journal writes with the balance.
        """
        rules.require_balanced(legs)
        for account, amount in legs:
            rules.require_balance_after(account, amount)

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
            hold=hold,
            created_at=self.now,
        )
        if self._reserved_id is not None and not self._entries:
            txn.pk = self._reserved_id  # Before the postings take it as their transaction_id.
        postings = []
        for account, amount in legs:
            if account.is_system:
                balance_after = sequence = None
            else:
                account.balance_minor += amount
                account.last_sequence += 1
                account.updated_at = self.now
                self._touched[account.pk] = account
                balance_after, sequence = account.balance_minor, account.last_sequence
            postings.append(
                Posting(
                    transaction=txn,
                    account=account,
                    amount_minor=amount,
                    balance_after_minor=balance_after,
                    sequence=sequence,
                    created_at=self.now,
                )
            )
        self._entries.append((txn, postings))
        return txn

    def emit(self, event: Callable[[], outbox.Draft]) -> None:
        """Add an event to write with the entries, after their ``transaction.posted`` events.

        ``event`` renders it when the transactions have their ids, just before they are written
        (or, when their ids are drawn by the insert, just after).
        """
        self._events.append(event)

    def _drafts(self) -> list[outbox.Draft]:
        """Render the events of the entries: each ``transaction.posted``, then those emitted."""
        return [posted_event(txn, postings) for txn, postings in self._entries] + [event() for event in self._events]

    def write(
        self, *, bind: IdempotencyClaim[Transaction] | None = None, **transaction_fields: object
    ) -> list[Transaction]:
        """Store every staged entry; ``transaction_fields`` apply to each.

        With ``bind``, the idempotency key is bound to the answer, the single transaction
        written, in the same database transaction (a batch binds its own answer, the batch,
        afterwards).
        """
        transactions = [txn for txn, _ in self._entries]
        for txn, postings in self._entries:
            for name, value in transaction_fields.items():
                setattr(txn, name, value)
            # What the API renders is all in memory: the postings, and no reversal yet.
            orm.cache_related(txn, "postings", postings)
            orm.cache_no_reverse_one(txn, Transaction.reversed_by)
        if bind is not None and len(transactions) != 1:
            raise ValueError("bind= takes one transaction: a batch binds its own answer once written")
        if connection.vendor == "postgresql":
            self._write_postgresql(bind)
        else:
            Transaction.objects.bulk_create(transactions)
            Posting.objects.bulk_create([posting for _, postings in self._entries for posting in postings])
            Account.objects.bulk_update(self._touched.values(), [*bulk.BALANCE_COLUMNS, _RESERVATION_COLUMN])
            outbox.store(self._drafts(), now=self.now)
            if bind is not None:
                bind.bind(transactions[0])
        db_transaction.on_commit(lambda: _posted(transactions))
        return transactions

    def _write_postgresql(self, bind: IdempotencyClaim[Transaction] | None) -> None:
        """Write every transaction, posting, balance and event in one statement.

        The idempotency record and the events go in the same statement when the transaction's
        id was reserved (the answer and the events, which name it, are rendered first); without
        reserved ids (a batch), they follow in further statements.
        """
        transactions = [txn for txn, _ in self._entries]
        reserved = all(txn.pk is not None for txn in transactions)
        record = bind.record(transactions[0]) if bind is not None and reserved else None
        events = self._drafts() if reserved else []
        postings = [posting for _, legs in self._entries for posting in legs]
        # Three JSON documents rather than twenty arrays: one parameter each to send, parsed by
        # PostgreSQL rather than built as array literals in Python (docs/benchmarks.md).
        params: dict[str, Any] = {
            "txns": json.dumps(
                [
                    {
                        "n": n,
                        "id": txn.pk,
                        "public_id": str(txn.public_id),
                        "kind": txn.kind,
                        "status": txn.status,
                        "amount": txn.amount_minor,
                        "currency": txn.currency,
                        "source": txn.source_account_id,
                        "destination": txn.destination_account_id,
                        "description": txn.description,
                        "reference": txn.reference,
                        "metadata": txn.metadata,
                        "posted_by": txn.posted_by_id,
                        "reverses": txn.reverses_id,
                        "batch": txn.batch_id,
                        "hold": txn.hold_id,
                    }
                    for n, txn in enumerate(transactions)
                ],
                cls=_METADATA_ENCODER,
            ),
            "legs": json.dumps(
                [
                    {
                        "n": n,
                        "txn": str(posting.transaction.public_id),
                        "account": posting.account_id,
                        "amount": posting.amount_minor,
                        "balance": posting.balance_after_minor,
                        "sequence": posting.sequence,
                    }
                    for n, posting in enumerate(postings)
                ]
            ),
            "accounts": json.dumps(
                [
                    {
                        "id": account.pk,
                        "balance": account.balance_minor,
                        "reserved": account.reserved_minor,
                        "sequence": account.last_sequence,
                    }
                    for account in self._touched.values()
                ]
            ),
            # The same ids again as an array: PostgreSQL cannot see how few rows the JSON holds
            # (it assumes 100) and would scan every account to join them; by primary key it probes.
            "account_ids": list(self._touched),
            "now": self.now,
            **outbox.cte_params(events),
        }
        if record is not None:
            params.update(record, record_created=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_write_sql(explicit_ids=reserved, record=record is not None, events=bool(events)), params)
            txn_pks, public_ids, posting_pks, posting_txns, accounts = cursor.fetchone()
        txn_ids = dict(zip(public_ids, txn_pks, strict=True))
        # A transaction has at most one leg per account, so (transaction, account) names a posting.
        posting_ids = dict(zip(zip(posting_txns, accounts, strict=True), posting_pks, strict=True))
        for txn in transactions:
            orm.mark_saved(txn, txn_ids[txn.public_id])
        for posting in postings:
            posting.transaction = posting.transaction  # Sets transaction_id, keeps the cached object.
            orm.mark_saved(posting, posting_ids[posting.transaction_id, posting.account_id])
        if not reserved:
            outbox.store(self._drafts(), now=self.now)
        if bind is not None and record is None:
            bind.bind(transactions[0])


_METADATA_ENCODER = Transaction._meta.get_field("metadata").encoder

# The rows are inserted in the order they were staged (ORDER BY n), and their ids come back with
# their keys (a transaction's public id, a posting's transaction and account), so nothing depends
# on the order of RETURNING.
_WRITE_SQL = """
WITH txn AS (
    INSERT INTO transactions_transaction ({id_column}{transaction_columns})
    SELECT {id_value}v.public_id, v.kind, v.status, v.amount, v.currency, v.source, v.destination, v.description,
           v.reference, v.metadata, v.posted_by, v.reverses, v.batch, %(now)s, v.hold
      FROM jsonb_to_recordset(%(txns)s::jsonb)
           AS v(n integer, id bigint, public_id uuid, kind text, status text, amount bigint, currency text,
                source bigint, destination bigint, description text, reference text, metadata jsonb,
                posted_by integer, reverses bigint, batch bigint, hold bigint)
     ORDER BY v.n
    RETURNING id, public_id
), legs AS (
    INSERT INTO transactions_posting ({posting_columns})
    SELECT txn.id, l.account, l.amount, l.balance, l.sequence, %(now)s
      FROM jsonb_to_recordset(%(legs)s::jsonb)
           AS l(n integer, txn uuid, account bigint, amount bigint, balance bigint, sequence bigint)
      JOIN txn ON txn.public_id = l.txn
     ORDER BY l.n
    RETURNING id, transaction_id, account_id
), balances AS (
    UPDATE accounts_account AS a
       SET {balances}
      FROM jsonb_to_recordset(%(accounts)s::jsonb) AS b(id bigint, balance bigint, reserved bigint, sequence bigint)
     WHERE a.id = b.id AND a.id = ANY(%(account_ids)s::bigint[])
    RETURNING a.id
){record}{outbox}
SELECT t.ids, t.public_ids, l.ids, l.transactions, l.accounts
  FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(public_id ORDER BY id) AS public_ids FROM txn) AS t,
       (SELECT array_agg(id ORDER BY id) AS ids, array_agg(transaction_id ORDER BY id) AS transactions,
               array_agg(account_id ORDER BY id) AS accounts FROM legs) AS l
"""

_RECORD_SQL = """, record AS (
    INSERT INTO transactions_idempotencyrecord (client_id, key, fingerprint, response_status, response_body,
                                                transaction_id, batch_id, created_at)
    SELECT %(client_id)s, %(key)s, %(fingerprint)s, %(response_status)s, %(response_body)s, txn.id, NULL,
           %(record_created)s
      FROM txn
    RETURNING id
)"""


# The values each account's new state is set to, column by column (bulk.BALANCE_COLUMNS), and its
# reservation: the bulk path never changes one, a capture releases what it takes (transactions.holds).
_BALANCE_VALUES = ("b.balance", "b.sequence", "%(now)s")
_RESERVATION_COLUMN = "reserved_minor"
# A capture names its hold; the bulk path never writes one.
_HOLD_COLUMN = "hold_id"


@functools.cache
def _write_sql(*, explicit_ids: bool, record: bool, events: bool) -> str:
    """Return the write statement, with the reserved ids or without, the record and the events or without."""
    return _WRITE_SQL.format(
        id_column="id, " if explicit_ids else "",
        id_value="v.id, " if explicit_ids else "",
        transaction_columns=", ".join((*bulk.TRANSACTION_COLUMNS, _HOLD_COLUMN)),
        posting_columns=", ".join(bulk.POSTING_COLUMNS),
        balances=", ".join(
            [
                *(f"{c} = {v}" for c, v in zip(bulk.BALANCE_COLUMNS, _BALANCE_VALUES, strict=True)),
                f"{_RESERVATION_COLUMN} = b.reserved",
            ]
        ),
        record=_RECORD_SQL if record else "",
        outbox=outbox.CTE_SQL if events else "",
    )


def _posted(transactions: list[Transaction]) -> None:
    """Count the committed transactions and log their ids (no owners, no secrets); runs on commit."""
    for txn in transactions:
        metrics.TRANSACTIONS_POSTED.labels(txn.kind, txn.currency).inc()
        logger.info(
            "posted %s %s",
            txn.kind,
            txn.public_id,
            extra={"transaction_id": str(txn.public_id), "kind": txn.kind, "currency": txn.currency},
        )

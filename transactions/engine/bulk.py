"""The engine's bulk path: many transactions written at once, with the columns the journal writes.

The journal (:mod:`transactions.engine.journal`) writes what one request posts; the bulk path
writes what a seeder generated, thousands of transactions per database transaction
(``reconciliation.seeding``). Both write the same rows, so the columns are defined once, here:
:class:`TransactionRow` and :class:`PostingRow` name the columns of a transaction and of a
posting in the order they are written, and :data:`BALANCE_COLUMNS` what a write changes on an
account. The journal builds its one-statement write from them; ``bench/seed.py`` its set-based
``INSERT ... SELECT``.

A bulk write captures no hold and changes no reservation (the journal writes both for the
captures of ``transactions.holds``). What it writes is history imported, not a change made now:
its rows carry ``txid`` :data:`ledger.commit_order.IMPORTED` (ordered before every posting's
own rows) and no events (``reconcile``'s check 10 covers every transaction but those).

It keeps every rule the journal keeps, and its caller keeps the arithmetic: it locks the
customer accounts it writes as the engine does (:func:`lock_customer_accounts`), numbers each
customer posting after the account's ``last_sequence`` with a ``balance_after`` chained from
its stored balance (a system account's legs carry neither), writes the rows
(:func:`write_rows`: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere) and the new balances
(:func:`store_balances`) in the same database transaction. The database's own guards (the
deferred zero-sum trigger, the constraints) check every row at commit.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q

from accounts.models import Account
from ledger.commit_order import IMPORTED
from transactions.engine.locking import lock_accounts
from transactions.models import Posting, Transaction

LOCK_BATCH = 10_000  # accounts locked per query


class TransactionRow(NamedTuple):
    """A row of ``transactions_transaction``: its fields are the columns, in the order they are written."""

    id: int
    public_id: uuid.UUID
    kind: str
    status: str
    amount_minor: int
    currency: str
    source_account_id: int | None
    destination_account_id: int | None
    description: str
    reference: str
    metadata: dict[str, Any]
    posted_by_id: int | None
    reverses_id: int | None
    batch_id: int | None
    created_at: datetime


class PostingRow(NamedTuple):
    """A row of ``transactions_posting``: its fields are the columns, in the order they are written."""

    transaction_id: int
    account_id: int
    amount_minor: int
    balance_after_minor: int | None  # None on a system account: the outside world keeps no running balance
    sequence: int | None
    created_at: datetime


# What every write of a transaction sets; its id comes from the table's sequence unless drawn in advance.
TRANSACTION_COLUMNS: tuple[str, ...] = TransactionRow._fields[1:]
POSTING_COLUMNS: tuple[str, ...] = PostingRow._fields
# What a write changes on each customer account it touches.
BALANCE_COLUMNS: tuple[str, ...] = ("balance_minor", "last_sequence", "updated_at")


def lock_customer_accounts(ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Lock the customer accounts among ``ids`` as the engine does and return ``{id: (balance, last_sequence)}``.

    The locks are taken by :func:`transactions.engine.locking.lock_accounts` (ascending id, ``FOR
    NO KEY UPDATE``), :data:`LOCK_BATCH` accounts a query in ascending order, so a bulk writer
    queues behind the posting service exactly as another posting would. System accounts among
    ``ids`` are neither locked nor returned.
    """
    ordered = sorted(ids)
    state: dict[int, tuple[int, int]] = {}
    for start in range(0, len(ordered), LOCK_BATCH):
        for account in lock_accounts(Q(pk__in=ordered[start : start + LOCK_BATCH])):
            state[account.pk] = (account.balance_minor, account.last_sequence)
    return state


def reserve_transaction_ids(count: int) -> list[int]:
    """Draw primary keys for ``count`` new transactions, so that postings can reference them before the insert."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{Transaction._meta.db_table}', 'id')) "  # noqa: S608
                "FROM generate_series(1, %s)",
                [count],
            )
            return [row[0] for row in cursor.fetchall()]
        # Elsewhere (SQLite) this transaction holds the database's write lock: max(id) is stable.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Transaction._meta.db_table}")  # noqa: S608
        first = cursor.fetchone()[0] + 1
        return list(range(first, first + count))


def write_rows(transactions: Sequence[TransactionRow], postings: Sequence[PostingRow]) -> None:
    """Insert the rows as imported history: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere. Every id is given."""
    if connection.vendor == "postgresql":
        _copy(Transaction._meta.db_table, (*TransactionRow._fields, "txid"), [(*row, IMPORTED) for row in transactions])
        _copy(Posting._meta.db_table, (*POSTING_COLUMNS, "txid"), [(*row, IMPORTED) for row in postings])
        return
    Transaction.objects.bulk_create(
        [Transaction(**row._asdict(), txid=IMPORTED) for row in transactions], batch_size=2000
    )
    Posting.objects.bulk_create([Posting(**row._asdict(), txid=IMPORTED) for row in postings], batch_size=2000)


def store_balances(balances: Mapping[int, tuple[int, int]], now: datetime) -> None:
    """Write the new ``{id: (balance, last_sequence)}`` of customer accounts whose rows this transaction locked."""
    ids = sorted(balances)
    if connection.vendor == "postgresql":
        values = ("v.balance", "v.sequence", "%s")
        assignments = ", ".join(f"{column} = {value}" for column, value in zip(BALANCE_COLUMNS, values, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Account._meta.db_table} AS a SET {assignments} "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, balance, sequence) "
                # The ids again, as a condition on the primary key: the join alone may be planned
                # as a scan of every account (transactions.engine.journal says why).
                "WHERE a.id = v.id AND a.id = ANY(%s::bigint[])",
                [now, ids, [balances[i][0] for i in ids], [balances[i][1] for i in ids], ids],
            )
        return
    accounts = [Account(pk=i, balance_minor=balances[i][0], last_sequence=balances[i][1], updated_at=now) for i in ids]
    Account.objects.bulk_update(accounts, list(BALANCE_COLUMNS), batch_size=500)


def _copy(table: str, columns: Sequence[str], rows: Iterable[tuple[object, ...]]) -> None:
    data = io.StringIO()
    for row in rows:
        data.write("\t".join(map(_copy_text, row)))
        data.write("\n")
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(data.getvalue())


def _copy_text(value: object) -> str:
    """``value`` in ``COPY``'s text format."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = json.dumps(value)
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text

"""Fast, invariant-respecting bulk data for demos, benchmarks and admin performance checks.

:func:`demo_ledger_seed` opens customer accounts and writes transactions in bulk, without the
posting service's per-request overhead but with everything it guarantees:

- every transaction has two postings summing to zero, on accounts of its currency;
- each customer account's postings carry the next sequence numbers after its ``last_sequence``
  and a ``balance_after`` chained from its stored balance; customer balances never go below
  zero; a system account's postings carry neither, and its row is never touched;
- a reversal mirrors its original, which is written as ``reversed``;
- stored balances and ``last_sequence`` are updated in the same database transaction as the
  postings, so every committed chunk reconciles cleanly.

Work is committed in chunks (``chunk`` transactions per database transaction). Each chunk
first locks every customer account it writes, ``ORDER BY id FOR NO KEY UPDATE`` as the posting service does,
and re-reads their balances, so seeding can run beside live writers. The database's own
guards stay on: the deferred zero-sum trigger checks every row at each chunk's commit.
The locks, the rows and the balances are written by the engine's bulk path
(:mod:`transactions.engine.bulk`): on PostgreSQL with ``COPY``, elsewhere with ``bulk_create``.

Timestamps are spread over the ``days`` before the run (backdated), after the latest existing
posting of every account involved, so each account's ``created_at`` order follows its
sequence. Backdated rows are exactly what a ``reconcile --since`` cutoff cannot see: check a
seeded database with a full ``reconcile``.
"""

from __future__ import annotations

import functools
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connection
from django.db import transaction as db_transaction
from django.utils import timezone

from accounts.models import Account
from accounts.services import client_user_ensure, system_account_ensure
from ledger.money import currencies
from transactions.engine import bulk
from transactions.engine.bulk import PostingRow, TransactionRow
from transactions.models import Posting

if TYPE_CHECKING:
    from ledger.users import User

DEMO_CLIENT = "demo-client"
MICROSECOND = timedelta(microseconds=1)

# Share of each kind once every account has had its first deposit.
_DEPOSIT, _WITHDRAWAL, _TRANSFER, _REVERSAL = "deposit", "withdrawal", "transfer", "reversal"
_MIX = ((_TRANSFER, 0.58), (_DEPOSIT, 0.25), (_WITHDRAWAL, 0.16), (_REVERSAL, 0.01))


@dataclass
class SeedResult:
    accounts: int = 0
    transactions: int = 0
    postings: int = 0
    reversals: int = 0
    chunks: int = 0


@dataclass
class _Book:
    """The seeder's view of the accounts it writes, refreshed from the locked rows each chunk."""

    ids: list[int]
    currency: dict[int, str]
    system: dict[str, int]  # currency -> system account id
    customers: dict[str, list[int]]  # currency -> customer account ids
    balance: dict[int, int] = field(default_factory=dict)
    sequence: dict[int, int] = field(default_factory=dict)

    @functools.cached_property
    def systems(self) -> set[int]:
        return set(self.system.values())


@dataclass
class _Chunk:
    transactions: list[TransactionRow] = field(default_factory=list)
    postings: list[PostingRow] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    reversals: int = 0


def demo_ledger_seed(
    *,
    accounts: int,
    transactions: int,
    chunk: int = 50_000,
    days: int = 30,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Open ``accounts`` demo customer accounts and post ``transactions`` transactions among them.

    The first transactions deposit into every account once; then transfers (58 %), deposits
    (25 %), withdrawals (16 %) and reversals of recent transactions (1 %) follow, each picked
    so that no customer balance goes below zero. ``progress(done, total)`` is called after
    each committed chunk.

    ``workers`` > 1 (PostgreSQL) splits the currencies among that many threads, each with its
    own connection: they write disjoint sets of accounts (a currency's system account is
    only ever touched by one worker), so they never wait for each other's row locks.
    """
    if accounts < 1 or transactions < 0 or chunk < 1 or workers < 1:
        raise ValueError("accounts, chunk and workers must be positive, transactions not negative")
    master = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    owner = _demo_owner()
    book = _open_accounts(owner=owner, count=accounts)
    now = timezone.now()
    start = max(now - timedelta(days=days), _latest_posting_time(list(book.system.values())) + MICROSECOND)
    if connection.vendor != "postgresql":
        workers = 1  # SQLite has one writer at a time.
    shares = _split(book, min(workers, len(book.customers)), transactions)
    total = SeedResult(accounts=accounts)
    lock = threading.Lock()
    done = [0]

    def report(count: int) -> None:
        with lock:
            done[0] += count
            if progress is not None:
                progress(done[0], transactions)

    jobs = [(share, count, random.Random(master.getrandbits(64))) for share, count in shares]  # noqa: S311
    if len(jobs) == 1:
        results = [_seed_share(jobs[0][0], jobs[0][1], jobs[0][2], start, now, owner.pk, chunk, report)]
    else:
        results = _in_threads(
            [
                functools.partial(_seed_share, share, count, rng, start, now, owner.pk, chunk, report)
                for share, count, rng in jobs
            ]
        )
    for result in results:
        total.transactions += result.transactions
        total.postings += result.postings
        total.reversals += result.reversals
        total.chunks += result.chunks
    with db_transaction.atomic():
        _analyze()  # Fresh statistics for whatever runs next (reconcile, the admin).
    return total


def _split(book: _Book, workers: int, transactions: int) -> list[tuple[_Book, int]]:
    """Share the currencies among ``workers``, with transactions in proportion to their accounts."""
    codes = sorted(book.customers, key=lambda code: -len(book.customers[code]))
    groups: list[list[str]] = [[] for _ in range(workers)]
    for index, code in enumerate(codes):
        groups[index % workers].append(code)
    customers = sum(len(ids) for ids in book.customers.values())
    shares = []
    assigned = 0
    for number, group in enumerate(groups):
        part = _Book(
            ids=sorted([pk for code in group for pk in book.customers[code]] + [book.system[code] for code in group]),
            currency={},
            system={code: book.system[code] for code in group},
            customers={code: book.customers[code] for code in group},
        )
        part.currency = {pk: book.currency[pk] for pk in part.ids}
        mine = sum(len(book.customers[code]) for code in group)
        count = transactions - assigned if number == workers - 1 else transactions * mine // customers
        assigned += count
        shares.append((part, count))
    return shares


def _in_threads(jobs: list[Callable[[], SeedResult]]) -> list[SeedResult]:
    """Run each job in its own thread (and so its own database connection); re-raise the first failure."""
    results: list[SeedResult | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = jobs[index]()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"seed-{i}") for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [result for result in results if result is not None]


def _seed_share(
    book: _Book,
    transactions: int,
    rng: random.Random,
    start: datetime,
    end: datetime,
    owner_pk: int,
    chunk: int,
    report: Callable[[int], None],
) -> SeedResult:
    """Write ``transactions`` transactions among ``book``'s accounts, ``chunk`` per database transaction."""
    result = SeedResult()
    step = (end - start) / max(transactions, 1)
    recent: list[int] = []  # indexes in the chunk of transactions that may still be reversed
    done = 0
    while done < transactions:
        size = min(chunk, transactions - done)
        with db_transaction.atomic():
            _prepare_session()
            _lock_and_refresh(book)
            floor = _latest_posting_time(list(book.system.values())) + MICROSECOND
            ids = bulk.reserve_transaction_ids(size)
            data = _Chunk()
            recent.clear()
            for offset in range(size):
                index = done + offset
                created = max(start + step * index, floor + MICROSECOND * offset)
                _generate(rng, book, data, ids[offset], index, created, owner_pk, recent)
            bulk.write_rows(data.transactions, data.postings)
            bulk.store_balances({pk: (book.balance[pk], book.sequence[pk]) for pk in data.touched}, end)
            if result.chunks & (result.chunks + 1) == 0:  # chunks 1, 2, 4, 8...: while the tables grow fast
                _analyze()
        done += size
        result.transactions += size
        result.postings += len(data.postings)
        result.reversals += data.reversals
        result.chunks += 1
        report(size)
    return result


def _demo_owner() -> User:
    """The demo client (``bin/ledger create_api_client demo-client`` gives it a token, if it has none)."""
    user, _ = client_user_ensure(name=DEMO_CLIENT)
    return user


def _open_accounts(*, owner: User, count: int) -> _Book:
    """Open ``count`` customer accounts round-robin over the configured currencies (bulk insert)."""
    codes = list(currencies())
    system = {code: system_account_ensure(currency=code).pk for code in codes}
    first = Account.objects.filter(owner=owner).count() + 1
    opened = Account.objects.bulk_create(
        [Account(owner=owner, currency=codes[i % len(codes)], name=f"demo {first + i:07d}") for i in range(count)],
        batch_size=5000,
    )
    customers: dict[str, list[int]] = {code: [] for code in codes}
    for account in opened:
        customers[account.currency].append(account.pk)
    currency = {account.pk: account.currency for account in opened}
    currency.update({pk: code for code, pk in system.items()})
    used = [code for code in codes if customers[code]]
    return _Book(
        ids=sorted(currency),
        currency=currency,
        system={code: system[code] for code in used},
        customers={code: customers[code] for code in used},
    )


def _analyze() -> None:
    """Refresh the planner's statistics of the tables just filled (inside the chunk's transaction it sees its rows).

    A table that grew from nothing still has the statistics of an empty one, and the plans of
    the deferred zero-sum trigger, cached per session, would scan instead of using the
    indexes: a chunk's commit went from seconds to minutes. Autovacuum catches up later.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounts_account, transactions_transaction, transactions_posting")


def _prepare_session() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A chunk's COPY and its commit (which runs the deferred zero-sum trigger for every
            # row) can outlast the service's statement timeout, and another worker's ANALYZE
            # holds its table lock until that worker's chunk commits; this transaction only.
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SET LOCAL lock_timeout = 0")


def _lock_and_refresh(book: _Book) -> None:
    """Lock the chunk's customer accounts as the posting service does (ascending id) and read their state."""
    systems = book.systems
    locked = bulk.lock_customer_accounts(pk for pk in book.ids if pk not in systems)
    for pk, (balance, sequence) in locked.items():
        book.balance[pk] = balance
        book.sequence[pk] = sequence


def _latest_posting_time(account_ids: list[int]) -> datetime:
    """When the latest posting of any of these accounts was made (each looked up by its last sequence)."""
    latest = datetime.min.replace(tzinfo=UTC)
    for pk in account_ids:
        found = Posting.objects.filter(account_id=pk).order_by("-sequence").values_list("created_at", flat=True).first()
        if found is not None and found > latest:
            latest = found
    return latest


def _amount(rng: random.Random, currency: str, ceiling: int | None = None) -> int:
    scale = 10 ** currencies()[currency]
    amount = rng.randint(scale, 2000 * scale)
    return amount if ceiling is None else min(amount, ceiling)


def _generate(
    rng: random.Random,
    book: _Book,
    data: _Chunk,
    txn_id: int,
    index: int,
    created: datetime,
    posted_by: int,
    recent: list[int],
) -> None:
    """Append one transaction and its two postings to ``data``, updating ``book``'s balances."""
    codes = list(book.customers)
    all_customers = len(book.currency) - len(book.system)
    if index < all_customers:  # Every account gets a first deposit.
        code = codes[index % len(codes)]
        kind = _DEPOSIT
        account = book.customers[code][(index // len(codes)) % len(book.customers[code])]
    else:
        code = rng.choice(codes)
        kind = rng.choices([k for k, _ in _MIX], weights=[w for _, w in _MIX])[0]
        account = rng.choice(book.customers[code])
    if kind == _REVERSAL:
        if _reverse_recent(rng, book, data, txn_id, created, posted_by, recent):
            return
        kind = _DEPOSIT
    system = book.system[code]
    balance = book.balance[account]
    if kind in (_TRANSFER, _WITHDRAWAL) and balance == 0:
        kind = _DEPOSIT
    if kind == _TRANSFER:
        others = book.customers[code]
        destination = rng.choice(others)
        if destination == account:
            kind = _WITHDRAWAL if len(others) == 1 else kind
            destination = others[(others.index(account) + 1) % len(others)]
    if kind == _DEPOSIT:
        amount = _amount(rng, code)
        legs, source, target = [(system, -amount), (account, amount)], None, account
    elif kind == _WITHDRAWAL:
        amount = _amount(rng, code, balance)
        legs, source, target = [(account, -amount), (system, amount)], account, None
    else:
        amount = _amount(rng, code, balance)
        legs, source, target = [(account, -amount), (destination, amount)], account, destination
    row = TransactionRow(
        id=txn_id,
        public_id=uuid.uuid4(),
        kind=kind,
        status="posted",
        amount_minor=amount,
        currency=code,
        source_account_id=source,
        destination_account_id=target,
        description=f"demo {kind}",
        reference="",
        metadata={},
        posted_by_id=posted_by,
        reverses_id=None,
        batch_id=None,
        created_at=created,
    )
    _append(book, data, row, legs)
    recent.append(len(data.transactions) - 1)
    if len(recent) > 64:
        del recent[0]


def _reverse_recent(
    rng: random.Random,
    book: _Book,
    data: _Chunk,
    txn_id: int,
    created: datetime,
    posted_by: int,
    recent: list[int],
) -> bool:
    """Reverse a recent transaction of this chunk whose credited customer still holds the money."""
    if not recent:
        return False
    position = rng.randrange(len(recent))
    index = recent[position]
    original = data.transactions[index]
    legs = [(leg.account_id, -leg.amount_minor) for leg in data.postings[2 * index : 2 * index + 2]]
    for account, amount in legs:
        if account not in book.systems and book.balance[account] + amount < 0:
            return False
    del recent[position]
    data.transactions[index] = original._replace(status="reversed")
    row = TransactionRow(
        id=txn_id,
        public_id=uuid.uuid4(),
        kind=_REVERSAL,
        status="posted",
        amount_minor=original.amount_minor,
        currency=original.currency,
        source_account_id=original.destination_account_id,
        destination_account_id=original.source_account_id,
        description="demo reversal",
        reference="",
        metadata={},
        posted_by_id=posted_by,
        reverses_id=original.id,
        batch_id=None,
        created_at=created,
    )
    _append(book, data, row, legs)
    data.reversals += 1
    return True


def _append(book: _Book, data: _Chunk, row: TransactionRow, legs: list[tuple[int, int]]) -> None:
    data.transactions.append(row)
    for account, amount in legs:
        if account in book.systems:  # The outside world keeps no running balance (accounts.models).
            data.postings.append(PostingRow(row.id, account, amount, None, None, row.created_at))
            continue
        book.balance[account] += amount
        book.sequence[account] += 1
        data.postings.append(
            PostingRow(row.id, account, amount, book.balance[account], book.sequence[account], row.created_at)
        )
        data.touched.add(account)

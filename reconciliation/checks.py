"""The ten reconciliation checks: set-based SQL, one small function each, over one snapshot.

Each check states its invariant in its docstring, runs a few statements over whole tables
(never a query per account), and returns what it found as :class:`Discrepancy` rows, the
first ``limit`` of them, together with the true number. They only read; the caller runs
them all in one consistent snapshot (see :mod:`reconciliation.services`).

The SQL is plain enough for SQLite (window functions, ``CASE``, correlated subqueries), but
it is written for PostgreSQL's planner at ledger scale: check 3's window pass streams the
postings in ``(account_id, sequence)`` order, and the others are hash aggregates or index
lookups per account. A :class:`Scope` narrows every check to one account or to the accounts
and transactions that moved since a cutoff.

Checks 1 to 6 prove the postings and balances; checks 7 to 9 the holds (``accounts.models.Hold``):
what accounts reserve, what holds captured, and that every capture is one of its hold; check 10
that every transaction has the events consumers learn of it by (``events``).
"""

# ruff: noqa: S608 -- every statement here is fixed text; the only values in it are query parameters.
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.db import connection

from ledger.commit_order import IMPORTED
from ledger.money import format_minor

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

ScopeKind = Literal["all", "account", "since"]
# A parameter of these statements: an id, a timestamp or JSON text, a list of ids, or NULL.
SQLParam = int | str | list[int] | None


@dataclass(frozen=True)
class Scope:
    """Which accounts and transactions the checks look at.

    - ``all``: everything.
    - ``account``: the account ``account_pk``: its full history, the transactions it took part
      in, and its currency's total.
    - ``since``: the full history of every account with a posting made at or after ``cutoff``,
      and every transaction made at or after it (with the originals they reverse). The
      currency totals (check 5) are global; they cost one pass over the accounts.
    """

    kind: ScopeKind = "all"
    account_pk: int | None = None
    currency: str | None = None
    cutoff: datetime | None = None
    moved: tuple[int, ...] | None = None  # for ``since``: the accounts it covers, see :meth:`resolve`
    all_accounts: int | None = None

    def resolve(self, cursor: CursorWrapper) -> Scope:
        """Return the scope with, for ``since``, the accounts that have a posting at or after the cutoff.

        Found once, in the snapshot the checks run in; any other scope is returned as it is.
        """
        if self.kind != "since" or self.moved is not None:
            return self
        cursor.execute(
            "SELECT DISTINCT account_id FROM transactions_posting WHERE created_at >= %s", [_timestamp(self.cutoff)]
        )
        moved = tuple(sorted(row[0] for row in cursor.fetchall()))
        cursor.execute("SELECT COUNT(*) FROM accounts_account")
        return replace(self, moved=moved, all_accounts=cursor.fetchone()[0])

    @property
    def broad(self) -> bool:
        """Whether the scope covers a good part of the ledger (then whole-table scans beat index lookups)."""
        if self.kind == "since":
            return len(self.moved or ()) * 10 >= (self.all_accounts or 0)
        return self.kind == "all"

    def accounts(self, column: str) -> tuple[str, list[SQLParam]]:
        """Return an SQL condition that ``column`` (an account id) is in scope, and its parameters."""
        if self.kind == "account":
            return f"{column} = %s", [self.account_pk]
        if self.kind == "since":
            if self.moved is None:
                raise ValueError("resolve() a since scope in the snapshot first")
            # A set the planner can hash or probe through an index; not ``= ANY(%s)``, which
            # PostgreSQL searches linearly for every row when the array is a parameter.
            if connection.vendor == "postgresql":
                return f"{column} IN (SELECT unnest(%s::bigint[]))", [list(self.moved)]
            return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(self.moved)]
        return "1 = 1", []

    def transactions(self, alias: str) -> tuple[str, list[SQLParam]]:
        """Return an SQL condition that the transaction row ``alias`` is in scope, and its parameters."""
        if self.kind == "account":
            return (
                f"{alias}.id IN (SELECT touched.transaction_id FROM transactions_posting touched "
                "WHERE touched.account_id = %s)",
                [self.account_pk],
            )
        if self.kind == "since":
            return f"{alias}.created_at >= %s", [_timestamp(self.cutoff)]
        return "1 = 1", []


@dataclass
class Discrepancy:
    """One thing that is wrong, with the ids an operator needs and what was expected versus found."""

    check: str
    problem: str
    expected: str
    found: str
    account: str | None = None
    currency: str | None = None
    transaction: str | None = None
    sequence: int | None = None
    hold: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the discrepancy as JSON-ready fields, without the ones it has no value for."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    def describe(self) -> str:
        """Return the discrepancy as one line for an operator: where, what, expected and found."""
        where = []
        if self.account:
            where.append(f"account {self.account}" + (f" ({self.currency})" if self.currency else ""))
        elif self.currency:
            where.append(f"currency {self.currency}")
        if self.sequence is not None:
            where.append(f"posting #{self.sequence}")
        if self.transaction:
            where.append(f"transaction {self.transaction}")
        if self.hold:
            where.append(f"hold {self.hold}")
        return f"[{self.check}] {', '.join(where)}: {self.problem}: expected {self.expected}, found {self.found}"


@dataclass
class CheckResult:
    """What one check found: the true number of discrepancies, and the first of them."""

    name: str
    count: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    """A check as the command lists it: its number, name and title, and the function that runs it."""

    number: int
    name: str
    title: str
    run: Callable[[CursorWrapper, Scope, int], CheckResult]


# --- helpers -------------------------------------------------------------------------------


def _timestamp(value: datetime | None) -> str | None:
    """Return ``value`` as the database takes a timestamp parameter."""
    return connection.ops.adapt_datetimefield_value(value)


def uuid_text(value: object) -> str | None:
    """Return a public id as text, whether the driver returns a UUID (PostgreSQL) or hex (SQLite)."""
    if value is None:
        return None
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _money(minor: int | Decimal | None, currency: str | None) -> str:
    """Return an amount with the currency's digits (its raw minor units if the currency is not configured)."""
    if minor is None:
        return "none"
    try:
        return format_minor(int(minor), currency or "")
    except KeyError:  # A currency no longer configured: show the raw minor units.
        return f"{int(minor)} minor units"


def _capped(
    cursor: CursorWrapper, sql: str, params: Sequence[SQLParam], *, order_by: str, limit: int, problems: str = "1"
) -> tuple[list[dict[str, Any]], int]:
    """Return the first ``limit`` rows of ``sql`` in ``order_by`` order, as dicts, and the problems of all rows.

    ``problems`` is an SQL expression over a row's columns: how many discrepancies that row
    holds (one, unless a row can be wrong in several ways at once).
    """
    cursor.execute(
        f"SELECT found.*, SUM({problems}) OVER () AS found_total FROM ({sql}) found ORDER BY {order_by} LIMIT %s",
        [*params, limit],
    )
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return rows, (int(rows[0]["found_total"]) if rows else 0)


@contextmanager
def sequential_plans(cursor: CursorWrapper, *, sequential: bool) -> Iterator[None]:
    """Keep the planner off index scans for the statements inside, if ``sequential`` (on PostgreSQL)."""
    if not (sequential and connection.vendor == "postgresql"):
        yield
        return
    cursor.execute("SELECT current_setting('enable_indexscan'), current_setting('enable_bitmapscan')")
    before = cursor.fetchone()
    cursor.execute("SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true)")
    try:
        yield
    finally:
        cursor.execute(
            "SELECT set_config('enable_indexscan', %s, true), set_config('enable_bitmapscan', %s, true)", list(before)
        )


def _flags(*conditions: str) -> str:
    """Return an SQL expression counting how many of ``conditions`` hold for a row (NULL counts as not)."""
    return "(" + " + ".join(f"(CASE WHEN {condition} THEN 1 ELSE 0 END)" for condition in conditions) + ")"


def _transaction_ids(cursor: CursorWrapper, pks: set[int]) -> dict[int, str | None]:
    """Return the public ids of the given transactions (at most ``limit`` of them, so one small query)."""
    if not pks:
        return {}
    marks = ", ".join(["%s"] * len(pks))
    cursor.execute(f"SELECT id, public_id FROM transactions_transaction WHERE id IN ({marks})", list(pks))
    return {pk: uuid_text(public_id) for pk, public_id in cursor.fetchall()}


# --- the checks ----------------------------------------------------------------------------


_SYSTEM_IDS = "(SELECT system.id FROM accounts_account system WHERE system.is_system)"


def check_balances(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that every customer account's stored ``balance_minor`` is the sum of its postings (check 1).

    An account without postings stores 0; a system account stores none (0: its balance is
    derived, and check 5 proves it). The sums are one (parallel) hash aggregate over a scan of
    the postings, kept apart from the join (``MATERIALIZED``) and off index scans for a broad
    scope: otherwise PostgreSQL's cost model, which assumes a well-cached table, prefers to read
    the postings in account order through an index, a random read per posting instead of one
    sequential pass (docs/benchmarks.md, "Why the code is written as it is").
    """
    inner, inner_params = scope.accounts("p.account_id")
    outer, outer_params = scope.accounts("a.id")
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    with sequential_plans(cursor, sequential=scope.broad):
        rows, total = _capped(
            cursor,
            f"""
            WITH sums AS {materialized} (
                SELECT p.account_id, SUM(p.amount_minor) AS total
                  FROM transactions_posting p
                 WHERE {inner} AND p.account_id NOT IN {_SYSTEM_IDS}
                 GROUP BY p.account_id)
            SELECT a.id, a.public_id, a.currency, a.is_system, a.balance_minor AS stored,
                   CASE WHEN a.is_system THEN 0 ELSE COALESCE(s.total, 0) END AS derived
              FROM accounts_account a
              LEFT JOIN sums s ON s.account_id = a.id
             WHERE {outer} AND a.balance_minor <> CASE WHEN a.is_system THEN 0 ELSE COALESCE(s.total, 0) END
            """,
            [*inner_params, *outer_params],
            order_by="id",
            limit=limit,
        )
    return CheckResult(
        "balances",
        total,
        [
            Discrepancy(
                check="balances",
                account=uuid_text(row["public_id"]),
                currency=row["currency"],
                problem=(
                    "a system account stores a balance (it must keep none)"
                    if row["is_system"]
                    else "stored balance differs from the sum of its postings"
                ),
                expected=_money(row["derived"], row["currency"]),
                found=_money(row["stored"], row["currency"]),
            )
            for row in rows
        ],
    )


def check_transactions(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that every transaction has two postings or more, summing to zero, on accounts of its currency (check 2).

    One merge of the transactions (primary key order) with their postings (``transaction_id``
    index order, which follows the table's insertion order), grouped as it streams.
    """
    condition, params = scope.transactions("t")
    rows, total = _capped(
        cursor,
        f"""
        SELECT t.id, t.public_id, t.currency, COUNT(p.id) AS legs, COALESCE(SUM(p.amount_minor), 0) AS total,
               SUM(CASE WHEN a.currency <> t.currency THEN 1 ELSE 0 END) AS foreign_legs,
               MIN(CASE WHEN a.currency <> t.currency THEN a.currency END) AS foreign_currency
          FROM transactions_transaction t
          LEFT JOIN transactions_posting p ON p.transaction_id = t.id
          LEFT JOIN accounts_account a ON a.id = p.account_id
         WHERE {condition}
         GROUP BY t.id, t.public_id, t.currency
        HAVING COUNT(p.id) < 2 OR COALESCE(SUM(p.amount_minor), 0) <> 0
            OR SUM(CASE WHEN a.currency <> t.currency THEN 1 ELSE 0 END) > 0
        """,
        params,
        order_by="id",
        limit=limit,
        problems=_flags("legs < 2", "total <> 0", "foreign_legs > 0"),
    )
    found = []
    for row in rows:
        common = {"check": "transactions", "transaction": uuid_text(row["public_id"]), "currency": row["currency"]}
        if row["legs"] < 2:
            found.append(
                Discrepancy(**common, problem="too few postings", expected="at least 2", found=str(row["legs"]))
            )
        if int(row["total"]) != 0:
            found.append(
                Discrepancy(
                    **common,
                    problem="postings do not sum to zero",
                    expected=_money(0, row["currency"]),
                    found=_money(row["total"], row["currency"]),
                )
            )
        if row["foreign_legs"]:
            found.append(
                Discrepancy(
                    **common,
                    problem=f"{row['foreign_legs']} posting(s) on accounts of another currency",
                    expected=row["currency"],
                    found=row["foreign_currency"],
                )
            )
    return CheckResult("transactions", total, found)


def check_chains(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that each customer account's postings chain, gap-free, to its stored balance (check 3).

    The postings are numbered 1, 2, 3... with no gap or repeat; each ``balance_after`` is the
    previous one (0 before the first) plus the amount; the last ``balance_after`` equals the
    stored balance and the last sequence the stored ``last_sequence``. (System accounts keep no
    chain; the database refuses a numbered leg on one.)

    One window pass over the postings in ``(account_id, sequence)`` order finds gaps and broken
    links; one index lookup per account finds the end of each chain. For many accounts the pass
    sorts a sequential scan: the unique index gives the order too, but with a random read per
    posting, which PostgreSQL's cost model, assuming a well-cached table, would otherwise pick
    (docs/benchmarks.md, "Why the code is written as it is").
    """
    condition, params = scope.accounts("p.account_id")
    with sequential_plans(cursor, sequential=scope.broad):
        links, link_total = _capped(
            cursor,
            f"""
            SELECT w.account_id, w.transaction_id, w.sequence, w.amount_minor, w.balance_after_minor,
                   w.previous_sequence, w.previous_balance
              FROM (SELECT p.account_id, p.transaction_id, p.sequence, p.amount_minor, p.balance_after_minor,
                           LAG(p.sequence) OVER chain AS previous_sequence,
                           LAG(p.balance_after_minor) OVER chain AS previous_balance
                      FROM transactions_posting p
                     WHERE {condition} AND p.account_id NOT IN {_SYSTEM_IDS}
                    WINDOW chain AS (PARTITION BY p.account_id ORDER BY p.sequence)) w
             WHERE w.sequence <> COALESCE(w.previous_sequence, 0) + 1
                OR w.balance_after_minor <> COALESCE(w.previous_balance, 0) + w.amount_minor
            """,
            params,
            order_by="account_id, sequence",
            limit=limit,
            problems=_flags(
                "sequence <> COALESCE(previous_sequence, 0) + 1",
                "balance_after_minor <> COALESCE(previous_balance, 0) + amount_minor",
            ),
        )
    condition, params = scope.accounts("a.id")
    ends, end_total = _capped(
        cursor,
        f"""
        SELECT x.id, x.public_id, x.currency, x.balance_minor, x.last_sequence,
               l.transaction_id, COALESCE(l.sequence, 0) AS top_sequence,
               COALESCE(l.balance_after_minor, 0) AS top_balance
          FROM (SELECT a.id, a.public_id, a.currency, a.balance_minor, a.last_sequence,
                       (SELECT MAX(m.sequence) FROM transactions_posting m WHERE m.account_id = a.id) AS top
                  FROM accounts_account a
                 WHERE {condition} AND NOT a.is_system) x
          LEFT JOIN transactions_posting l ON l.account_id = x.id AND l.sequence = x.top
         WHERE COALESCE(l.sequence, 0) <> x.last_sequence OR COALESCE(l.balance_after_minor, 0) <> x.balance_minor
        """,
        params,
        order_by="id",
        limit=limit,
        problems=_flags("top_sequence <> last_sequence", "top_balance <> balance_minor"),
    )
    accounts = _accounts(cursor, {row["account_id"] for row in links})
    transactions = _transaction_ids(
        cursor, ({row["transaction_id"] for row in links} | {row["transaction_id"] for row in ends}) - {None}
    )
    found = []
    for row in links:
        public_id, currency = accounts[row["account_id"]]
        common = {
            "check": "chains",
            "account": public_id,
            "currency": currency,
            "transaction": transactions.get(row["transaction_id"]),
            "sequence": row["sequence"],
        }
        expected_sequence = (row["previous_sequence"] or 0) + 1
        if row["sequence"] != expected_sequence:
            problem = "sequence repeated" if row["sequence"] == row["previous_sequence"] else "gap in the sequence"
            found.append(
                Discrepancy(**common, problem=problem, expected=str(expected_sequence), found=str(row["sequence"]))
            )
        expected_balance = (row["previous_balance"] or 0) + row["amount_minor"]
        if row["balance_after_minor"] != expected_balance:
            found.append(
                Discrepancy(
                    **common,
                    problem="balance_after is not the previous balance plus the amount",
                    expected=_money(expected_balance, currency),
                    found=_money(row["balance_after_minor"], currency),
                )
            )
    for row in ends:
        common = {
            "check": "chains",
            "account": uuid_text(row["public_id"]),
            "currency": row["currency"],
            "transaction": transactions.get(row["transaction_id"]),
        }
        if row["top_sequence"] != row["last_sequence"]:
            found.append(
                Discrepancy(
                    **common,
                    problem="stored last_sequence is not the last posting's sequence",
                    expected=str(row["top_sequence"]),
                    found=str(row["last_sequence"]),
                )
            )
        if row["top_balance"] != row["balance_minor"]:
            found.append(
                Discrepancy(
                    **common,
                    sequence=row["top_sequence"] or None,
                    problem="stored balance is not the last posting's balance_after",
                    expected=_money(row["top_balance"], row["currency"]),
                    found=_money(row["balance_minor"], row["currency"]),
                )
            )
    return CheckResult("chains", link_total + end_total, found)


def _accounts(cursor: CursorWrapper, pks: set[int]) -> dict[int, tuple[str | None, str]]:
    """Return the public id and currency of the given accounts (at most ``limit`` of them)."""
    if not pks:
        return {}
    marks = ", ".join(["%s"] * len(pks))
    cursor.execute(f"SELECT id, public_id, currency FROM accounts_account WHERE id IN ({marks})", list(pks))
    return {pk: (uuid_text(public_id), currency) for pk, public_id, currency in cursor.fetchall()}


def check_non_negative(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that no customer account's stored balance is below zero (check 4).

    System accounts stand for the outside world, whose balance may be anything.
    """
    condition, params = scope.accounts("a.id")
    rows, total = _capped(
        cursor,
        f"""
        SELECT a.id, a.public_id, a.currency, a.balance_minor
          FROM accounts_account a
         WHERE NOT a.is_system AND a.balance_minor < 0 AND {condition}
        """,
        params,
        order_by="id",
        limit=limit,
    )
    return CheckResult(
        "non_negative",
        total,
        [
            Discrepancy(
                check="non_negative",
                account=uuid_text(row["public_id"]),
                currency=row["currency"],
                problem="customer balance below zero",
                expected=f"at least {_money(0, row['currency'])}",
                found=_money(row["balance_minor"], row["currency"]),
            )
            for row in rows
        ],
    )


def check_currency_totals(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that per currency the customers' stored balances and the system account's postings sum to zero (check 5).

    Money came in from, or went out to, the outside world, and none appeared or vanished.

    Global by nature (an account scope narrows it to that account's currency); the system
    account's postings are summed in one pass (a scan, off index reads), the customers' stored
    balances in one over the accounts.
    """
    condition, params = ("a.currency = %s", [scope.currency]) if scope.kind == "account" else ("1 = 1", [])
    with sequential_plans(cursor, sequential=True):
        rows, total = _capped(
            cursor,
            f"""
            SELECT parts.currency, SUM(parts.held) AS held, SUM(parts.world) AS world,
                   SUM(parts.held) + SUM(parts.world) AS total
              FROM (SELECT a.currency, SUM(a.balance_minor) AS held, 0 AS world
                      FROM accounts_account a
                     WHERE NOT a.is_system AND {condition}
                     GROUP BY a.currency
                    UNION ALL
                    SELECT a.currency, 0, SUM(p.amount_minor)
                      FROM transactions_posting p
                      JOIN accounts_account a ON a.id = p.account_id
                     WHERE a.is_system AND {condition}
                     GROUP BY a.currency) parts
             GROUP BY parts.currency
            HAVING SUM(parts.held) + SUM(parts.world) <> 0
            """,
            [*params, *params],
            order_by="currency",
            limit=limit,
        )
    return CheckResult(
        "currency_totals",
        total,
        [
            Discrepancy(
                check="currency_totals",
                currency=row["currency"],
                problem="balances of the currency do not sum to zero",
                expected=_money(0, row["currency"]),
                found=_money(row["total"], row["currency"]),
            )
            for row in rows
        ],
    )


def check_reversals(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that reversal links agree both ways (check 6).

    A reversal names an original, which is marked ``reversed``, is not itself a reversal, and
    has the reversal's currency and amount; and every transaction marked ``reversed`` has
    exactly one reversal.
    """
    condition, params = scope.transactions("r")
    forward, forward_total = _capped(
        cursor,
        f"""
        SELECT r.id, r.public_id, r.kind, r.currency, r.amount_minor, r.reverses_id,
               o.public_id AS original, o.kind AS original_kind, o.status AS original_status,
               o.currency AS original_currency, o.amount_minor AS original_amount
          FROM transactions_transaction r
          LEFT JOIN transactions_transaction o ON o.id = r.reverses_id
         WHERE (r.kind = 'reversal' OR r.reverses_id IS NOT NULL) AND {condition}
           AND (r.reverses_id IS NULL OR r.kind <> 'reversal' OR o.status <> 'reversed' OR o.kind = 'reversal'
                OR o.currency <> r.currency OR o.amount_minor <> r.amount_minor)
        """,
        params,
        order_by="id",
        limit=limit,
        problems="CASE WHEN reverses_id IS NULL THEN 1 ELSE "
        + _flags(
            "kind <> 'reversal'",
            "original_status <> 'reversed'",
            "original_kind = 'reversal'",
            "original_currency <> currency OR original_amount <> amount_minor",
        )
        + " END",
    )
    condition, params = scope.transactions("o")
    if scope.kind == "since":  # Also the originals that a reversal made since the cutoff marked reversed.
        condition = (
            f"({condition} OR o.id IN (SELECT recent.reverses_id FROM transactions_transaction recent "
            "WHERE recent.created_at >= %s))"
        )
        params = [*params, *params]
    backward, backward_total = _capped(
        cursor,
        f"""
        SELECT x.id, x.public_id, x.currency, x.reversals
          FROM (SELECT o.id, o.public_id, o.currency,
                       (SELECT COUNT(*) FROM transactions_transaction r WHERE r.reverses_id = o.id) AS reversals
                  FROM transactions_transaction o
                 WHERE o.status = 'reversed' AND {condition}) x
         WHERE x.reversals <> 1
        """,
        params,
        order_by="id",
        limit=limit,
    )
    found = []
    for row in forward:
        common = {"check": "reversals", "transaction": uuid_text(row["public_id"]), "currency": row["currency"]}
        original = uuid_text(row["original"])
        if row["reverses_id"] is None:
            found.append(
                Discrepancy(**common, problem="reversal names no original", expected="an original", found="none")
            )
            continue
        if row["kind"] != "reversal":
            found.append(
                Discrepancy(
                    **common,
                    problem=f"reverses {original} but is not a reversal",
                    expected="reversal",
                    found=row["kind"],
                )
            )
        if row["original_status"] != "reversed":
            found.append(
                Discrepancy(
                    **common,
                    problem=f"its original {original} is not marked reversed",
                    expected="reversed",
                    found=row["original_status"],
                )
            )
        if row["original_kind"] == "reversal":
            found.append(
                Discrepancy(
                    **common, problem=f"reverses a reversal ({original})", expected="not a reversal", found="reversal"
                )
            )
        if row["original_currency"] != row["currency"]:
            found.append(
                Discrepancy(
                    **common,
                    problem=f"currency differs from its original {original}",
                    expected=row["original_currency"],
                    found=row["currency"],
                )
            )
        elif row["original_amount"] != row["amount_minor"]:
            found.append(
                Discrepancy(
                    **common,
                    problem=f"amount differs from its original {original}",
                    expected=_money(row["original_amount"], row["currency"]),
                    found=_money(row["amount_minor"], row["currency"]),
                )
            )
    for row in backward:
        found.append(
            Discrepancy(
                check="reversals",
                transaction=uuid_text(row["public_id"]),
                currency=row["currency"],
                problem="marked reversed but not reversed exactly once",
                expected="1 reversal",
                found=f"{row['reversals']} reversals",
            )
        )
    return CheckResult("reversals", forward_total + backward_total, found)


def _holds_in_scope(scope: Scope, alias: str) -> tuple[str, list[SQLParam]]:
    """Return an SQL condition that the hold row ``alias`` is in scope, and its parameters.

    ``account``: the holds on the account or to it. ``since``: the holds on an account that
    moved since the cutoff (a capture is a posting), and those placed or resolved since then.
    """
    if scope.kind == "account":
        return f"({alias}.account_id = %s OR {alias}.destination_account_id = %s)", [scope.account_pk] * 2
    if scope.kind == "since":
        condition, params = scope.accounts(f"{alias}.account_id")
        cutoff = _timestamp(scope.cutoff)
        return f"({condition} OR {alias}.created_at >= %s OR {alias}.resolved_at >= %s)", [*params, cutoff, cutoff]
    return "1 = 1", []


def _instant(value: object) -> str:
    """Return a timestamp as ISO text (the driver gives a datetime, or SQLite text)."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def check_reservations(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that every account's stored ``reserved_minor`` is what its pending holds still reserve (check 7).

    What a hold recorded as ``pending`` reserves is its amount less what it captured, until its
    status changes, even past ``expires_at`` (reads add a lapsed hold back; a write or
    ``expire_holds`` records it): the sum over the account's pending holds, 0 without any. One
    aggregate of the pending holds (a partial index holds them), joined to the accounts. A
    ``since`` scope checks every account, as the other scopes their own: a reservation changes
    without a posting (a hold placed or voided), and the pass reads only the accounts.
    """
    if scope.kind == "account":
        (inner, inner_params), (outer, outer_params) = scope.accounts("h.account_id"), scope.accounts("a.id")
    else:
        (inner, inner_params), (outer, outer_params) = ("1 = 1", []), ("1 = 1", [])
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    rows, total = _capped(
        cursor,
        f"""
        WITH held AS {materialized} (
            SELECT h.account_id, SUM(h.amount_minor - h.captured_minor) AS reserved, COUNT(*) AS holds
              FROM accounts_hold h
             WHERE h.status = 'pending' AND {inner}
             GROUP BY h.account_id)
        SELECT a.id, a.public_id, a.currency, a.reserved_minor AS stored,
               COALESCE(r.reserved, 0) AS derived, COALESCE(r.holds, 0) AS holds
          FROM accounts_account a
          LEFT JOIN held r ON r.account_id = a.id
         WHERE {outer} AND a.reserved_minor <> COALESCE(r.reserved, 0)
        """,
        [*inner_params, *outer_params],
        order_by="id",
        limit=limit,
    )
    return CheckResult(
        "reservations",
        total,
        [
            Discrepancy(
                check="reservations",
                account=uuid_text(row["public_id"]),
                currency=row["currency"],
                problem=f"stored reservation differs from what its {row['holds']} pending hold(s) reserve",
                expected=_money(row["derived"], row["currency"]),
                found=_money(row["stored"], row["currency"]),
            )
            for row in rows
        ],
    )


def check_hold_captures(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that no hold captured more than its amount, and that it captured the sum of its captures (check 8).

    A capture is a transaction whose ``hold`` is the hold; a hold without one has captured 0.
    One aggregate of the captures (a partial index on ``hold_id`` finds them), joined to the holds.
    """
    condition, params = _holds_in_scope(scope, "h")
    captures = "t.hold_id IS NOT NULL"
    capture_params: list[SQLParam] = []
    if scope.kind != "all":
        held, capture_params = _holds_in_scope(scope, "sh")
        captures += f" AND t.hold_id IN (SELECT sh.id FROM accounts_hold sh WHERE {held})"
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    rows, total = _capped(
        cursor,
        f"""
        WITH captured AS {materialized} (
            SELECT t.hold_id, SUM(t.amount_minor) AS total, COUNT(*) AS captures
              FROM transactions_transaction t
             WHERE {captures}
             GROUP BY t.hold_id)
        SELECT h.id, h.public_id, h.currency, h.amount_minor, h.captured_minor, a.public_id AS account,
               COALESCE(c.total, 0) AS summed, COALESCE(c.captures, 0) AS captures
          FROM accounts_hold h
          JOIN accounts_account a ON a.id = h.account_id
          LEFT JOIN captured c ON c.hold_id = h.id
         WHERE {condition} AND (h.captured_minor > h.amount_minor OR h.captured_minor <> COALESCE(c.total, 0))
        """,
        [*capture_params, *params],
        order_by="id",
        limit=limit,
        problems=_flags("captured_minor > amount_minor", "captured_minor <> summed"),
    )
    found = []
    for row in rows:
        currency = row["currency"]
        common = {
            "check": "hold_captures",
            "account": uuid_text(row["account"]),
            "currency": currency,
            "hold": uuid_text(row["public_id"]),
        }
        if row["captured_minor"] > row["amount_minor"]:
            found.append(
                Discrepancy(
                    **common,
                    problem="hold captured more than its amount",
                    expected=f"at most {_money(row['amount_minor'], currency)}",
                    found=_money(row["captured_minor"], currency),
                )
            )
        if row["captured_minor"] != int(row["summed"]):
            found.append(
                Discrepancy(
                    **common,
                    problem=f"captured amount differs from the sum of its {row['captures']} capture(s)",
                    expected=_money(row["summed"], currency),
                    found=_money(row["captured_minor"], currency),
                )
            )
    return CheckResult("hold_captures", total, found)


_CAPTURE_FLAGS = (
    "kind <> hold_kind",
    "COALESCE(source_account_id, 0) <> hold_account_id",
    "COALESCE(destination_account_id, 0) <> COALESCE(hold_destination_id, 0)",
    "currency <> hold_currency",
    "after_expiry = 1 OR after_resolution = 1",
)


def check_captures(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that every capture is one of its hold (check 9).

    A capture (a transaction whose ``hold`` is set) debits the hold's account and credits its
    destination: a transfer to it, or a withdrawal when the hold has none; in the hold's
    currency; made before the hold's ``expires_at`` and, once the hold is resolved, at or
    before its ``resolved_at``. The captures in scope (a partial index on ``hold_id``), each
    joined to its hold by primary key.
    """
    condition, params = scope.transactions("t")
    rows, total = _capped(
        cursor,
        f"""
        SELECT t.id, t.public_id, t.kind, t.currency, t.created_at, t.source_account_id, t.destination_account_id,
               h.public_id AS hold, h.account_id AS hold_account_id, h.destination_account_id AS hold_destination_id,
               CASE WHEN h.destination_account_id IS NULL THEN 'withdrawal' ELSE 'transfer' END AS hold_kind,
               h.currency AS hold_currency, h.expires_at, h.resolved_at, h.status AS hold_status,
               CASE WHEN t.created_at >= h.expires_at THEN 1 ELSE 0 END AS after_expiry,
               CASE WHEN h.resolved_at IS NOT NULL AND t.created_at > h.resolved_at THEN 1 ELSE 0 END
                   AS after_resolution,
               source.public_id AS source, destination.public_id AS destination,
               held.public_id AS hold_account, payee.public_id AS hold_destination
          FROM transactions_transaction t
          JOIN accounts_hold h ON h.id = t.hold_id
          JOIN accounts_account held ON held.id = h.account_id
          LEFT JOIN accounts_account payee ON payee.id = h.destination_account_id
          LEFT JOIN accounts_account source ON source.id = t.source_account_id
          LEFT JOIN accounts_account destination ON destination.id = t.destination_account_id
         WHERE t.hold_id IS NOT NULL AND {condition}
           AND (t.kind <> CASE WHEN h.destination_account_id IS NULL THEN 'withdrawal' ELSE 'transfer' END
                OR COALESCE(t.source_account_id, 0) <> h.account_id
                OR COALESCE(t.destination_account_id, 0) <> COALESCE(h.destination_account_id, 0)
                OR t.currency <> h.currency
                OR t.created_at >= h.expires_at
                OR (h.resolved_at IS NOT NULL AND t.created_at > h.resolved_at))
        """,
        params,
        order_by="id",
        limit=limit,
        problems=_flags(*_CAPTURE_FLAGS),
    )
    found = []
    for row in rows:
        common = {
            "check": "captures",
            "account": uuid_text(row["hold_account"]),
            "currency": row["currency"],
            "transaction": uuid_text(row["public_id"]),
            "hold": uuid_text(row["hold"]),
        }
        created, expires, resolved = row["created_at"], row["expires_at"], row["resolved_at"]
        # (whether it is wrong, the problem, expected, found)
        mismatches = [
            (
                row["kind"] != row["hold_kind"],
                "capture is not the kind its hold makes (withdrawal without destination, else transfer)",
                row["hold_kind"],
                row["kind"],
            ),
            (
                row["source_account_id"] != row["hold_account_id"],
                "capture debits another account than its hold's",
                uuid_text(row["hold_account"]) or "none",
                uuid_text(row["source"]) or "none",
            ),
            (
                row["destination_account_id"] != row["hold_destination_id"],
                "capture credits another account than its hold's destination",
                uuid_text(row["hold_destination"]) or "none (a withdrawal)",
                uuid_text(row["destination"]) or "none (a withdrawal)",
            ),
            (
                row["currency"] != row["hold_currency"],
                "capture's currency differs from its hold's",
                row["hold_currency"],
                row["currency"],
            ),
            (
                bool(row["after_expiry"]),
                "capture made once its hold had expired",
                f"before {_instant(expires)}",
                _instant(created),
            ),
            (
                not row["after_expiry"] and bool(row["after_resolution"]),
                f"capture made after its hold was resolved ({row['hold_status']})",
                f"at or before {_instant(resolved)}",
                _instant(created),
            ),
        ]
        found += [
            Discrepancy(**common, problem=problem, expected=expected, found=actual)
            for wrong, problem, expected, actual in mismatches
            if wrong
        ]
    return CheckResult("captures", total, found)


def check_events(cursor: CursorWrapper, scope: Scope, limit: int) -> CheckResult:
    """Check that every transaction has its events (check 10).

    Each transaction has exactly one ``transaction.posted`` event, and one ``transaction.reversed``
    exactly when it is reversed: the posting engine writes them in the transaction's own statement
    (``events.outbox``), so a transaction without its event is an event lost to every consumer.
    History imported in bulk (``txid`` 1, ``ledger.commit_order.IMPORTED``: the rows written before
    the outbox existed, and the seeders') has none and is left out.
    """
    condition, params = scope.transactions("t")
    rows, total = _capped(
        cursor,
        f"""
        SELECT x.* FROM (
            SELECT t.id, t.public_id, t.currency, t.status,
                   (SELECT COUNT(*) FROM events_event e
                     WHERE e.type = 'transaction.posted' AND e.subject_id = t.public_id) AS posted,
                   (SELECT COUNT(*) FROM events_event e
                     WHERE e.type = 'transaction.reversed' AND e.subject_id = t.public_id) AS reversed
              FROM transactions_transaction t
             WHERE t.txid <> %s AND {condition}) x
         WHERE x.posted <> 1 OR x.reversed <> CASE WHEN x.status = 'reversed' THEN 1 ELSE 0 END
        """,
        [str(IMPORTED) if connection.vendor == "postgresql" else IMPORTED, *params],
        order_by="id",
        limit=limit,
        problems=_flags("posted <> 1", "reversed <> CASE WHEN status = 'reversed' THEN 1 ELSE 0 END"),
    )
    found = []
    for row in rows:
        common = {"check": "events", "transaction": uuid_text(row["public_id"]), "currency": row["currency"]}
        if row["posted"] != 1:
            found.append(
                Discrepancy(**common, problem="transaction.posted events", expected="1", found=str(row["posted"]))
            )
        expected = 1 if row["status"] == "reversed" else 0
        if row["reversed"] != expected:
            found.append(
                Discrepancy(
                    **common,
                    problem=f"transaction.reversed events of a {row['status']} transaction",
                    expected=str(expected),
                    found=str(row["reversed"]),
                )
            )
    return CheckResult("events", total, found)


CHECKS: tuple[Check, ...] = (
    Check(1, "balances", "stored balances equal the sums of postings", check_balances),
    Check(2, "transactions", "each transaction's postings sum to zero", check_transactions),
    Check(3, "chains", "gap-free sequences and chained balance_after", check_chains),
    Check(4, "non_negative", "no customer account below zero", check_non_negative),
    Check(5, "currency_totals", "all balances of each currency sum to zero", check_currency_totals),
    Check(6, "reversals", "reversal links agree both ways", check_reversals),
    Check(7, "reservations", "reservations equal what pending holds reserve", check_reservations),
    Check(8, "hold_captures", "holds captured their captures, within amount", check_hold_captures),
    Check(9, "captures", "each capture matches its hold", check_captures),
    Check(10, "events", "each transaction has its events", check_events),
)

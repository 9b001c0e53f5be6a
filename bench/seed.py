"""The benchmark's data, written with set-based SQL (``INSERT ... SELECT generate_series``).

Everything the ledger guarantees holds after seeding, and ``reconcile`` checks it before the
first scenario runs:

- ``customers`` USD accounts owned by the bench client, each funded by one deposit from the
  USD system account (sequence 1, ``balance_after`` = the deposit), for scenarios 1, 3 and 5;
- one *hot* USD account, funded by one large deposit, for scenario 2;
- one *history* EUR account with ``history`` postings: alternating deposits and withdrawals
  against the EUR system account, one a second, in the past, for scenario 4. It is EUR so
  that nothing the write scenarios do touches it or its system account.

The per-account ``sequence`` is gap-free from 1 and every ``balance_after`` is the running sum
(a window function over the account's postings in transaction order); stored balances and
``last_sequence`` are set from the postings at the end. System accounts' legs carry neither,
and their rows keep no balance (``accounts.models``). No trigger fires while the rows load
(one trigger call per row would dominate the load time; see :func:`_triggers_off`), and
everything is back on before anything else runs; reconcile then proves the rows balanced.
"""

# ruff: noqa: S608 -- fixed SQL text; the only values in it are query parameters.
from __future__ import annotations

from dataclasses import dataclass

import psycopg

CUSTOMER_FUNDS = 100_000_000  # 1,000,000.00 USD each
HOT_FUNDS = 10_000_000_000_000  # 100,000,000,000.00 USD

_ACCOUNT_COLUMNS = (
    "public_id, owner_id, name, currency, is_system, status, balance_minor, last_sequence, metadata, "
    "created_at, updated_at"
)


@dataclass
class Seeded:
    customer_ids: list[str]  # public ids, for the load generator
    customer_lo: int  # primary keys customer_lo..customer_hi, for pgbench
    customer_hi: int
    hot_id: str
    hot_pk: int
    history_id: str
    client_pk: int


def _system_account(cur: psycopg.Cursor, currency: str) -> int:
    cur.execute(
        f"INSERT INTO accounts_account ({_ACCOUNT_COLUMNS}) "
        "VALUES (gen_random_uuid(), NULL, %s, %s, true, 'active', 0, 0, '{}', now(), now()) "
        "ON CONFLICT DO NOTHING",
        [f"World ({currency})", currency],
    )
    cur.execute("SELECT id FROM accounts_account WHERE is_system AND currency = %s", [currency])
    return cur.fetchone()[0]


def _superuser(cur: psycopg.Cursor) -> bool:
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    return bool(cur.fetchone()[0])


def _triggers_off(cur: psycopg.Cursor) -> None:
    """No trigger fires for this session's writes (the zero-sum check, and the foreign keys'
    deferred checks, which cost more than the load itself); reconcile checks the result.

    A superuser gets pg_restore's ``session_replication_role = replica``; anyone else disables
    the ledger's own triggers (the foreign keys are then checked at the end).
    """
    if _superuser(cur):
        cur.execute("SET session_replication_role = replica")
    else:  # ALTER TABLE is transactional: a failure leaves them on.
        for table in ("transactions_transaction", "transactions_posting"):
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    imported(cur)


def imported(cur: psycopg.Cursor, *, on: bool = True) -> None:
    """Record this transaction's rows as imported history (``ledger.commit_order.IMPORTED``), or stop.

    The seed is history the benchmark starts from, not changes made now: like the engine's bulk
    path (``transactions.engine.bulk``) it writes no events, and its rows come before every
    posting's own in commit order, so ``reconcile``'s event check leaves them out.
    """
    from ledger.commit_order import DEFAULT_SQL, IMPORTED

    default = f"'{IMPORTED}'" if on else DEFAULT_SQL
    for table in ("transactions_transaction", "transactions_posting"):
        cur.execute(f"ALTER TABLE {table} ALTER COLUMN txid SET DEFAULT {default}")


def _triggers_on(cur: psycopg.Cursor) -> None:
    imported(cur, on=False)
    if _superuser(cur):
        cur.execute("SET session_replication_role = DEFAULT")
    else:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # Check the deferred foreign keys now.
        for table in ("transactions_transaction", "transactions_posting"):
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def seed(dsn: str, *, client_pk: int, customers: int, history: int) -> Seeded:
    """Open and fund the accounts; write the history account's ``history`` postings.

    Django must be set up (``bench.database.manage`` has migrated the database): the rows are
    written in the columns of the posting engine's writes (:mod:`transactions.engine.bulk`).
    """
    from transactions.engine.bulk import BALANCE_COLUMNS, POSTING_COLUMNS, TRANSACTION_COLUMNS

    transaction_columns, posting_columns = ", ".join(TRANSACTION_COLUMNS), ", ".join(POSTING_COLUMNS)
    balances = ", ".join(
        f"{column} = {value}" for column, value in zip(BALANCE_COLUMNS, ("p.balance", "p.legs", "now()"), strict=True)
    )
    with psycopg.connect(dsn, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SET statement_timeout = 0")
        usd = _system_account(cur, "USD")
        eur = _system_account(cur, "EUR")
        # Customers first, so that their primary keys are one contiguous range (pgbench picks in it).
        cur.execute(
            f"INSERT INTO accounts_account ({_ACCOUNT_COLUMNS}) "
            "SELECT gen_random_uuid(), %s, 'bench ' || g, 'USD', false, 'active', 0, 0, '{}', now(), now() "
            "FROM generate_series(1, %s) g ORDER BY g RETURNING id",
            [client_pk, customers],
        )
        ids = sorted(row[0] for row in cur.fetchall())
        assert ids[-1] - ids[0] == len(ids) - 1, "customer ids are not contiguous"
        cur.execute(
            f"INSERT INTO accounts_account ({_ACCOUNT_COLUMNS}) VALUES "
            "(gen_random_uuid(), %(client)s, 'bench hot', 'USD', false, 'active', 0, 0, '{}', now(), now()), "
            "(gen_random_uuid(), %(client)s, 'bench history', 'EUR', false, 'active', 0, 0, '{}', now(), now()) "
            "RETURNING id, currency",
            {"client": client_pk},
        )
        extra = {currency: pk for pk, currency in cur.fetchall()}
        hot, hist = extra["USD"], extra["EUR"]

        _triggers_off(cur)
        # One deposit into every USD customer account and the hot account.
        cur.execute(
            f"INSERT INTO transactions_transaction ({transaction_columns}) "
            "SELECT gen_random_uuid(), 'deposit', 'posted', CASE WHEN a.id = %(hot)s THEN %(hot_funds)s "
            "ELSE %(funds)s END, 'USD', NULL, a.id, 'bench funding', '', '{}', %(client)s, NULL, NULL, "
            "now() - interval '1 day' FROM accounts_account a "
            "WHERE NOT a.is_system AND a.currency = 'USD' ORDER BY a.id",
            {"hot": hot, "hot_funds": HOT_FUNDS, "funds": CUSTOMER_FUNDS, "client": client_pk},
        )
        # History: deposits of 10.00 and withdrawals of 5.00 in turn, oldest first.
        cur.execute(
            f"INSERT INTO transactions_transaction ({transaction_columns}) "
            "SELECT gen_random_uuid(), CASE WHEN g %% 2 = 1 THEN 'deposit' ELSE 'withdrawal' END, 'posted', "
            "CASE WHEN g %% 2 = 1 THEN 1000 ELSE 500 END, 'EUR', "
            "CASE WHEN g %% 2 = 1 THEN NULL ELSE %(hist)s END, CASE WHEN g %% 2 = 1 THEN %(hist)s END, "
            "'bench history', 'H-' || g, '{}', %(client)s, NULL, NULL, "
            "now() - interval '30 days' + g * interval '1 second' FROM generate_series(1, %(n)s) g ORDER BY g",
            {"hist": hist, "client": client_pk, "n": history},
        )
        # Two legs per transaction: the system account (no running balance: accounts.models) and the
        # customer, with its running balance and sequence.
        cur.execute(
            f"""
            INSERT INTO transactions_posting ({posting_columns})
            SELECT txn, account, amount, CASE WHEN leg = 1 THEN sum(amount) OVER w END,
                   CASE WHEN leg = 1 THEN row_number() OVER w END, created_at
              FROM (SELECT t.id AS txn, CASE t.currency WHEN 'USD' THEN %(usd)s ELSE %(eur)s END AS account,
                           CASE t.kind WHEN 'deposit' THEN -t.amount_minor ELSE t.amount_minor END AS amount,
                           t.created_at, 0 AS leg
                      FROM transactions_transaction t
                    UNION ALL
                    SELECT t.id, coalesce(t.destination_account_id, t.source_account_id),
                           CASE t.kind WHEN 'deposit' THEN t.amount_minor ELSE -t.amount_minor END,
                           t.created_at, 1
                      FROM transactions_transaction t) legs
            WINDOW w AS (PARTITION BY account ORDER BY txn ROWS UNBOUNDED PRECEDING)
             ORDER BY txn, leg
            """,
            {"usd": usd, "eur": eur},
        )
        _triggers_on(cur)
        cur.execute(
            f"UPDATE accounts_account a SET {balances} "
            "FROM (SELECT account_id, sum(amount_minor) AS balance, count(*) AS legs "
            "FROM transactions_posting GROUP BY account_id) p WHERE p.account_id = a.id AND NOT a.is_system"
        )
        cur.execute(
            "SELECT public_id::text FROM accounts_account WHERE id BETWEEN %s AND %s ORDER BY id", [ids[0], ids[-1]]
        )
        customer_ids = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT id, public_id::text FROM accounts_account WHERE id IN (%s, %s)", [hot, hist])
        public = dict(cur.fetchall())
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Seeded(
        customer_ids=customer_ids,
        customer_lo=ids[0],
        customer_hi=ids[-1],
        hot_id=public[hot],
        hot_pk=hot,
        history_id=public[hist],
        client_pk=client_pk,
    )

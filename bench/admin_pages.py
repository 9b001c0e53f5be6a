"""Time the operator console's pages on a big ledger (PostgreSQL only).

    createdb ledger_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger_bench \\
        DJANGO_SECURE_SSL_REDIRECT=False DJANGO_SECURE_COOKIES=False \\
        DJANGO_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \\
        .venv/bin/python bench/admin_pages.py --seed 1000000

``--seed N`` migrates the database, then writes N deposits (2N postings: the USD system
account gets N of them), N/10 transfers, N idempotency records and N/100 audit records with
``INSERT ... SELECT generate_series`` and window functions for the running balances, with the
ledger's triggers disabled while it loads (re-enabled after; the data is balanced, and the
script checks it). Only for a throwaway database: it refuses one that already holds
transactions. Without ``--seed`` it times the pages of whatever the database holds.

Each page is fetched through Django's test client as a superuser: one warm-up, then the
median of ``--runs`` fetches; the query count and the slowest query are reported too. The
dashboard's first read (which counts the settled days once and stores them) is timed on its
own, and the streamed CSVs (statements, the transactions export) with the time to their first
line, to their last, and how much the process's peak memory grew meanwhile.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_project.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # The request log would drown the table.

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Account  # noqa: E402
from audit.models import AuditRecord  # noqa: E402
from bench.seed import imported  # noqa: E402
from harness.books import assert_books_balance  # noqa: E402
from transactions.models import DailyTotal, Posting, Transaction  # noqa: E402

CUSTOMERS = 10_000
LEDGER_TABLES = ["transactions_transaction", "transactions_posting"]

SEED_SQL = """
INSERT INTO accounts_account (public_id, owner_id, name, currency, is_system, status, balance_minor,
                              last_sequence, metadata, created_at, updated_at)
SELECT gen_random_uuid(), %(client)s, 'Customer ' || g, 'USD', false, 'active', 0, 0, '{}', %(start)s, %(start)s
  FROM generate_series(1, %(customers)s) g;

CREATE TEMP TABLE bench_customers AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_account WHERE NOT is_system AND owner_id = %(client)s;
CREATE UNIQUE INDEX ON bench_customers (n);

-- Deposits, one a minute, oldest first (ids and timestamps grow together, as in production).
INSERT INTO transactions_transaction (<TRANSACTION_COLUMNS>)
SELECT gen_random_uuid(), 'deposit', 'posted', 1000 + g %% 1000, 'USD', NULL, c.id, '', 'INV-' || g, '{}',
       %(client)s, NULL, NULL, %(start)s::timestamptz + g * interval '1 minute'
  FROM generate_series(1, %(deposits)s) g JOIN bench_customers c ON c.n = g %% %(customers)s
 ORDER BY g;

-- Transfers of 1.00 to the next customer, after the deposits.
INSERT INTO transactions_transaction (<TRANSACTION_COLUMNS>)
SELECT gen_random_uuid(), 'transfer', 'posted', 100, 'USD', s.id, d.id, 'bench', 'TR-' || g, '{}', %(client)s,
       NULL, NULL, %(start)s::timestamptz + (%(deposits)s + g) * interval '1 minute'
  FROM generate_series(1, %(transfers)s) g
  JOIN bench_customers s ON s.n = g %% %(customers)s
  JOIN bench_customers d ON d.n = (g + 1) %% %(customers)s
 ORDER BY g;

-- The system account's legs carry no running balance or sequence (accounts.models).
INSERT INTO transactions_posting (<POSTING_COLUMNS>)
SELECT txn_id, account_id, amount,
       CASE WHEN account_id <> %(system)s THEN sum(amount) OVER w END,
       CASE WHEN account_id <> %(system)s THEN row_number() OVER w END, created_at
  FROM (
        SELECT id AS txn_id, %(system)s::bigint AS account_id, -amount_minor AS amount, created_at, 0 AS leg
          FROM transactions_transaction WHERE kind = 'deposit'
        UNION ALL
        SELECT id, destination_account_id, amount_minor, created_at, 1
          FROM transactions_transaction WHERE kind = 'deposit'
        UNION ALL
        SELECT id, source_account_id, -amount_minor, created_at, 0
          FROM transactions_transaction WHERE kind = 'transfer'
        UNION ALL
        SELECT id, destination_account_id, amount_minor, created_at, 1
          FROM transactions_transaction WHERE kind = 'transfer'
       ) legs
WINDOW w AS (PARTITION BY account_id ORDER BY txn_id ROWS UNBOUNDED PRECEDING)
 ORDER BY txn_id, leg;

UPDATE accounts_account a
   SET balance_minor = p.balance, last_sequence = p.legs
  FROM (SELECT account_id, sum(amount_minor) AS balance, count(*) AS legs
          FROM transactions_posting GROUP BY account_id) p
 WHERE p.account_id = a.id AND NOT a.is_system;

INSERT INTO transactions_idempotencyrecord (client_id, key, fingerprint, response_status, response_body,
                                            transaction_id, created_at)
SELECT %(client)s, 'dep-' || substr(reference, 5), repeat('0', 64), 201, '\\x7b7d'::bytea, id, created_at
  FROM transactions_transaction WHERE kind = 'deposit';

INSERT INTO audit_auditrecord (operator_id, operator_label, action, target_type, target_id, reason, ip_address,
                               details, created_at)
SELECT %(operator)s, 'bench-operator', CASE WHEN g %% 2 = 0 THEN 'freeze' ELSE 'unfreeze' END, 'account',
       c.id::text, 'bench', '127.0.0.1', '{}', %(start)s::timestamptz + g * interval '1 hour'
  FROM generate_series(1, %(audits)s) g JOIN bench_customers c ON c.n = g %% %(customers)s;
"""


def _seed_sql() -> str:
    """The seed, with the columns the posting engine writes (``transactions.engine.bulk``)."""
    from transactions.engine.bulk import POSTING_COLUMNS, TRANSACTION_COLUMNS

    return SEED_SQL.replace("<TRANSACTION_COLUMNS>", ", ".join(TRANSACTION_COLUMNS)).replace(
        "<POSTING_COLUMNS>", ", ".join(POSTING_COLUMNS)
    )


def seed(deposits: int) -> None:
    call_command("migrate", verbosity=0)
    if Transaction.objects.exists():
        sys.exit("refusing to seed: the database already holds transactions (use a throwaway database)")
    users = get_user_model().objects
    client, _ = users.get_or_create(username="bench-client")
    operator, _ = users.get_or_create(username="bench-operator", defaults={"is_staff": True})
    system = Account.objects.get(is_system=True, currency="USD")
    params = {
        "client": client.pk,
        "operator": operator.pk,
        "system": system.pk,
        "customers": CUSTOMERS,
        "deposits": deposits,
        "transfers": deposits // 10,
        "audits": max(1, deposits // 100),
        "start": "2024-01-01T00:00:00Z",
    }
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        for table in LEDGER_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        imported(cursor)
        try:
            for statement in _seed_sql().split(";\n"):
                if statement.strip():
                    cursor.execute(statement, params)
        finally:
            imported(cursor, on=False)
            for table in LEDGER_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded in {time.monotonic() - started:.0f} s")
    assert_books_balance(connection)  # The accounting equation, as the tests check it.
    if call_command("reconcile", verbosity=0) not in (None, 0):
        raise SystemExit("reconcile found the seeded ledger wrong")


def time_page(client: Client, url: str, runs: int) -> tuple[float, int, float]:
    """(median ms, queries, slowest query ms) of ``url``."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    slowest = max((float(q["time"]) * 1000 for q in queries.captured_queries), default=0.0)
    return statistics.median(timings), len(queries), slowest


def pages() -> list[tuple[str, str]]:
    system = Account.objects.get(is_system=True, currency="USD")
    customer = Account.objects.filter(is_system=False).order_by("pk").first()
    newest = Transaction.objects.order_by("-pk").first()
    oldest = Transaction.objects.order_by("pk").first()
    audit = AuditRecord.objects.order_by("-pk").first()
    reference = Transaction.objects.filter(kind="deposit").order_by("pk").values_list("reference", flat=True)[500]
    operator = AuditRecord.objects.values_list("operator_id", flat=True).first()
    year = oldest.created_at.year + 1
    t, p, a, r = (
        "/admin/transactions/transaction/",
        "/admin/transactions/posting/",
        "/admin/accounts/account/",
        "/admin/audit/auditrecord/",
    )
    month = (timezone.localdate() - datetime.timedelta(days=31)).isoformat(), timezone.localdate().isoformat()
    statement = f"?start={month[0]}&end={month[1]}"
    return [
        ("dashboard (settled days stored)", "/admin/"),
        ("statement: customer, 31 days", f"{a}{customer.pk}/statement/{statement}"),
        ("statement: system account, 31 days", f"{a}{system.pk}/statement/{statement}"),
        ("transactions: list", t),
        ("transactions: page 2", t + "?p=2"),
        ("transactions: page 200", t + "?p=200"),
        ("transactions: kind=transfer", t + "?kind__exact=transfer"),
        ("transactions: status=reversed", t + "?status__exact=reversed"),
        ("transactions: currency=EUR (none)", t + "?currency=EUR"),
        ("transactions: a year", t + f"?created_at__year={year}"),
        ("transactions: a month", t + f"?created_at__year={year}&created_at__month=3"),
        ("transactions: a day", t + f"?created_at__year={year}&created_at__month=3&created_at__day=14"),
        ("transactions: search id", t + f"?q={oldest.public_id}"),
        ("transactions: search customer account id", t + f"?q={customer.public_id}"),
        ("transactions: search system account id", t + f"?q={system.public_id}"),
        ("transactions: search reference", t + f"?q={reference}"),
        ("transactions: search reference (recent)", t + "?q=TR-99999"),
        ("transactions: search idempotency key", t + "?q=dep-777777"),
        ("transactions: search, no match", t + "?q=nothing-like-this"),
        ("transactions: search reference, other case", t + f"?q={reference.lower()}"),
        ("transactions: search account name", t + "?q=customer 4242"),
        ("transactions: search short id", t + f"?q={str(oldest.public_id)[:8]}"),
        ("transaction: detail", f"{t}{newest.pk}/change/"),
        ("transaction: reverse confirmation", f"{t}{oldest.pk}/reverse/"),
        ("postings: list", p),
        ("postings: system account history (1M)", p + f"?account={system.pk}"),
        ("postings: system account history p.100", p + f"?account={system.pk}&p=100"),
        ("postings: customer account history", p + f"?account={customer.pk}"),
        ("postings: search transaction id", p + f"?q={oldest.public_id}"),
        ("accounts: list", a),
        ("accounts: status=frozen", a + "?status__exact=frozen"),
        ("accounts: type=system", a + "?type=system"),
        ("accounts: search name prefix", a + "?q=Customer 4242"),
        ("accounts: search owner", a + "?q=bench-client"),
        ("account: system detail (1M postings)", f"{a}{system.pk}/change/"),
        ("account: customer detail", f"{a}{customer.pk}/change/"),
        ("audit: list", r),
        ("audit: operator filter", r + f"?operator={operator}"),
        ("audit: action=close (none)", r + "?action__exact=close"),
        ("audit: a month", r + f"?created_at__year={year}&created_at__month=3"),
        ("audit: detail", f"{r}{audit.pk}/change/"),
        ("holds: list", "/admin/accounts/hold/"),
        ("holds: status=pending", "/admin/accounts/hold/?status=pending"),
        ("holds: expires within 24 h", "/admin/accounts/hold/?expiry=24h"),
    ]


def time_stream(client: Client, url: str) -> tuple[float, float, float, int]:
    """(ms to the first line, ms to the last, MB the process's peak memory grew by, lines) of a streamed CSV.

    The peak is the process's high-water mark (``ru_maxrss``): it grows only if streaming needed
    more memory than anything before it.
    """
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.streaming, url
    lines, first = 0, 0.0
    for _ in response.streaming_content:
        if not lines:
            first = (time.perf_counter() - started) * 1000
        lines += 1
    total = (time.perf_counter() - started) * 1000
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # kB on Linux
    return first, total, grown, lines


def streams() -> list[tuple[str, str]]:
    system = Account.objects.get(is_system=True, currency="USD")
    customer = Account.objects.filter(is_system=False).order_by("pk").first()
    year = timezone.localdate().year
    a_year = f"?start={year - 1}-01-01&end={year}-12-31&format=csv"
    a = "/admin/accounts/account/"
    return [
        ("statement CSV: customer, two years", f"{a}{customer.pk}/statement/{a_year}"),
        ("statement CSV: system account, two years", f"{a}{system.pk}/statement/{a_year}"),
        ("transactions CSV: kind=transfer", "/admin/transactions/transaction/export.csv?kind__exact=transfer"),
        ("transactions CSV: every row", "/admin/transactions/transaction/export.csv"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, metavar="DEPOSITS", help="seed a throwaway database first")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only")
    if args.seed:
        seed(args.seed)
    setup_test_environment()
    root, _ = get_user_model().objects.get_or_create(
        username="bench-root", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(root)
    print(f"{Posting.objects.count():,} postings, {Transaction.objects.count():,} transactions")
    DailyTotal.objects.all().delete()
    started = time.perf_counter()
    assert client.get("/admin/").status_code == 200
    print(f"{'dashboard, first read (counts 30 days once)':45} {(time.perf_counter() - started) * 1000:10.1f}")
    print(f"{'page':45} {'median ms':>10} {'queries':>8} {'slowest query ms':>17}")
    for label, url in pages():
        median, queries, slowest = time_page(client, url, args.runs)
        print(f"{label:45} {median:10.1f} {queries:8d} {slowest:17.1f}")
    print(f"{'streamed CSV':45} {'first line ms':>14} {'all ms':>9} {'peak +MB':>9} {'lines':>9}")
    for label, url in streams():
        first, total, peak, lines = time_stream(client, url)
        print(f"{label:45} {first:14.1f} {total:9.1f} {peak:9.1f} {lines:9,d}")
    # One reversal through the confirmation page (this writes: a throwaway database only).
    deposit = Transaction.objects.filter(kind="deposit", status="posted").order_by("-pk").first()
    url = f"/admin/transactions/transaction/{deposit.pk}/reverse/"
    token = client.get(url).context["form"]["token"].value()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post(url, {"reason": "bench", "token": token})
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 302, response.status_code
    assert Transaction.objects.get(pk=deposit.pk).status == "reversed"
    print(f"{'reverse: confirm (POST, writes)':45} {elapsed:10.1f} {len(queries):8d}")


if __name__ == "__main__":
    main()

"""Database-side guards of the ledger's invariants (PostgreSQL only).

- ``transaction_balanced`` / ``posting_balanced``: deferred constraint triggers that check,
  at commit, that every transaction written has at least two postings, that they sum to
  zero, and that each is on an account of the transaction's currency.
- ``posting_append_only``: postings are never updated or deleted.
- ``transaction_append_only``: a transaction is never deleted; its only change is its
  status from ``posted`` to ``reversed``, and only once its reversal exists.

Violations raise SQLSTATE 23514 (check) or 23001 (restrict), which Django reports as
``IntegrityError``. The services check the same rules first, so these fire only on a bug
or on a write that bypasses the service. SQLite (the embedded demo default) has the
CHECK and UNIQUE constraints of the models but not these triggers.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ledger_assert_balanced(txn_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    txn_currency varchar;
    legs integer;
    total numeric;
    foreign_legs integer;
BEGIN
    SELECT t.currency INTO txn_currency FROM transactions_transaction t WHERE t.id = txn_id;
    SELECT count(*), coalesce(sum(p.amount_minor), 0), count(*) FILTER (WHERE a.currency <> txn_currency)
      INTO legs, total, foreign_legs
      FROM transactions_posting p JOIN accounts_account a ON a.id = p.account_id
     WHERE p.transaction_id = txn_id;
    IF legs < 2 OR total <> 0 OR foreign_legs > 0 THEN
        RAISE EXCEPTION 'transaction % is unbalanced: % postings summing to %, % on accounts of another currency',
            txn_id, legs, total, foreign_legs
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transaction_postings_balanced';
    END IF;
END $$;

CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_assert_balanced(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_posting_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_assert_balanced(NEW.transaction_id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transaction_balanced
    AFTER INSERT ON transactions_transaction DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

CREATE CONSTRAINT TRIGGER posting_balanced
    AFTER INSERT ON transactions_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced();

CREATE FUNCTION ledger_refuse_posting_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'postings are append-only: % of posting % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER posting_append_only
    BEFORE UPDATE OR DELETE ON transactions_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_posting_change();

CREATE FUNCTION ledger_guard_transaction_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.status = 'posted' AND NEW.status = 'reversed'
       AND (to_jsonb(NEW) - 'status') = (to_jsonb(OLD) - 'status')
       AND EXISTS (SELECT 1 FROM transactions_transaction r WHERE r.reverses_id = OLD.id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'transactions are append-only (only posted -> reversed, once reversed): % of transaction % refused',
        TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER transaction_append_only
    BEFORE UPDATE OR DELETE ON transactions_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_guard_transaction_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS transaction_append_only ON transactions_transaction;
DROP FUNCTION IF EXISTS ledger_guard_transaction_change();
DROP TRIGGER IF EXISTS posting_append_only ON transactions_posting;
DROP FUNCTION IF EXISTS ledger_refuse_posting_change();
DROP TRIGGER IF EXISTS posting_balanced ON transactions_posting;
DROP TRIGGER IF EXISTS transaction_balanced ON transactions_transaction;
DROP FUNCTION IF EXISTS ledger_posting_balanced();
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
DROP FUNCTION IF EXISTS ledger_assert_balanced(bigint);
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("transactions", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD), elidable=False)]

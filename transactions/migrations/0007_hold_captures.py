"""Captures of holds: ``transaction.hold`` and ``idempotencyrecord.hold``, and their guards.

Both tables grow with every posting, so the new nullable columns are added without a table
rewrite, and on PostgreSQL their foreign keys are added ``NOT VALID`` and then validated
(which does not block writes), and the partial index on captures is built concurrently
(``atomic = False``). On PostgreSQL, triggers guard captures:

- ``capture_guard`` (before a transaction with a hold is inserted): a capture is a withdrawal
  (the hold has no destination) or a transfer to the hold's destination, from the held account,
  in the hold's currency, while the hold is pending and before it expires, for no more than the
  hold still reserves.
- ``capture_total`` / ``hold_capture_total``: deferred constraint triggers that check, at
  commit, that a hold's ``captured_minor`` is the sum of its captures.

Violations raise SQLSTATE 23514 (check), reported by Django as ``IntegrityError``. SQLite
has neither trigger.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ledger.migration_operations import AddFieldExceptOnPostgreSQL, AddIndexWithoutBlocking, run_sql_on_postgresql

_COLUMNS = """
ALTER TABLE transactions_transaction ADD COLUMN hold_id bigint NULL;
ALTER TABLE transactions_transaction ADD CONSTRAINT transactions_transaction_hold_id_fk_accounts_hold_id
    FOREIGN KEY (hold_id) REFERENCES accounts_hold (id) DEFERRABLE INITIALLY DEFERRED NOT VALID;
ALTER TABLE transactions_idempotencyrecord ADD COLUMN hold_id bigint NULL;
ALTER TABLE transactions_idempotencyrecord ADD CONSTRAINT transactions_idempotencyrecord_hold_id_fk_accounts_hold_id
    FOREIGN KEY (hold_id) REFERENCES accounts_hold (id) DEFERRABLE INITIALLY DEFERRED NOT VALID;
"""

_VALIDATE = """
ALTER TABLE transactions_transaction VALIDATE CONSTRAINT transactions_transaction_hold_id_fk_accounts_hold_id;
ALTER TABLE transactions_idempotencyrecord
    VALIDATE CONSTRAINT transactions_idempotencyrecord_hold_id_fk_accounts_hold_id;
"""

_DROP_COLUMNS = """
ALTER TABLE transactions_idempotencyrecord DROP COLUMN hold_id;
ALTER TABLE transactions_transaction DROP COLUMN hold_id;
"""

_TRIGGERS = """
CREATE FUNCTION ledger_guard_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h accounts_hold%ROWTYPE;
BEGIN
    SELECT * INTO h FROM accounts_hold WHERE id = NEW.hold_id;
    IF h.status = 'pending'
       AND NEW.created_at < h.expires_at
       AND NEW.source_account_id = h.account_id
       AND NEW.destination_account_id IS NOT DISTINCT FROM h.destination_account_id
       AND ((h.destination_account_id IS NULL AND NEW.kind = 'withdrawal')
            OR (h.destination_account_id IS NOT NULL AND NEW.kind = 'transfer'))
       AND NEW.currency = h.currency
       AND NEW.amount_minor <= h.amount_minor - h.captured_minor
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'transaction % is no capture of hold % (%, % of % captured, expires %)',
        NEW.public_id, NEW.hold_id, h.status, h.captured_minor, h.amount_minor, h.expires_at
        USING ERRCODE = 'check_violation', CONSTRAINT = 'capture_of_pending_hold';
END $$;

CREATE TRIGGER capture_guard
    BEFORE INSERT ON transactions_transaction
    FOR EACH ROW WHEN (NEW.hold_id IS NOT NULL) EXECUTE FUNCTION ledger_guard_capture();

CREATE FUNCTION ledger_assert_captured(hold_pk bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stored bigint;
    captured numeric;
BEGIN
    SELECT h.captured_minor INTO stored FROM accounts_hold h WHERE h.id = hold_pk;
    SELECT coalesce(sum(t.amount_minor), 0) INTO captured FROM transactions_transaction t WHERE t.hold_id = hold_pk;
    IF stored <> captured THEN
        RAISE EXCEPTION 'hold % records % captured but its captures sum to %', hold_pk, stored, captured
            USING ERRCODE = 'check_violation', CONSTRAINT = 'hold_captured_is_its_captures';
    END IF;
END $$;

CREATE FUNCTION ledger_capture_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_assert_captured(NEW.hold_id);
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_hold_capture_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_assert_captured(NEW.id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER capture_total
    AFTER INSERT ON transactions_transaction DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.hold_id IS NOT NULL) EXECUTE FUNCTION ledger_capture_total();

CREATE CONSTRAINT TRIGGER hold_capture_total
    AFTER UPDATE OF captured_minor ON accounts_hold DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_capture_total();
"""

_DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS hold_capture_total ON accounts_hold;
DROP TRIGGER IF EXISTS capture_total ON transactions_transaction;
DROP FUNCTION IF EXISTS ledger_hold_capture_total();
DROP FUNCTION IF EXISTS ledger_capture_total();
DROP FUNCTION IF EXISTS ledger_assert_captured(bigint);
DROP TRIGGER IF EXISTS capture_guard ON transactions_transaction;
DROP FUNCTION IF EXISTS ledger_guard_capture();
"""

_TRANSACTION_HOLD = models.ForeignKey(
    blank=True,
    db_index=False,
    editable=False,
    help_text="The hold this transaction captures, if it is a capture.",
    null=True,
    on_delete=django.db.models.deletion.PROTECT,
    related_name="captures",
    to="accounts.hold",
)
_RECORD_HOLD = models.ForeignKey(
    blank=True,
    db_index=False,
    help_text="The hold a hold's creation or void answered with.",
    null=True,
    on_delete=django.db.models.deletion.PROTECT,
    related_name="+",
    to="accounts.hold",
)


class Migration(migrations.Migration):
    atomic = False  # Each step is its own transaction: the validation and the index do not block writes.

    dependencies = [
        ("accounts", "0005_holds"),
        ("transactions", "0006_system_legs_carry_no_running_balance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddFieldExceptOnPostgreSQL(model_name="transaction", name="hold", field=_TRANSACTION_HOLD),
        AddFieldExceptOnPostgreSQL(model_name="idempotencyrecord", name="hold", field=_RECORD_HOLD),
        run_sql_on_postgresql(_COLUMNS, _DROP_COLUMNS),
        run_sql_on_postgresql(_VALIDATE, "SELECT 1"),
        AddIndexWithoutBlocking(
            model_name="transaction",
            index=models.Index(condition=models.Q(("hold__isnull", False)), fields=["hold"], name="txn_hold_idx"),
        ),
        run_sql_on_postgresql(_TRIGGERS, _DROP_TRIGGERS),
    ]

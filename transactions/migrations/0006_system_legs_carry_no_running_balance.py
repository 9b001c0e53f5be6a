"""System accounts keep no running balance: their postings carry no sequence or balance_after.

Deposits and withdrawals used to lock their currency's system account to update its stored
balance and number its posting, so every deposit of a currency queued on one row, and one
client could drive that balance to the storage limit. From here on a leg on a system account
is appended without touching its row (``accounts`` migration 0004 zeroes the stored balance).

- ``sequence`` and ``balance_after_minor`` may be NULL, both or neither (a CHECK, added
  without blocking writes while existing rows are checked: ``atomic = False``).
- The deferred zero-sum check also refuses, at commit, a leg numbered the wrong way for its
  account: a system account's leg without a sequence, a customer's with one. Legs written
  before this migration keep the numbers they had; only new rows are checked.

Deploy the code of this release together with this migration: the previous code numbers
system legs and updates the system balance, which the new constraints refuse.
"""

from django.db import migrations, models
from django.db.models import Q

from ledger.migration_operations import AddCheckConstraintWithoutBlocking

_CHECK_BALANCED = """
CREATE OR REPLACE FUNCTION ledger_assert_balanced(txn_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    txn_currency varchar;
    legs integer;
    total numeric;
    foreign_legs integer;
    misnumbered integer;
BEGIN
    SELECT t.currency INTO txn_currency FROM transactions_transaction t WHERE t.id = txn_id;
    SELECT count(*), coalesce(sum(p.amount_minor), 0), count(*) FILTER (WHERE a.currency <> txn_currency),
           count(*) FILTER (WHERE a.is_system <> (p.sequence IS NULL))
      INTO legs, total, foreign_legs, misnumbered
      FROM transactions_posting p JOIN accounts_account a ON a.id = p.account_id
     WHERE p.transaction_id = txn_id;
    IF legs < 2 OR total <> 0 OR foreign_legs > 0 THEN
        RAISE EXCEPTION 'transaction % is unbalanced: % postings summing to %, % on accounts of another currency',
            txn_id, legs, total, foreign_legs
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transaction_postings_balanced';
    END IF;
    IF misnumbered > 0 THEN
        RAISE EXCEPTION 'transaction % has % postings numbered the wrong way for their account '
            '(a system account''s carry no sequence, a customer''s do)', txn_id, misnumbered
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_numbered_by_account_kind';
    END IF;
END $$;
"""

# The function as migration 0002 created it.
_CHECK_BALANCED_BEFORE = """
CREATE OR REPLACE FUNCTION ledger_assert_balanced(txn_id bigint) RETURNS void LANGUAGE plpgsql AS $$
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
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    atomic = False  # The constraint's validation scans postings without blocking writes.

    dependencies = [("transactions", "0005_batches"), ("accounts", "0003_admin_indexes")]

    operations = [
        migrations.AlterField(
            model_name="posting",
            name="balance_after_minor",
            field=models.BigIntegerField(
                help_text="The account's balance once this posting applied; none on a system account.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="posting",
            name="sequence",
            field=models.BigIntegerField(
                help_text="1, 2, 3... per account, in the order postings were applied; none on a system account.",
                null=True,
            ),
        ),
        AddCheckConstraintWithoutBlocking(
            model_name="posting",
            constraint=models.CheckConstraint(
                condition=Q(sequence__isnull=True, balance_after_minor__isnull=True)
                | Q(sequence__isnull=False, balance_after_minor__isnull=False),
                name="posting_sequence_with_balance_after",
            ),
        ),
        migrations.RunPython(_on_postgresql(_CHECK_BALANCED), _on_postgresql(_CHECK_BALANCED_BEFORE), elidable=False),
    ]

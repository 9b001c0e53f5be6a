"""An idempotency key may answer an account's opening: ``idempotencyrecord.account``.

The records table grows with every posting, so the nullable column is added without a table
rewrite and, on PostgreSQL, its foreign key is added ``NOT VALID`` and then validated (which
does not block writes). No index: a record is never looked up by its account.
"""

import django.db.models.deletion
from django.db import migrations, models

from ledger.migration_operations import AddFieldExceptOnPostgreSQL, run_sql_on_postgresql

_COLUMN = """
ALTER TABLE transactions_idempotencyrecord ADD COLUMN account_id bigint NULL;
ALTER TABLE transactions_idempotencyrecord
    ADD CONSTRAINT transactions_idempotencyrecord_account_id_fk_accounts_account_id
    FOREIGN KEY (account_id) REFERENCES accounts_account (id) DEFERRABLE INITIALLY DEFERRED NOT VALID;
"""

_VALIDATE = """
ALTER TABLE transactions_idempotencyrecord
    VALIDATE CONSTRAINT transactions_idempotencyrecord_account_id_fk_accounts_account_id;
"""

_DROP_COLUMN = "ALTER TABLE transactions_idempotencyrecord DROP COLUMN account_id;"

_RECORD_ACCOUNT = models.ForeignKey(
    blank=True,
    db_index=False,
    help_text="The account an account's opening answered with.",
    null=True,
    on_delete=django.db.models.deletion.PROTECT,
    related_name="+",
    to="accounts.account",
)


class Migration(migrations.Migration):
    atomic = False  # Each step is its own transaction: the validation does not block writes.

    dependencies = [
        ("accounts", "0007_commit_order"),
        ("transactions", "0009_commit_order"),
    ]

    operations = [
        AddFieldExceptOnPostgreSQL(model_name="idempotencyrecord", name="account", field=_RECORD_ACCOUNT),
        run_sql_on_postgresql(_COLUMN, _DROP_COLUMN),
        run_sql_on_postgresql(_VALIDATE, "SELECT 1"),
    ]

"""Accounts and holds record the database transaction that inserted them (``txid``, ``ledger.commit_order``).

The API's lists page through them in ``(txid, id)`` order below the snapshot's horizon, so a
row that commits late is never skipped. The columns are added without rewriting the tables
(existing rows read ``txid`` 1) and the indexes built concurrently, so writes go on throughout.
"""

from django.db import migrations, models

from ledger.commit_order import txid_field
from ledger.migration_operations import AddIndexWithoutBlocking, AddTransactionIdField


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction.

    dependencies = [("accounts", "0006_available_balance_checks")]

    operations = [
        AddTransactionIdField(model_name="account", name="txid", field=txid_field()),
        AddTransactionIdField(model_name="hold", name="txid", field=txid_field()),
        AddIndexWithoutBlocking(
            model_name="account", index=models.Index(fields=["owner", "txid", "id"], name="account_owner_order_idx")
        ),
        AddIndexWithoutBlocking(
            model_name="account", index=models.Index(fields=["txid", "id"], name="account_commit_order_idx")
        ),
        AddIndexWithoutBlocking(
            model_name="hold", index=models.Index(fields=["account", "txid", "id"], name="hold_account_order_idx")
        ),
        AddIndexWithoutBlocking(
            model_name="hold", index=models.Index(fields=["txid", "id"], name="hold_commit_order_idx")
        ),
    ]

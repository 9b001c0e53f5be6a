"""Transactions and postings record the database transaction that inserted them (``txid``).

The API's transaction lists and a system account's history page in ``(txid, id)`` order below
the snapshot's horizon (``ledger.commit_order``), so a transaction that commits late is never
skipped. The columns are added without rewriting the tables (existing rows read ``txid`` 1) and
the indexes built concurrently, so postings go on throughout.
"""

from django.db import migrations, models
from django.db.models import Q

from ledger.commit_order import txid_field
from ledger.migration_operations import AddIndexWithoutBlocking, AddTransactionIdField


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction.

    dependencies = [
        ("accounts", "0007_commit_order"),
        ("transactions", "0008_batch_holds"),
    ]

    operations = [
        AddTransactionIdField(model_name="posting", name="txid", field=txid_field()),
        AddTransactionIdField(model_name="transaction", name="txid", field=txid_field()),
        AddIndexWithoutBlocking(
            model_name="posting",
            index=models.Index(
                fields=["account", "txid", "id"], condition=Q(sequence__isnull=True), name="posting_system_order_idx"
            ),
        ),
        AddIndexWithoutBlocking(
            model_name="transaction", index=models.Index(fields=["txid", "id"], name="txn_commit_order_idx")
        ),
        AddIndexWithoutBlocking(
            model_name="transaction",
            index=models.Index(fields=["kind", "txid", "id"], name="txn_kind_commit_order_idx"),
        ),
        AddIndexWithoutBlocking(
            model_name="transaction",
            index=models.Index(fields=["source_account", "txid", "id"], name="txn_source_commit_order_idx"),
        ),
        AddIndexWithoutBlocking(
            model_name="transaction",
            index=models.Index(fields=["destination_account", "txid", "id"], name="txn_dest_commit_order_idx"),
        ),
    ]

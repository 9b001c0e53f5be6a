"""Trigram indexes for the console's search: transaction references and descriptions, any case, any part.

Built concurrently (writes go on meanwhile), on PostgreSQL only; see ``ledger.search_indexes``.
"""

from django.db import migrations

from ledger.search_indexes import AddTrigramIndexConcurrently, trigram_index


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction.

    dependencies = [
        ("accounts", "0008_trigram_extension"),
        ("transactions", "0010_idempotent_account_opening"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                AddTrigramIndexConcurrently("transaction", trigram_index("reference", "txn_reference_trgm_idx")),
                AddTrigramIndexConcurrently("transaction", trigram_index("description", "txn_description_trgm_idx")),
            ],
        ),
    ]

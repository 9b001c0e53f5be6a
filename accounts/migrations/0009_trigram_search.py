"""Trigram indexes for the console's search: account names and hold references, any case, any part.

Built concurrently (writes go on meanwhile), on PostgreSQL only; see ``ledger.search_indexes``.
"""

from django.db import migrations

from ledger.search_indexes import AddTrigramIndexConcurrently, trigram_index


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction.

    dependencies = [("accounts", "0008_trigram_extension")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                AddTrigramIndexConcurrently("account", trigram_index("name", "account_name_trgm_idx")),
                AddTrigramIndexConcurrently("hold", trigram_index("reference", "hold_reference_trgm_idx")),
            ],
        ),
    ]

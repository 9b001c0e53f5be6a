"""The pg_trgm extension, for the console's case-insensitive search indexes (nothing on SQLite)."""

from django.db import migrations

from ledger.search_indexes import PostgresTrigramExtension


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_commit_order")]

    operations = [PostgresTrigramExtension()]

"""A partial index of the webhook deliveries given up (status ``failed``), for the metrics' count of them.

Built concurrently (writes go on meanwhile) on PostgreSQL; dropped concurrently when reversed.
"""

from django.db import migrations, models

from ledger.migration_operations import AddIndexWithoutBlocking


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction.

    dependencies = [("webhooks", "0001_webhooks")]

    operations = [
        AddIndexWithoutBlocking(
            model_name="webhookdelivery",
            index=models.Index(condition=models.Q(("status", "failed")), fields=["id"], name="delivery_failed_idx"),
        ),
    ]

"""Where publishing to the message broker stands: one new table (``events.broker``), nothing rewritten."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_outbox"),
    ]

    operations = [
        migrations.CreateModel(
            name="BrokerCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=32, unique=True)),
                (
                    "last_txid",
                    models.BigIntegerField(default=0, help_text="The txid of the last event confirmed (0: none yet)."),
                ),
                (
                    "last_event_id",
                    models.BigIntegerField(default=0, help_text="The row id of the last event confirmed (0: none)."),
                ),
                (
                    "published_at",
                    models.DateTimeField(blank=True, help_text="When the position last moved.", null=True),
                ),
                ("lease_owner", models.CharField(blank=True, default="", max_length=128)),
                ("leased_until", models.DateTimeField(blank=True, null=True)),
                (
                    "heartbeat_at",
                    models.DateTimeField(blank=True, help_text="When a publisher last took the lease.", null=True),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("last_txid__gte", 0), ("last_event_id__gte", 0)),
                        name="broker_cursor_position_valid",
                    )
                ],
            },
        ),
    ]

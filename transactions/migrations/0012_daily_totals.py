"""The dashboard's daily totals per currency and kind (``transactions.totals``): a new, small table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0011_trigram_search"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(help_text="The day in settings.TIME_ZONE the transactions were created on.")),
                ("currency", models.CharField(max_length=3)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("deposit", "Deposit"),
                            ("withdrawal", "Withdrawal"),
                            ("transfer", "Transfer"),
                            ("reversal", "Reversal"),
                        ],
                        max_length=10,
                    ),
                ),
                ("count", models.PositiveBigIntegerField()),
                ("volume_minor", models.BigIntegerField(help_text="The sum of their amounts, in minor units.")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("day", "currency", "kind"), name="daily_total_unique"),
                    models.CheckConstraint(
                        condition=models.Q(("volume_minor__gte", 0)), name="daily_total_volume_not_negative"
                    ),
                ],
            },
        ),
    ]

"""The holds a batch placed (``batch.holds``): a new link table, so nothing existing is rewritten."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_available_balance_checks"),
        ("transactions", "0007_hold_captures"),
    ]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="holds",
            field=models.ManyToManyField(
                blank=True, help_text="The holds the batch placed.", related_name="+", to="accounts.hold"
            ),
        ),
    ]

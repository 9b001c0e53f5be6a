"""The audit trail records redeliveries of webhooks: the action "redeliver_webhook" (choices and help text only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_void_hold_action"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditrecord",
            name="action",
            field=models.CharField(
                choices=[
                    ("reverse", "Reverse a transaction"),
                    ("freeze", "Freeze an account"),
                    ("unfreeze", "Unfreeze an account"),
                    ("close", "Close an account"),
                    ("rebuild_balance", "Rebuild a stored balance"),
                    ("void_hold", "Void a hold"),
                    ("redeliver_webhook", "Redeliver a webhook"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="auditrecord",
            name="target_type",
            field=models.CharField(help_text="'account', 'transaction', 'hold' or 'webhook_delivery'.", max_length=20),
        ),
    ]

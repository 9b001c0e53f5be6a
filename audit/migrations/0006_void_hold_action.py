"""The audit trail records voids of holds: the action "void_hold" (choices and help text only, no schema change)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_hold_permissions"),
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
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="auditrecord",
            name="target_type",
            field=models.CharField(help_text="'account', 'transaction' or 'hold'.", max_length=20),
        ),
    ]

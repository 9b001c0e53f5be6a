"""System accounts keep no stored balance: it is derived from their currency's customers.

Zeroes the stored balance and sequence of every system account, then adds the CHECK that
keeps them zero (without blocking writes while existing rows are checked). Reversible while
every system posting still carries its sequence and balance_after (no posting made since):
the stored balances are then recomputed from the postings.
"""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError
from django.db.models import Max, Q, Sum

from ledger.migration_operations import AddCheckConstraintWithoutBlocking


def _zero_system_balances(apps, schema_editor) -> None:
    Account = apps.get_model("accounts", "Account")
    Account.objects.filter(is_system=True).update(balance_minor=0, last_sequence=0)


def _restore_system_balances(apps, schema_editor) -> None:
    Account = apps.get_model("accounts", "Account")
    Posting = apps.get_model("transactions", "Posting")
    if Posting.objects.filter(account__is_system=True, sequence__isnull=True).exists():
        raise IrreversibleError(
            "system postings made since this migration carry no running balance; the old scheme cannot hold them"
        )
    for account in Account.objects.filter(is_system=True):
        totals = Posting.objects.filter(account=account).aggregate(total=Sum("amount_minor"), top=Max("sequence"))
        Account.objects.filter(pk=account.pk).update(
            balance_minor=totals["total"] or 0, last_sequence=totals["top"] or 0
        )


class Migration(migrations.Migration):
    atomic = False  # The constraint's validation scans the accounts without blocking writes.

    dependencies = [
        ("accounts", "0003_admin_indexes"),
        ("transactions", "0006_system_legs_carry_no_running_balance"),
    ]

    operations = [
        migrations.RunPython(_zero_system_balances, _restore_system_balances, elidable=False),
        AddCheckConstraintWithoutBlocking(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=Q(is_system=False) | Q(balance_minor=0, last_sequence=0),
                name="account_system_keeps_no_balance",
            ),
        ),
    ]

"""The account's reservation CHECKs: never negative; a customer's available balance never below zero.

``reserved_minor`` (0005) is what the account's pending holds still reserve; a system account
reserves nothing. Both are added without blocking writes while existing rows are checked
(``atomic = False``: ``NOT VALID``, then ``VALIDATE``).
"""

from django.db import migrations, models
from django.db.models import F, Q

from ledger.migration_operations import AddCheckConstraintWithoutBlocking


class Migration(migrations.Migration):
    atomic = False  # The constraints' validation scans the accounts without blocking writes.

    dependencies = [("accounts", "0005_holds")]

    operations = [
        AddCheckConstraintWithoutBlocking(
            model_name="account",
            constraint=models.CheckConstraint(condition=Q(reserved_minor__gte=0), name="account_reserved_not_negative"),
        ),
        AddCheckConstraintWithoutBlocking(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=Q(is_system=False, balance_minor__gte=F("reserved_minor"))
                | Q(is_system=True, reserved_minor=0),
                name="account_available_not_negative",
                violation_error_message="A customer account's available balance cannot go below zero.",
            ),
        ),
    ]

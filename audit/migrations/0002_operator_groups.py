"""The two operator groups of the admin console.

- "Ledger auditors": view every ledger record (accounts, transactions, postings,
  idempotency records, audit records), change nothing.
- "Ledger operators": the same views, plus reversing transactions
  (``transactions.reverse_transaction``) and freezing, unfreezing and closing accounts
  (``accounts.change_account_status``).

Permissions are created first if they do not exist yet (on a fresh database Django creates
them only after all migrations ran). Reversing deletes the two groups.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

LEDGER_APPS = ("accounts", "transactions", "audit")
AUDITORS = "Ledger auditors"
OPERATORS = "Ledger operators"
OPERATOR_EXTRA = (("transactions", "reverse_transaction"), ("accounts", "change_account_status"))


def create_groups(apps, schema_editor):
    alias = schema_editor.connection.alias
    for label in LEDGER_APPS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # create_permissions skips apps without models modules
        create_permissions(app_config, apps=apps, verbosity=0, using=alias)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # The view permission of each ledger model as of this migration (a model added later
    # needs its own migration to join the groups).
    views = [
        Permission.objects.using(alias).get(
            content_type__app_label=label,
            content_type__model=model._meta.model_name,
            codename=f"view_{model._meta.model_name}",
        )
        for label in LEDGER_APPS
        for model in apps.get_app_config(label).get_models()
    ]
    extra = [
        Permission.objects.using(alias).get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in OPERATOR_EXTRA
    ]
    auditors, _ = Group.objects.using(alias).get_or_create(name=AUDITORS)
    auditors.permissions.set(views)
    operators, _ = Group.objects.using(alias).get_or_create(name=OPERATORS)
    operators.permissions.set(views + extra)


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=[AUDITORS, OPERATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0003_admin_indexes"),
        ("transactions", "0004_admin_indexes"),
        ("audit", "0001_audit_record"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]

"""Both operator groups may view holds, and operators may void them (holds came after the groups).

- "Ledger auditors": ``accounts.view_hold``.
- "Ledger operators": ``accounts.view_hold`` and ``accounts.void_hold``.

Reversing takes the two permissions away from the groups again.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITORS = "Ledger auditors"
OPERATORS = "Ledger operators"
GRANTS = {AUDITORS: ("view_hold",), OPERATORS: ("view_hold", "void_hold")}


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True  # create_permissions skips apps without models modules
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GRANTS):
        group.permissions.add(
            *[
                Permission.objects.using(alias).get(content_type__app_label="accounts", codename=codename)
                for codename in GRANTS[group.name]
            ]
        )


def revoke(apps, schema_editor):
    alias = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GRANTS):
        group.permissions.remove(
            *Permission.objects.using(alias).filter(content_type__app_label="accounts", codename__in=GRANTS[group.name])
        )


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_reconciliation_run_view_permission"), ("accounts", "0005_holds")]

    operations = [migrations.RunPython(grant, revoke)]

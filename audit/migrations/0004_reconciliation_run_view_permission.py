"""Both operator groups may also view reconciliation runs (added after the groups were created).

The README promises "Ledger auditors (view everything)" and operators the same views; the
groups migration predates the reconciliation app, so its runs answered them 403.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("Ledger auditors", "Ledger operators")


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("reconciliation")
    app_config.models_module = True  # create_permissions skips apps without models modules
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view_run = Permission.objects.using(alias).get(
        content_type__app_label="reconciliation", codename="view_reconciliationrun"
    )
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GROUPS):
        group.permissions.add(view_run)


def revoke(apps, schema_editor):
    alias = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    view_run = Permission.objects.using(alias).filter(
        content_type__app_label="reconciliation", codename="view_reconciliationrun"
    )
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GROUPS):
        group.permissions.remove(*view_run)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_batch_view_permission"), ("reconciliation", "0001_reconciliation_run")]

    operations = [migrations.RunPython(grant, revoke)]

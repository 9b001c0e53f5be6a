"""Both operator groups may also view batches (added after the groups were created)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("Ledger auditors", "Ledger operators")


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("transactions")
    app_config.models_module = True  # create_permissions skips apps without models modules
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view_batch = Permission.objects.using(alias).get(content_type__app_label="transactions", codename="view_batch")
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GROUPS):
        group.permissions.add(view_batch)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    view_batch = Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="transactions", codename="view_batch"
    )
    for group in apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name__in=GROUPS):
        group.permissions.remove(*view_batch)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_operator_groups"), ("transactions", "0005_batches")]

    operations = [migrations.RunPython(grant, revoke)]

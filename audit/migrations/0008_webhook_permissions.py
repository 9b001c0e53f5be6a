"""Both operator groups may view webhook endpoints and deliveries, and operators may redeliver (webhooks came later).

- "Ledger auditors": ``webhooks.view_webhookendpoint`` and ``webhooks.view_webhookdelivery``.
- "Ledger operators": the same and ``webhooks.redeliver_webhookdelivery``.

Reversing takes the permissions away from the groups again.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITORS = "Ledger auditors"
OPERATORS = "Ledger operators"
VIEWS = ("view_webhookendpoint", "view_webhookdelivery")
GRANTS = {AUDITORS: VIEWS, OPERATORS: (*VIEWS, "redeliver_webhookdelivery")}


def grant(apps, schema_editor):
    alias = schema_editor.connection.alias
    app_config = apps.get_app_config("webhooks")
    app_config.models_module = True  # create_permissions skips apps without models modules
    create_permissions(app_config, apps=apps, verbosity=0, using=alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GRANTS):
        group.permissions.add(
            *[
                Permission.objects.using(alias).get(content_type__app_label="webhooks", codename=codename)
                for codename in GRANTS[group.name]
            ]
        )


def revoke(apps, schema_editor):
    alias = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.using(alias).filter(name__in=GRANTS):
        group.permissions.remove(
            *Permission.objects.using(alias).filter(content_type__app_label="webhooks", codename__in=GRANTS[group.name])
        )


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_redeliver_webhook_action"), ("webhooks", "0001_webhooks")]

    operations = [migrations.RunPython(grant, revoke)]

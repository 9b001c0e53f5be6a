"""The admin app on the ledger's own admin site (:class:`ledger_project.admin_tools.LedgerAdminSite`)."""

from django.contrib.admin.apps import AdminConfig


class LedgerAdminConfig(AdminConfig):
    """Django's admin, with ``admin.site`` a ``LedgerAdminSite``."""

    default_site = "ledger_project.admin_tools.LedgerAdminSite"

"""Django's admin app on the ledger's own admin site (in ``INSTALLED_APPS`` instead of ``django.contrib.admin``)."""

from django.contrib.admin.apps import AdminConfig


class LedgerAdminConfig(AdminConfig):
    """Django's admin, with ``admin.site`` a :class:`console.tools.LedgerAdminSite`."""

    default_site = "console.tools.LedgerAdminSite"

"""The ledger's load benchmark: ``make bench`` or ``python -m bench --help``.

``bench/admin_pages.py`` is a separate script that times the admin's pages.
"""

"""The framework's floor: the least a Django + REST framework service can do per request.

A project of its own, served by the same gunicorn configuration as the ledger (``gunicorn -c
gunicorn.conf.py bench.floor.wsgi``), without a database, middleware or authentication: ``POST
/transfer`` validates a transfer-shaped body with a serializer and renders it back, ``GET
/balance`` renders a balance-shaped document. What the ledger does per request on top of this
is the ledger's own cost; ``make bench`` prints the ratio.
"""

"""Clients of the ledger's APIs generated from its schemas (python/: the REST API's Python client)."""

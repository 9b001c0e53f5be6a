"""Register every ledger model on the admin site (Django imports this module at start-up)."""

from console import accounts, audit, holds, reconciliation, transactions, webhooks

__all__ = ["accounts", "audit", "holds", "reconciliation", "transactions", "webhooks"]

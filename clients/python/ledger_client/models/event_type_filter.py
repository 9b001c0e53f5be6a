from enum import StrEnum


class EventTypeFilter(StrEnum):
    ACCOUNT_OPENED = "account.opened"
    ACCOUNT_STATUS_CHANGED = "account.status_changed"
    HOLD_CAPTURED = "hold.captured"
    HOLD_CREATED = "hold.created"
    HOLD_EXPIRED = "hold.expired"
    HOLD_VOIDED = "hold.voided"
    TRANSACTION_POSTED = "transaction.posted"
    TRANSACTION_REVERSED = "transaction.reversed"

    def __str__(self) -> str:
        return str(self.value)

from enum import StrEnum


class TransactionKind(StrEnum):
    DEPOSIT = "deposit"
    REVERSAL = "reversal"
    TRANSFER = "transfer"
    WITHDRAWAL = "withdrawal"

    def __str__(self) -> str:
        return str(self.value)

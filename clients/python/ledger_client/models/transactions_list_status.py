from enum import StrEnum


class TransactionsListStatus(StrEnum):
    POSTED = "posted"
    REVERSED = "reversed"

    def __str__(self) -> str:
        return str(self.value)

from enum import StrEnum


class WithdrawalOperationKind(StrEnum):
    WITHDRAWAL = "withdrawal"

    def __str__(self) -> str:
        return str(self.value)

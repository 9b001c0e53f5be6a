from enum import StrEnum


class DepositOperationKind(StrEnum):
    DEPOSIT = "deposit"

    def __str__(self) -> str:
        return str(self.value)

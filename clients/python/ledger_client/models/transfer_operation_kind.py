from enum import StrEnum


class TransferOperationKind(StrEnum):
    TRANSFER = "transfer"

    def __str__(self) -> str:
        return str(self.value)

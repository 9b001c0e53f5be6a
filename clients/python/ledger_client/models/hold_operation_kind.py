from enum import StrEnum


class HoldOperationKind(StrEnum):
    HOLD = "hold"

    def __str__(self) -> str:
        return str(self.value)

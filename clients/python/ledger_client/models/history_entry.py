from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transaction_kind import TransactionKind

T = TypeVar("T", bound="HistoryEntry")


@_attrs_define
class HistoryEntry:
    """
    Attributes:
        amount (str):  Example: 10.00.
        balance_after (None | str): The balance once this posting applied; null in a system account's history. Example:
            10.00.
        created_at (datetime.datetime):
        description (str):
        kind (TransactionKind): * `deposit` - Deposit
            * `withdrawal` - Withdrawal
            * `transfer` - Transfer
            * `reversal` - Reversal
        reference (str):
        transaction_id (UUID):
    """

    amount: str
    balance_after: None | str
    created_at: datetime.datetime
    description: str
    kind: TransactionKind
    reference: str
    transaction_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        balance_after: None | str
        balance_after = self.balance_after

        created_at = self.created_at.isoformat()

        description = self.description

        kind = self.kind.value

        reference = self.reference

        transaction_id = str(self.transaction_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "balance_after": balance_after,
                "created_at": created_at,
                "description": description,
                "kind": kind,
                "reference": reference,
                "transaction_id": transaction_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        def _parse_balance_after(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        balance_after = _parse_balance_after(d.pop("balance_after"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        description = d.pop("description")

        kind = TransactionKind(d.pop("kind"))

        reference = d.pop("reference")

        transaction_id = UUID(d.pop("transaction_id"))

        history_entry = cls(
            amount=amount,
            balance_after=balance_after,
            created_at=created_at,
            description=description,
            kind=kind,
            reference=reference,
            transaction_id=transaction_id,
        )

        history_entry.additional_properties = d
        return history_entry

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

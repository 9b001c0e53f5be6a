from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Leg")


@_attrs_define
class Leg:
    """
    Attributes:
        account_id (UUID):
        amount (str):  Example: 10.00.
        balance_after (None | str): The balance once this leg applied; null on a system account, which keeps no running
            balance. Example: 10.00.
        sequence (int | None): The account's posting number, 1, 2, 3... without gaps: a consumer of events notices one
            it missed; null on a system account.
    """

    account_id: UUID
    amount: str
    balance_after: None | str
    sequence: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        amount = self.amount

        balance_after: None | str
        balance_after = self.balance_after

        sequence: int | None
        sequence = self.sequence

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "amount": amount,
                "balance_after": balance_after,
                "sequence": sequence,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))

        amount = d.pop("amount")

        def _parse_balance_after(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        balance_after = _parse_balance_after(d.pop("balance_after"))

        def _parse_sequence(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        sequence = _parse_sequence(d.pop("sequence"))

        leg = cls(
            account_id=account_id,
            amount=amount,
            balance_after=balance_after,
            sequence=sequence,
        )

        leg.additional_properties = d
        return leg

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

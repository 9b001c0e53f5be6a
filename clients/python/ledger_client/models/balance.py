from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Balance")


@_attrs_define
class Balance:
    """
    Attributes:
        account_id (UUID):
        as_of (datetime.datetime):
        available_balance (str): The balance less what the account's pending holds reserved at that instant; decimal
            string with the currency's minor-unit digits.
        balance (str): Decimal string with the currency's minor-unit digits.
        currency (str):
    """

    account_id: UUID
    as_of: datetime.datetime
    available_balance: str
    balance: str
    currency: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        as_of = self.as_of.isoformat()

        available_balance = self.available_balance

        balance = self.balance

        currency = self.currency

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "as_of": as_of,
                "available_balance": available_balance,
                "balance": balance,
                "currency": currency,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))

        as_of = datetime.datetime.fromisoformat(d.pop("as_of"))

        available_balance = d.pop("available_balance")

        balance = d.pop("balance")

        currency = d.pop("currency")

        balance = cls(
            account_id=account_id,
            as_of=as_of,
            available_balance=available_balance,
            balance=balance,
            currency=currency,
        )

        balance.additional_properties = d
        return balance

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

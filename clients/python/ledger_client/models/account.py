from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.account_status import AccountStatus

if TYPE_CHECKING:
    from ..models.account_metadata import AccountMetadata


T = TypeVar("T", bound="Account")


@_attrs_define
class Account:
    """
    Attributes:
        available_balance (str): The balance less what the account's pending holds reserve: what it may spend. Example:
            10.00.
        balance (str): What is posted. Example: 10.00.
        created_at (datetime.datetime):
        currency (str):
        id (UUID):
        metadata (AccountMetadata):  Example: {'order': 'A-1001'}.
        name (str):
        status (AccountStatus): * `active` - Active
            * `frozen` - Frozen
            * `closed` - Closed
        updated_at (datetime.datetime):
    """

    available_balance: str
    balance: str
    created_at: datetime.datetime
    currency: str
    id: UUID
    metadata: AccountMetadata
    name: str
    status: AccountStatus
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        available_balance = self.available_balance

        balance = self.balance

        created_at = self.created_at.isoformat()

        currency = self.currency

        id = str(self.id)

        metadata = self.metadata.to_dict()

        name = self.name

        status = self.status.value

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "available_balance": available_balance,
                "balance": balance,
                "created_at": created_at,
                "currency": currency,
                "id": id,
                "metadata": metadata,
                "name": name,
                "status": status,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.account_metadata import AccountMetadata  # noqa: PLC0415

        d = dict(src_dict)
        available_balance = d.pop("available_balance")

        balance = d.pop("balance")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        currency = d.pop("currency")

        id = UUID(d.pop("id"))

        metadata = AccountMetadata.from_dict(d.pop("metadata"))

        name = d.pop("name")

        status = AccountStatus(d.pop("status"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        account = cls(
            available_balance=available_balance,
            balance=balance,
            created_at=created_at,
            currency=currency,
            id=id,
            metadata=metadata,
            name=name,
            status=status,
            updated_at=updated_at,
        )

        account.additional_properties = d
        return account

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

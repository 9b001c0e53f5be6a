from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.account_open_input_metadata import AccountOpenInputMetadata


T = TypeVar("T", bound="AccountOpenInput")


@_attrs_define
class AccountOpenInput:
    """
    Attributes:
        currency (str): An ISO 4217 code from LEDGER_CURRENCIES.
        metadata (AccountOpenInputMetadata | Unset):  Example: {'order': 'A-1001'}.
        name (str | Unset):  Default: ''.
    """

    currency: str
    metadata: AccountOpenInputMetadata | Unset = UNSET
    name: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        name = self.name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
            }
        )
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if name is not UNSET:
            field_dict["name"] = name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.account_open_input_metadata import AccountOpenInputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        currency = d.pop("currency")

        _metadata = d.pop("metadata", UNSET)
        metadata: AccountOpenInputMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = AccountOpenInputMetadata.from_dict(_metadata)

        name = d.pop("name", UNSET)

        account_open_input = cls(
            currency=currency,
            metadata=metadata,
            name=name,
        )

        account_open_input.additional_properties = d
        return account_open_input

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

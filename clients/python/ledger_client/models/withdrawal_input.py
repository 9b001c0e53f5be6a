from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.withdrawal_input_metadata import WithdrawalInputMetadata


T = TypeVar("T", bound="WithdrawalInput")


@_attrs_define
class WithdrawalInput:
    """
    Attributes:
        account_id (UUID):
        amount (str): A positive amount below 10^15 with no more decimal places, as written, than the account's currency
            has (USD 2, JPY 0: USD `"1.005"` and `"1.000"` are refused, never rounded). Sent as a decimal string or a JSON
            number. Example: 10.00.
        description (str | Unset):  Default: ''.
        metadata (WithdrawalInputMetadata | Unset):  Example: {'order': 'A-1001'}.
        reference (str | Unset):  Default: ''.
    """

    account_id: UUID
    amount: str
    description: str | Unset = ""
    metadata: WithdrawalInputMetadata | Unset = UNSET
    reference: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        amount = self.amount

        description = self.description

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        reference = self.reference

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "amount": amount,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if reference is not UNSET:
            field_dict["reference"] = reference

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.withdrawal_input_metadata import WithdrawalInputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))

        amount = d.pop("amount")

        description = d.pop("description", UNSET)

        _metadata = d.pop("metadata", UNSET)
        metadata: WithdrawalInputMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = WithdrawalInputMetadata.from_dict(_metadata)

        reference = d.pop("reference", UNSET)

        withdrawal_input = cls(
            account_id=account_id,
            amount=amount,
            description=description,
            metadata=metadata,
            reference=reference,
        )

        withdrawal_input.additional_properties = d
        return withdrawal_input

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

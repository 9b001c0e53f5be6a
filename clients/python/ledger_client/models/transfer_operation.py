from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transfer_operation_kind import TransferOperationKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.transfer_operation_metadata import TransferOperationMetadata


T = TypeVar("T", bound="TransferOperation")


@_attrs_define
class TransferOperation:
    """
    Attributes:
        amount (str): A positive amount below 10^15 with no more decimal places, as written, than the account's currency
            has (USD 2, JPY 0: USD `"1.005"` and `"1.000"` are refused, never rounded). Sent as a decimal string or a JSON
            number. Example: 10.00.
        destination_account_id (UUID):
        kind (TransferOperationKind): * `transfer` - transfer
        source_account_id (UUID):
        description (str | Unset):  Default: ''.
        metadata (TransferOperationMetadata | Unset):  Example: {'order': 'A-1001'}.
        reference (str | Unset):  Default: ''.
    """

    amount: str
    destination_account_id: UUID
    kind: TransferOperationKind
    source_account_id: UUID
    description: str | Unset = ""
    metadata: TransferOperationMetadata | Unset = UNSET
    reference: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        destination_account_id = str(self.destination_account_id)

        kind = self.kind.value

        source_account_id = str(self.source_account_id)

        description = self.description

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        reference = self.reference

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "destination_account_id": destination_account_id,
                "kind": kind,
                "source_account_id": source_account_id,
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
        from ..models.transfer_operation_metadata import TransferOperationMetadata  # noqa: PLC0415

        d = dict(src_dict)
        amount = d.pop("amount")

        destination_account_id = UUID(d.pop("destination_account_id"))

        kind = TransferOperationKind(d.pop("kind"))

        source_account_id = UUID(d.pop("source_account_id"))

        description = d.pop("description", UNSET)

        _metadata = d.pop("metadata", UNSET)
        metadata: TransferOperationMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = TransferOperationMetadata.from_dict(_metadata)

        reference = d.pop("reference", UNSET)

        transfer_operation = cls(
            amount=amount,
            destination_account_id=destination_account_id,
            kind=kind,
            source_account_id=source_account_id,
            description=description,
            metadata=metadata,
            reference=reference,
        )

        transfer_operation.additional_properties = d
        return transfer_operation

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

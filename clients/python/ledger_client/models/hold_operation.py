from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hold_operation_kind import HoldOperationKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.hold_operation_metadata import HoldOperationMetadata


T = TypeVar("T", bound="HoldOperation")


@_attrs_define
class HoldOperation:
    """
    Attributes:
        account_id (UUID): The account whose money is held: one the client owns.
        amount (str): A positive amount below 10^15 with no more decimal places, as written, than the account's currency
            has (USD 2, JPY 0: USD `"1.005"` and `"1.000"` are refused, never rounded). Sent as a decimal string or a JSON
            number. Example: 10.00.
        kind (HoldOperationKind): * `hold` - hold
        description (str | Unset):  Default: ''.
        destination_account_id (UUID | Unset): Where a capture sends the money (any active account of the currency);
            omitted: a withdrawal.
        expires_at (datetime.datetime | Unset): An ISO 8601 instant in the future, at most 30 days on; default 7 days
            after it is placed.
        metadata (HoldOperationMetadata | Unset):  Example: {'order': 'A-1001'}.
        reference (str | Unset):  Default: ''.
    """

    account_id: UUID
    amount: str
    kind: HoldOperationKind
    description: str | Unset = ""
    destination_account_id: UUID | Unset = UNSET
    expires_at: datetime.datetime | Unset = UNSET
    metadata: HoldOperationMetadata | Unset = UNSET
    reference: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        amount = self.amount

        kind = self.kind.value

        description = self.description

        destination_account_id: str | Unset = UNSET
        if not isinstance(self.destination_account_id, Unset):
            destination_account_id = str(self.destination_account_id)

        expires_at: str | Unset = UNSET
        if not isinstance(self.expires_at, Unset):
            expires_at = self.expires_at.isoformat()

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
                "kind": kind,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if destination_account_id is not UNSET:
            field_dict["destination_account_id"] = destination_account_id
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if reference is not UNSET:
            field_dict["reference"] = reference

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hold_operation_metadata import HoldOperationMetadata  # noqa: PLC0415

        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))

        amount = d.pop("amount")

        kind = HoldOperationKind(d.pop("kind"))

        description = d.pop("description", UNSET)

        _destination_account_id = d.pop("destination_account_id", UNSET)
        destination_account_id: UUID | Unset
        if isinstance(_destination_account_id, Unset):
            destination_account_id = UNSET
        else:
            destination_account_id = UUID(_destination_account_id)

        _expires_at = d.pop("expires_at", UNSET)
        expires_at: datetime.datetime | Unset
        if isinstance(_expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = datetime.datetime.fromisoformat(_expires_at)

        _metadata = d.pop("metadata", UNSET)
        metadata: HoldOperationMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = HoldOperationMetadata.from_dict(_metadata)

        reference = d.pop("reference", UNSET)

        hold_operation = cls(
            account_id=account_id,
            amount=amount,
            kind=kind,
            description=description,
            destination_account_id=destination_account_id,
            expires_at=expires_at,
            metadata=metadata,
            reference=reference,
        )

        hold_operation.additional_properties = d
        return hold_operation

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

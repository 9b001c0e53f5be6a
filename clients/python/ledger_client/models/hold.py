from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hold_status import HoldStatus

if TYPE_CHECKING:
    from ..models.hold_metadata import HoldMetadata


T = TypeVar("T", bound="Hold")


@_attrs_define
class Hold:
    """
    Attributes:
        account_id (UUID): The account whose money is held.
        amount (str): What the hold reserved when placed. Example: 10.00.
        captured_amount (str): What its captures have moved so far. Example: 10.00.
        captures (list[UUID]): The ids of the transactions that captured it, oldest first.
        created_at (datetime.datetime):
        currency (str):
        description (str):
        destination_account_id (None | UUID): Where a capture sends the money (a transfer); null: a capture is a
            withdrawal.
        expires_at (datetime.datetime): From this instant it reserves nothing.
        id (UUID):
        metadata (HoldMetadata):  Example: {'order': 'A-1001'}.
        reference (str):
        remaining_amount (str): What the hold still reserves: the uncaptured rest while pending, else zero. Example:
            10.00.
        resolved_at (datetime.datetime | None): When it left pending (its final capture, its void, or its expiry); null
            while pending.
        status (HoldStatus): * `pending` - Pending
            * `captured` - Captured
            * `voided` - Voided
            * `expired` - Expired
    """

    account_id: UUID
    amount: str
    captured_amount: str
    captures: list[UUID]
    created_at: datetime.datetime
    currency: str
    description: str
    destination_account_id: None | UUID
    expires_at: datetime.datetime
    id: UUID
    metadata: HoldMetadata
    reference: str
    remaining_amount: str
    resolved_at: datetime.datetime | None
    status: HoldStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        amount = self.amount

        captured_amount = self.captured_amount

        captures = []
        for captures_item_data in self.captures:
            captures_item = str(captures_item_data)
            captures.append(captures_item)

        created_at = self.created_at.isoformat()

        currency = self.currency

        description = self.description

        destination_account_id: None | str
        if isinstance(self.destination_account_id, UUID):
            destination_account_id = str(self.destination_account_id)
        else:
            destination_account_id = self.destination_account_id

        expires_at = self.expires_at.isoformat()

        id = str(self.id)

        metadata = self.metadata.to_dict()

        reference = self.reference

        remaining_amount = self.remaining_amount

        resolved_at: None | str
        if isinstance(self.resolved_at, datetime.datetime):
            resolved_at = self.resolved_at.isoformat()
        else:
            resolved_at = self.resolved_at

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "amount": amount,
                "captured_amount": captured_amount,
                "captures": captures,
                "created_at": created_at,
                "currency": currency,
                "description": description,
                "destination_account_id": destination_account_id,
                "expires_at": expires_at,
                "id": id,
                "metadata": metadata,
                "reference": reference,
                "remaining_amount": remaining_amount,
                "resolved_at": resolved_at,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hold_metadata import HoldMetadata  # noqa: PLC0415

        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))

        amount = d.pop("amount")

        captured_amount = d.pop("captured_amount")

        captures = []
        _captures = d.pop("captures")
        for captures_item_data in _captures:
            captures_item = UUID(captures_item_data)

            captures.append(captures_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        currency = d.pop("currency")

        description = d.pop("description")

        def _parse_destination_account_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                destination_account_id_type_0 = UUID(data)

                return destination_account_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        destination_account_id = _parse_destination_account_id(d.pop("destination_account_id"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        id = UUID(d.pop("id"))

        metadata = HoldMetadata.from_dict(d.pop("metadata"))

        reference = d.pop("reference")

        remaining_amount = d.pop("remaining_amount")

        def _parse_resolved_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                resolved_at_type_0 = datetime.datetime.fromisoformat(data)

                return resolved_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        resolved_at = _parse_resolved_at(d.pop("resolved_at"))

        status = HoldStatus(d.pop("status"))

        hold = cls(
            account_id=account_id,
            amount=amount,
            captured_amount=captured_amount,
            captures=captures,
            created_at=created_at,
            currency=currency,
            description=description,
            destination_account_id=destination_account_id,
            expires_at=expires_at,
            id=id,
            metadata=metadata,
            reference=reference,
            remaining_amount=remaining_amount,
            resolved_at=resolved_at,
            status=status,
        )

        hold.additional_properties = d
        return hold

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

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType

if TYPE_CHECKING:
    from ..models.event_data import EventData


T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """
    Attributes:
        created_at (datetime.datetime): When the change committed's transaction began.
        data (EventData): The resource as the API renders it at the change: an Account, a Transaction (a client sees
            only the legs on its own accounts; each leg with the account's posting `sequence`) or a Hold.
        id (UUID): Deduplicate by it: delivery is at least once.
        type_ (EventType): * `account.opened` - Account Opened
            * `account.status_changed` - Account Status Changed
            * `transaction.posted` - Transaction Posted
            * `transaction.reversed` - Transaction Reversed
            * `hold.created` - Hold Created
            * `hold.captured` - Hold Captured
            * `hold.voided` - Hold Voided
            * `hold.expired` - Hold Expired
    """

    created_at: datetime.datetime
    data: EventData
    id: UUID
    type_: EventType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        data = self.data.to_dict()

        id = str(self.id)

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "data": data,
                "id": id,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_data import EventData  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        data = EventData.from_dict(d.pop("data"))

        id = UUID(d.pop("id"))

        type_ = EventType(d.pop("type"))

        event = cls(
            created_at=created_at,
            data=data,
            id=id,
            type_=type_,
        )

        event.additional_properties = d
        return event

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

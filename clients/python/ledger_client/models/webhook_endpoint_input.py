from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEndpointInput")


@_attrs_define
class WebhookEndpointInput:
    """
    Attributes:
        event_types (list[str]): Event types (account.opened, account.status_changed, transaction.posted,
            transaction.reversed, hold.created, hold.captured, hold.voided, hold.expired), or `["*"]` for every type.
        url (str): `https://` only. Its host must resolve to public addresses only (not loopback, private, link-local,
            multicast or reserved), unless the operator allows it (`LEDGER_WEBHOOK_ALLOWED_HOSTS`).
        description (str | Unset):  Default: ''.
    """

    event_types: list[str]
    url: str
    description: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_types = self.event_types

        url = self.url

        description = self.description

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_types": event_types,
                "url": url,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_types = cast(list[str], d.pop("event_types"))

        url = d.pop("url")

        description = d.pop("description", UNSET)

        webhook_endpoint_input = cls(
            event_types=event_types,
            url=url,
            description=description,
        )

        webhook_endpoint_input.additional_properties = d
        return webhook_endpoint_input

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

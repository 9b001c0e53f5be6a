from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transaction_kind import TransactionKind
from ..models.transaction_status import TransactionStatus

if TYPE_CHECKING:
    from ..models.leg import Leg
    from ..models.transaction_metadata import TransactionMetadata


T = TypeVar("T", bound="Transaction")


@_attrs_define
class Transaction:
    """
    Attributes:
        amount (str):  Example: 10.00.
        created_at (datetime.datetime):
        currency (str):
        description (str):
        destination_account_id (None | UUID):
        hold_id (None | UUID): The hold this transaction captures; null unless it is a capture.
        id (UUID):
        kind (TransactionKind): * `deposit` - Deposit
            * `withdrawal` - Withdrawal
            * `transfer` - Transfer
            * `reversal` - Reversal
        metadata (TransactionMetadata):  Example: {'order': 'A-1001'}.
        postings (list[Leg]): The legs on accounts the client may see (all of them for staff).
        reference (str):
        reversed_by (None | UUID):
        reverses (None | UUID):
        source_account_id (None | UUID):
        status (TransactionStatus): * `posted` - Posted
            * `reversed` - Reversed
    """

    amount: str
    created_at: datetime.datetime
    currency: str
    description: str
    destination_account_id: None | UUID
    hold_id: None | UUID
    id: UUID
    kind: TransactionKind
    metadata: TransactionMetadata
    postings: list[Leg]
    reference: str
    reversed_by: None | UUID
    reverses: None | UUID
    source_account_id: None | UUID
    status: TransactionStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        created_at = self.created_at.isoformat()

        currency = self.currency

        description = self.description

        destination_account_id: None | str
        if isinstance(self.destination_account_id, UUID):
            destination_account_id = str(self.destination_account_id)
        else:
            destination_account_id = self.destination_account_id

        hold_id: None | str
        if isinstance(self.hold_id, UUID):
            hold_id = str(self.hold_id)
        else:
            hold_id = self.hold_id

        id = str(self.id)

        kind = self.kind.value

        metadata = self.metadata.to_dict()

        postings = []
        for postings_item_data in self.postings:
            postings_item = postings_item_data.to_dict()
            postings.append(postings_item)

        reference = self.reference

        reversed_by: None | str
        if isinstance(self.reversed_by, UUID):
            reversed_by = str(self.reversed_by)
        else:
            reversed_by = self.reversed_by

        reverses: None | str
        if isinstance(self.reverses, UUID):
            reverses = str(self.reverses)
        else:
            reverses = self.reverses

        source_account_id: None | str
        if isinstance(self.source_account_id, UUID):
            source_account_id = str(self.source_account_id)
        else:
            source_account_id = self.source_account_id

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "amount": amount,
                "created_at": created_at,
                "currency": currency,
                "description": description,
                "destination_account_id": destination_account_id,
                "hold_id": hold_id,
                "id": id,
                "kind": kind,
                "metadata": metadata,
                "postings": postings,
                "reference": reference,
                "reversed_by": reversed_by,
                "reverses": reverses,
                "source_account_id": source_account_id,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.leg import Leg  # noqa: PLC0415
        from ..models.transaction_metadata import TransactionMetadata  # noqa: PLC0415

        d = dict(src_dict)
        amount = d.pop("amount")

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

        def _parse_hold_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                hold_id_type_0 = UUID(data)

                return hold_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        hold_id = _parse_hold_id(d.pop("hold_id"))

        id = UUID(d.pop("id"))

        kind = TransactionKind(d.pop("kind"))

        metadata = TransactionMetadata.from_dict(d.pop("metadata"))

        postings = []
        _postings = d.pop("postings")
        for postings_item_data in _postings:
            postings_item = Leg.from_dict(postings_item_data)

            postings.append(postings_item)

        reference = d.pop("reference")

        def _parse_reversed_by(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reversed_by_type_0 = UUID(data)

                return reversed_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reversed_by = _parse_reversed_by(d.pop("reversed_by"))

        def _parse_reverses(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reverses_type_0 = UUID(data)

                return reverses_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reverses = _parse_reverses(d.pop("reverses"))

        def _parse_source_account_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                source_account_id_type_0 = UUID(data)

                return source_account_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        source_account_id = _parse_source_account_id(d.pop("source_account_id"))

        status = TransactionStatus(d.pop("status"))

        transaction = cls(
            amount=amount,
            created_at=created_at,
            currency=currency,
            description=description,
            destination_account_id=destination_account_id,
            hold_id=hold_id,
            id=id,
            kind=kind,
            metadata=metadata,
            postings=postings,
            reference=reference,
            reversed_by=reversed_by,
            reverses=reverses,
            source_account_id=source_account_id,
            status=status,
        )

        transaction.additional_properties = d
        return transaction

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

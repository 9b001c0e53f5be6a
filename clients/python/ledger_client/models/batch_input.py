from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.deposit_operation import DepositOperation
    from ..models.hold_operation import HoldOperation
    from ..models.transfer_operation import TransferOperation
    from ..models.withdrawal_operation import WithdrawalOperation


T = TypeVar("T", bound="BatchInput")


@_attrs_define
class BatchInput:
    """
    Attributes:
        operations (list[DepositOperation | HoldOperation | TransferOperation | WithdrawalOperation]):
    """

    operations: list[DepositOperation | HoldOperation | TransferOperation | WithdrawalOperation]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.deposit_operation import DepositOperation  # noqa: PLC0415
        from ..models.transfer_operation import TransferOperation  # noqa: PLC0415
        from ..models.withdrawal_operation import WithdrawalOperation  # noqa: PLC0415

        operations = []
        for operations_item_data in self.operations:
            operations_item: dict[str, Any]
            if isinstance(operations_item_data, DepositOperation):
                operations_item = operations_item_data.to_dict()
            elif isinstance(operations_item_data, WithdrawalOperation):
                operations_item = operations_item_data.to_dict()
            elif isinstance(operations_item_data, TransferOperation):
                operations_item = operations_item_data.to_dict()
            else:
                operations_item = operations_item_data.to_dict()

            operations.append(operations_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "operations": operations,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.deposit_operation import DepositOperation  # noqa: PLC0415
        from ..models.hold_operation import HoldOperation  # noqa: PLC0415
        from ..models.transfer_operation import TransferOperation  # noqa: PLC0415
        from ..models.withdrawal_operation import WithdrawalOperation  # noqa: PLC0415

        d = dict(src_dict)
        operations = []
        _operations = d.pop("operations")
        for operations_item_data in _operations:

            def _parse_operations_item(
                data: object,
            ) -> DepositOperation | HoldOperation | TransferOperation | WithdrawalOperation:
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_batch_operation_request_type_0 = DepositOperation.from_dict(data)

                    return componentsschemas_batch_operation_request_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_batch_operation_request_type_1 = WithdrawalOperation.from_dict(data)

                    return componentsschemas_batch_operation_request_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_batch_operation_request_type_2 = TransferOperation.from_dict(data)

                    return componentsschemas_batch_operation_request_type_2
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_batch_operation_request_type_3 = HoldOperation.from_dict(data)

                return componentsschemas_batch_operation_request_type_3

            operations_item = _parse_operations_item(operations_item_data)

            operations.append(operations_item)

        batch_input = cls(
            operations=operations,
        )

        batch_input.additional_properties = d
        return batch_input

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

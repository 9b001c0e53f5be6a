from grpc_api.v1 import holds_pb2 as _holds_pb2
from grpc_api.v1 import transactions_pb2 as _transactions_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchOperation(_message.Message):
    __slots__ = ("deposit", "withdrawal", "transfer", "hold")
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    deposit: _transactions_pb2.DepositInput
    withdrawal: _transactions_pb2.WithdrawalInput
    transfer: _transactions_pb2.TransferInput
    hold: _holds_pb2.HoldInput
    def __init__(self, deposit: _Optional[_Union[_transactions_pb2.DepositInput, _Mapping]] = ..., withdrawal: _Optional[_Union[_transactions_pb2.WithdrawalInput, _Mapping]] = ..., transfer: _Optional[_Union[_transactions_pb2.TransferInput, _Mapping]] = ..., hold: _Optional[_Union[_holds_pb2.HoldInput, _Mapping]] = ...) -> None: ...

class CreateBatchRequest(_message.Message):
    __slots__ = ("idempotency_key", "operations")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    operations: _containers.RepeatedCompositeFieldContainer[BatchOperation]
    def __init__(self, idempotency_key: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[BatchOperation, _Mapping]]] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("id", "transactions", "holds")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    HOLDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    transactions: _containers.RepeatedCompositeFieldContainer[_transactions_pb2.Transaction]
    holds: _containers.RepeatedCompositeFieldContainer[_holds_pb2.Hold]
    def __init__(self, id: _Optional[str] = ..., transactions: _Optional[_Iterable[_Union[_transactions_pb2.Transaction, _Mapping]]] = ..., holds: _Optional[_Iterable[_Union[_holds_pb2.Hold, _Mapping]]] = ...) -> None: ...

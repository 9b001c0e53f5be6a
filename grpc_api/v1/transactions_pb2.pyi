import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Transaction(_message.Message):
    __slots__ = ("id", "kind", "status", "amount", "currency", "source_account_id", "destination_account_id", "description", "reference", "metadata", "reverses", "reversed_by", "hold_id", "created_at", "postings")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REVERSES_FIELD_NUMBER: _ClassVar[int]
    REVERSED_BY_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    status: str
    amount: str
    currency: str
    source_account_id: str
    destination_account_id: str
    description: str
    reference: str
    metadata: _struct_pb2.Struct
    reverses: str
    reversed_by: str
    hold_id: str
    created_at: _timestamp_pb2.Timestamp
    postings: _containers.RepeatedCompositeFieldContainer[Leg]
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., source_account_id: _Optional[str] = ..., destination_account_id: _Optional[str] = ..., description: _Optional[str] = ..., reference: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reverses: _Optional[str] = ..., reversed_by: _Optional[str] = ..., hold_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., postings: _Optional[_Iterable[_Union[Leg, _Mapping]]] = ...) -> None: ...

class Leg(_message.Message):
    __slots__ = ("account_id", "amount", "balance_after", "sequence")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    amount: str
    balance_after: str
    sequence: int
    def __init__(self, account_id: _Optional[str] = ..., amount: _Optional[str] = ..., balance_after: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class DepositInput(_message.Message):
    __slots__ = ("account_id", "amount", "description", "reference", "metadata")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    amount: str
    description: str
    reference: str
    metadata: _struct_pb2.Struct
    def __init__(self, account_id: _Optional[str] = ..., amount: _Optional[str] = ..., description: _Optional[str] = ..., reference: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class WithdrawalInput(_message.Message):
    __slots__ = ("account_id", "amount", "description", "reference", "metadata")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    amount: str
    description: str
    reference: str
    metadata: _struct_pb2.Struct
    def __init__(self, account_id: _Optional[str] = ..., amount: _Optional[str] = ..., description: _Optional[str] = ..., reference: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class TransferInput(_message.Message):
    __slots__ = ("source_account_id", "destination_account_id", "amount", "description", "reference", "metadata")
    SOURCE_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    source_account_id: str
    destination_account_id: str
    amount: str
    description: str
    reference: str
    metadata: _struct_pb2.Struct
    def __init__(self, source_account_id: _Optional[str] = ..., destination_account_id: _Optional[str] = ..., amount: _Optional[str] = ..., description: _Optional[str] = ..., reference: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CreateDepositRequest(_message.Message):
    __slots__ = ("idempotency_key", "deposit")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    deposit: DepositInput
    def __init__(self, idempotency_key: _Optional[str] = ..., deposit: _Optional[_Union[DepositInput, _Mapping]] = ...) -> None: ...

class CreateWithdrawalRequest(_message.Message):
    __slots__ = ("idempotency_key", "withdrawal")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    withdrawal: WithdrawalInput
    def __init__(self, idempotency_key: _Optional[str] = ..., withdrawal: _Optional[_Union[WithdrawalInput, _Mapping]] = ...) -> None: ...

class CreateTransferRequest(_message.Message):
    __slots__ = ("idempotency_key", "transfer")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    transfer: TransferInput
    def __init__(self, idempotency_key: _Optional[str] = ..., transfer: _Optional[_Union[TransferInput, _Mapping]] = ...) -> None: ...

class ReverseTransactionRequest(_message.Message):
    __slots__ = ("idempotency_key", "transaction_id", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    transaction_id: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., transaction_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("transaction_id",)
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    def __init__(self, transaction_id: _Optional[str] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("kind", "page_size", "page_token")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    kind: str
    page_size: int
    page_token: str
    def __init__(self, kind: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token", "previous_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    previous_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., previous_page_token: _Optional[str] = ...) -> None: ...

"""Contains all the data models used in inputs/outputs"""

from .account import Account
from .account_metadata import AccountMetadata
from .account_open_input import AccountOpenInput
from .account_open_input_metadata import AccountOpenInputMetadata
from .account_status import AccountStatus
from .balance import Balance
from .batch import Batch
from .batch_input import BatchInput
from .capture_input import CaptureInput
from .deposit_input import DepositInput
from .deposit_input_metadata import DepositInputMetadata
from .deposit_operation import DepositOperation
from .deposit_operation_kind import DepositOperationKind
from .deposit_operation_metadata import DepositOperationMetadata
from .deposits_list_status import DepositsListStatus
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .event_type import EventType
from .event_type_filter import EventTypeFilter
from .history_entry import HistoryEntry
from .history_kind_filter import HistoryKindFilter
from .hold import Hold
from .hold_input import HoldInput
from .hold_input_metadata import HoldInputMetadata
from .hold_metadata import HoldMetadata
from .hold_operation import HoldOperation
from .hold_operation_kind import HoldOperationKind
from .hold_operation_metadata import HoldOperationMetadata
from .hold_status import HoldStatus
from .hold_status_filter import HoldStatusFilter
from .leg import Leg
from .paginated_account_list import PaginatedAccountList
from .paginated_history_entry_list import PaginatedHistoryEntryList
from .paginated_hold_list import PaginatedHoldList
from .paginated_transaction_list import PaginatedTransactionList
from .paginated_webhook_delivery_list import PaginatedWebhookDeliveryList
from .paginated_webhook_endpoint_list import PaginatedWebhookEndpointList
from .problem import Problem
from .problem_errors import ProblemErrors
from .problem_outcome import ProblemOutcome
from .reversal_input import ReversalInput
from .transaction import Transaction
from .transaction_kind import TransactionKind
from .transaction_metadata import TransactionMetadata
from .transaction_status import TransactionStatus
from .transactions_list_kind import TransactionsListKind
from .transactions_list_status import TransactionsListStatus
from .transfer_input import TransferInput
from .transfer_input_metadata import TransferInputMetadata
from .transfer_operation import TransferOperation
from .transfer_operation_kind import TransferOperationKind
from .transfer_operation_metadata import TransferOperationMetadata
from .transfers_list_status import TransfersListStatus
from .void_input import VoidInput
from .webhook_delivery import WebhookDelivery
from .webhook_delivery_status import WebhookDeliveryStatus
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_input import WebhookEndpointInput
from .webhook_endpoint_status import WebhookEndpointStatus
from .webhook_endpoint_with_secret import WebhookEndpointWithSecret
from .withdrawal_input import WithdrawalInput
from .withdrawal_input_metadata import WithdrawalInputMetadata
from .withdrawal_operation import WithdrawalOperation
from .withdrawal_operation_kind import WithdrawalOperationKind
from .withdrawal_operation_metadata import WithdrawalOperationMetadata
from .withdrawals_list_status import WithdrawalsListStatus

__all__ = (
    "Account",
    "AccountMetadata",
    "AccountOpenInput",
    "AccountOpenInputMetadata",
    "AccountStatus",
    "Balance",
    "Batch",
    "BatchInput",
    "CaptureInput",
    "DepositInput",
    "DepositInputMetadata",
    "DepositOperation",
    "DepositOperationKind",
    "DepositOperationMetadata",
    "DepositsListStatus",
    "Event",
    "EventData",
    "EventPage",
    "EventType",
    "EventTypeFilter",
    "HistoryEntry",
    "HistoryKindFilter",
    "Hold",
    "HoldInput",
    "HoldInputMetadata",
    "HoldMetadata",
    "HoldOperation",
    "HoldOperationKind",
    "HoldOperationMetadata",
    "HoldStatus",
    "HoldStatusFilter",
    "Leg",
    "PaginatedAccountList",
    "PaginatedHistoryEntryList",
    "PaginatedHoldList",
    "PaginatedTransactionList",
    "PaginatedWebhookDeliveryList",
    "PaginatedWebhookEndpointList",
    "Problem",
    "ProblemErrors",
    "ProblemOutcome",
    "ReversalInput",
    "Transaction",
    "TransactionKind",
    "TransactionMetadata",
    "TransactionsListKind",
    "TransactionsListStatus",
    "TransactionStatus",
    "TransferInput",
    "TransferInputMetadata",
    "TransferOperation",
    "TransferOperationKind",
    "TransferOperationMetadata",
    "TransfersListStatus",
    "VoidInput",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEndpointInput",
    "WebhookEndpointStatus",
    "WebhookEndpointWithSecret",
    "WithdrawalInput",
    "WithdrawalInputMetadata",
    "WithdrawalOperation",
    "WithdrawalOperationKind",
    "WithdrawalOperationMetadata",
    "WithdrawalsListStatus",
)

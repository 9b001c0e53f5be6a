"""Reads of transactions and postings, scoped to what a client may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Account, Hold
from ledger import replica
from ledger.errors import LedgerError, NotFound
from ledger.replica import FallbackQuerySet
from transactions.engine import rules
from transactions.models import Batch, Posting, Transaction

if TYPE_CHECKING:
    from ledger.users import User


def _rendered(queryset: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """Return ``queryset`` loading what the API renders of each transaction, in a fixed number of queries."""
    return queryset.select_related(
        "source_account", "destination_account", "reverses", "reversed_by", "hold"
    ).prefetch_related(Prefetch("postings", queryset=Posting.objects.select_related("account").order_by("pk")))


def transactions_visible_to(
    user: User,
    *,
    kind: str | None = None,
    status: str | None = None,
    account_id: UUID | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    reference: str | None = None,
) -> QuerySet[Transaction]:
    """Return the transactions ``user`` may see: for a client those touching its accounts, for staff all.

    Every customer leg of a transaction is its source or its destination, so those two
    columns decide visibility. Loads what the API renders without further queries.

    The filters narrow it: ``account_id`` to the transactions moving money in or out of that
    account, which must be the client's own (staff: any); another client's account matches
    nothing, so a client learns nothing of it. ``created_after`` is inclusive,
    ``created_before`` exclusive; ``reference`` matches exactly.
    """
    queryset = _rendered(Transaction.objects.all())
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    if status is not None:
        queryset = queryset.filter(status=status)
    if created_after is not None:
        queryset = queryset.filter(created_at__gte=created_after)
    if created_before is not None:
        queryset = queryset.filter(created_at__lt=created_before)
    if reference is not None:
        queryset = queryset.filter(reference=reference)
    if account_id is not None:
        accounts = Account.objects.filter(public_id=account_id)
        if not user.is_staff:
            accounts = accounts.filter(owner=user)
        account = accounts.only("pk").first()
        if account is None:
            return queryset.none()
        queryset = queryset.filter(Q(source_account=account) | Q(destination_account=account))
    if not user.is_staff:
        queryset = queryset.filter(Q(source_account__owner=user) | Q(destination_account__owner=user))
    return queryset


def transaction_get(*, user: User, transaction_id: UUID | str, kind: str | None = None) -> Transaction:
    """Return the transaction ``transaction_id`` (of ``kind``, if given); ``NotFound`` unless ``user`` may see it."""
    try:
        return transactions_visible_to(user, kind=kind).get(public_id=transaction_id)
    except (Transaction.DoesNotExist, ValueError):
        raise NotFound("No such transaction.") from None


def batch_get(*, user: User, batch_id: UUID | str) -> Batch:
    """Return the batch ``batch_id`` to the client that posted it, or to staff; ``NotFound`` otherwise.

    With what the API renders of its transactions and of its holds.
    """
    batches = Batch.objects.prefetch_related(
        Prefetch("transactions", queryset=_rendered(Transaction.objects.all())),
        Prefetch("holds", queryset=_rendered_holds(Hold.objects.all())),
    )
    if not user.is_staff:
        batches = batches.filter(posted_by=user)
    try:
        return batches.get(public_id=batch_id)
    except (Batch.DoesNotExist, ValueError):
        raise NotFound("No such batch.") from None


class HistoryRow(TypedDict):
    """One posting of an account's history, as :func:`account_history` reads it.

    Its own fields and its transaction's (what ``api.documents.HISTORY_ENTRY`` shows), and its
    cursor's key: ``sequence``, or ``(txid, id)`` for a system account, whose postings carry no
    sequence (``ledger.commit_order``).
    """

    id: int
    txid: int
    sequence: int | None
    amount_minor: int
    balance_after_minor: int | None
    created_at: datetime
    transaction__public_id: UUID
    transaction__kind: str
    transaction__currency: str
    transaction__description: str
    transaction__reference: str


HISTORY_FIELDS = tuple(HistoryRow.__annotations__)


def history_database(account: Account) -> str:
    """Return the database to read ``account``'s history from, so that it never shows less than the primary.

    ``account`` was just read from the primary: its ``last_sequence`` is the number of its latest
    posting, and every answer given before about the account (a posting's 201, a balance, a
    history page) showed no posting after it. A posting and the account row's new
    ``last_sequence`` commit together, and a replica replays whole transactions in commit order,
    so once the replica's row has that ``last_sequence`` it holds every posting up to it: the
    replica is fresh enough. Otherwise (behind, stopped, none) the primary. A system account's
    postings carry no sequence: its history is read on the primary (staff only).
    """
    if account.is_system:
        return DEFAULT_DB_ALIAS
    caught_up = Account.objects.filter(pk=account.pk, last_sequence__gte=account.last_sequence)
    return replica.database_for(lambda alias: caught_up.using(alias).exists())


def account_history(
    account: Account,
    *,
    kind: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Posting, HistoryRow]:
    """Return the account's postings as :class:`HistoryRow` rows, to be paginated newest first.

    Newest first is by ``-sequence``; for a system account, whose postings carry no sequence, in
    commit order. Rows rather than model instances: an entry needs ten values, and building a posting
    and a transaction instance for each is work the page does not need (docs/benchmarks.md).
    ``created_after`` is inclusive, ``created_before`` exclusive. Read from
    :func:`history_database`: the read replica when it has replayed the account's latest
    posting, else the primary.
    """
    postings: QuerySet[Posting] = FallbackQuerySet(Posting, using=history_database(account)).filter(account=account)
    if kind is not None:
        postings = postings.filter(transaction__kind=kind)
    if created_after is not None:
        postings = postings.filter(created_at__gte=created_after)
    if created_before is not None:
        postings = postings.filter(created_at__lt=created_before)
    rows: QuerySet[Posting, HistoryRow] = postings.values(*HISTORY_FIELDS)  # Names known at run time: untyped.
    return rows


def account_balance_at(account: Account, at: datetime) -> int:
    """Return the account's balance in minor units as it stood at ``at`` (0 before its first posting).

    Sequence numbers and timestamps are both assigned under the account's row lock, so the
    latest posting not after ``at`` carries the balance of that instant. A system account keeps
    no running balance: its postings up to ``at`` are summed.
    """
    postings = Posting.objects.filter(account=account, created_at__lte=at)
    if account.is_system:
        return int(postings.aggregate(total=Sum("amount_minor"))["total"] or 0)
    balance = postings.order_by("-sequence").values_list("balance_after_minor", flat=True).first()
    return balance or 0


def account_reserved_at(account: Account, at: datetime) -> int:
    """Return what the account's holds reserved, in minor units, at the instant ``at``.

    A hold reserves from its ``created_at`` until it leaves pending (``resolved_at``: its final
    capture, its void, or its recorded expiry, which is its ``expires_at``) or, while recorded as
    pending, until its ``expires_at``: its amount less its captures made by then.
    """
    if account.is_system:
        return 0
    holds = Hold.objects.filter(account=account, created_at__lte=at).filter(
        Q(resolved_at__gt=at) | Q(resolved_at__isnull=True, expires_at__gt=at)
    )
    held = holds.aggregate(total=Sum("amount_minor"))["total"]
    if not held:
        return 0
    captured = Transaction.objects.filter(hold__in=holds, created_at__lte=at).aggregate(total=Sum("amount_minor"))
    return int(held) - int(captured["total"] or 0)


@dataclass(frozen=True)
class BalanceAsOf:
    """An account's balance and available balance (minor units) at the instant ``as_of``."""

    balance_minor: int
    available_minor: int
    as_of: datetime


def balances_as_of(account: Account, at: datetime | None = None) -> BalanceAsOf:
    """Return the account's balance and available balance at ``at``: now, if ``at`` is omitted or later.

    The available balance is the balance less what its holds reserved at that instant
    (:func:`account_reserved_at`); now, ``Account.available_balance_minor``. The books say
    nothing yet about a later instant.
    """
    now = timezone.now()
    if at is None or at >= now:
        return BalanceAsOf(account.current_balance_minor, account.available_balance_minor, now)
    balance = account_balance_at(account, at)
    return BalanceAsOf(balance, balance - account_reserved_at(account, at), at)


def balance_as_of(account: Account, at: datetime | None = None) -> tuple[int, datetime]:
    """Return the account's balance at ``at`` and the instant it is for (:func:`balances_as_of`)."""
    found = balances_as_of(account, at)
    return found.balance_minor, found.as_of


# --- holds ------------------------------------------------------------------------------------


def _rendered_holds(queryset: QuerySet[Hold]) -> QuerySet[Hold]:
    """Return ``queryset`` loading what the API renders of each hold: its accounts, its captures oldest first."""
    captures = Transaction.objects.only("pk", "public_id", "hold").order_by("pk")
    return queryset.select_related("account", "destination_account").prefetch_related(
        Prefetch("captures", queryset=captures)
    )


def holds_visible_to(
    user: User, *, status: str | None = None, account_id: UUID | None = None, now: datetime | None = None
) -> QuerySet[Hold]:
    """Return the holds ``user`` may see, to be paginated newest first: on the accounts it owns, for staff all.

    ``status`` is the status at ``now`` (default: now): a hold recorded as pending but past its
    expiry is ``expired``, not ``pending``. ``account_id`` keeps the holds on that account.
    """
    holds = _rendered_holds(Hold.objects.all())
    if not user.is_staff:
        holds = holds.filter(account__owner=user)
    if account_id is not None:
        holds = holds.filter(account__public_id=account_id)
    if status is not None:
        moment = now or timezone.now()
        if status == Hold.Status.PENDING:
            holds = holds.filter(status=Hold.Status.PENDING, expires_at__gt=moment)
        elif status == Hold.Status.EXPIRED:
            holds = holds.filter(Q(status=Hold.Status.EXPIRED) | Q(status=Hold.Status.PENDING, expires_at__lte=moment))
        else:
            holds = holds.filter(status=status)
    return holds


def hold_get(*, user: User, hold_id: UUID | str) -> Hold:
    """Return the hold ``hold_id`` with its captures; ``NotFound`` unless it is on ``user``'s account (or staff)."""
    try:
        return holds_visible_to(user).get(public_id=hold_id)
    except (Hold.DoesNotExist, ValueError, ValidationError):
        raise NotFound("No such hold.") from None


def legs_visible_to(txn: Transaction, viewer: User) -> list[Posting]:
    """Return the legs of ``txn`` that ``viewer`` may see: every leg for staff, a client's own legs otherwise.

    A client sees a transaction when it touches one of its accounts (:func:`transactions_visible_to`),
    but never the other side's leg: not the payee's balance after a transfer, nor the system account's.
    """
    legs = list(txn.postings.all())
    if viewer.is_staff:
        return legs
    return [
        posting for posting in legs if posting.account.owner_id is not None and posting.account.owner_id == viewer.pk
    ]


@dataclass(frozen=True)
class ReversalLeg:
    """One posting a reversal of a transaction would make, from the balances now.

    ``balance_now`` and ``balance_after`` are ``None`` on a system account (it keeps no running
    balance); ``refusal`` is what the reversal would be refused with because of this leg, if anything.
    The posting service re-checks everything under the accounts' locks when the reversal is made.
    """

    account: Account
    amount_minor: int
    balance_now: int | None
    balance_after: int | None
    refusal: LedgerError | None


def reversal_preview(txn: Transaction) -> list[ReversalLeg]:
    """Return the legs a reversal of ``txn`` would post, checked by the reversal's own rules.

    ``txn``'s postings must be loaded with their accounts. The rules are those of
    :mod:`transactions.engine.rules`, which the reversal itself is checked by.
    """
    legs = []
    for posting in txn.postings.all():
        account, amount = posting.account, -posting.amount_minor
        now = None if account.is_system else account.balance_minor
        refusal = rules.refusal_of(rules.require_active, [account]) or rules.refusal_of(
            rules.require_balance_after, account, amount
        )
        legs.append(ReversalLeg(account, amount, now, None if now is None else now + amount, refusal))
    return legs

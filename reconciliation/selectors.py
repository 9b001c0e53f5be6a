"""Reads for statements: an account's opening balance, postings and totals over a period.

A period is ``[start, end)``: it holds the postings made at or after ``start`` and before
``end``. The opening balance is the account's balance at ``start`` (the ``balance_after`` of
its last posting before it, 0 if none) and the closing balance its balance at ``end``. Each
account's ``created_at`` and ``sequence`` are both assigned under its row lock, so the
postings of a period are a run of consecutive sequence numbers. Call these inside one
snapshot (:func:`reconciliation.services.read_snapshot`) so that they agree with each other.

A posting of a hold's capture carries the hold's public id (``transaction__hold__public_id``;
none for any other posting): a capture is a withdrawal or transfer like the others, and adds to
the balance as they do.

A system account keeps no running balance (``accounts.models``): its opening balance is the
sum of its postings before ``start``, its postings follow in id order, and each one's balance
after it is computed here as they stream; its statement ties out by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict
from uuid import UUID

from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce, Lag

from accounts.models import Account
from transactions.models import Posting


@dataclass(frozen=True)
class StatementSummary:
    """What a statement must tie out to: ``opening + credits + debits == closing``."""

    opening: int
    credits: int  # sum of the positive amounts
    debits: int  # sum of the negative amounts (so, negative or zero)
    credit_count: int
    debit_count: int
    closing: int
    first_sequence: int | None
    last_sequence: int | None

    @property
    def net(self) -> int:
        """What the period changed: its credits plus its debits."""
        return self.credits + self.debits

    @property
    def ties_out(self) -> bool:
        """Whether the opening balance plus what the period changed is the closing balance."""
        return self.opening + self.net == self.closing


class _PostingValues(TypedDict):
    """A posting as the statement reads it, with its transaction.

    A system account's posting carries no sequence and no balance after it.
    """

    sequence: int | None
    created_at: datetime
    amount_minor: int
    balance_after_minor: int | None
    transaction__public_id: UUID
    transaction__kind: str
    transaction__description: str
    transaction__reference: str
    transaction__hold__public_id: UUID | None
    transaction__source_account__public_id: UUID | None
    transaction__source_account__name: str | None
    transaction__destination_account__public_id: UUID | None
    transaction__destination_account__name: str | None


class StatementRow(TypedDict):
    """One posting of a statement, as :func:`statement_postings` streams it: always with its balance after.

    A customer posting's own; for a system account's, counted as the rows stream.
    """

    sequence: int | None
    created_at: datetime
    amount_minor: int
    balance_after_minor: int
    transaction__public_id: UUID
    transaction__kind: str
    transaction__description: str
    transaction__reference: str
    transaction__hold__public_id: UUID | None
    transaction__source_account__public_id: UUID | None
    transaction__source_account__name: str | None
    transaction__destination_account__public_id: UUID | None
    transaction__destination_account__name: str | None


def _period(account: Account, start: datetime, end: datetime) -> QuerySet[Posting]:
    """Return the account's postings over ``[start, end)``."""
    return Posting.objects.filter(account=account, created_at__gte=start, created_at__lt=end)


def _opening(account: Account, start: datetime) -> int:
    """Return the account's balance at ``start``: its last ``balance_after`` before it (a system account's sum)."""
    before = Posting.objects.filter(account=account, created_at__lt=start)
    if account.is_system:
        return int(before.aggregate(total=Sum("amount_minor", default=0))["total"])
    return before.order_by("-created_at", "-sequence").values_list("balance_after_minor", flat=True).first() or 0


def statement_summary(*, account: Account, start: datetime, end: datetime) -> StatementSummary:
    """Return the opening balance, credit and debit totals and closing balance of ``account`` over ``[start, end)``."""
    opening = _opening(account, start)
    totals = _period(account, start, end).aggregate(
        credits=Sum("amount_minor", filter=Q(amount_minor__gt=0), default=0),
        debits=Sum("amount_minor", filter=Q(amount_minor__lt=0), default=0),
        credit_count=Count("pk", filter=Q(amount_minor__gt=0)),
        debit_count=Count("pk", filter=Q(amount_minor__lt=0)),
    )
    if account.is_system:
        net = int(totals["credits"]) + int(totals["debits"])
        return StatementSummary(
            opening=opening,
            credits=int(totals["credits"]),
            debits=int(totals["debits"]),
            credit_count=totals["credit_count"],
            debit_count=totals["debit_count"],
            closing=opening + net,
            first_sequence=None,
            last_sequence=None,
        )
    last = _period(account, start, end).order_by("-sequence").values("sequence", "balance_after_minor").first()
    first = _period(account, start, end).order_by("sequence").values_list("sequence", flat=True).first()
    closing = opening if last is None else last["balance_after_minor"]
    if closing is None:  # The database refuses a customer leg without one (migration 0006's trigger).
        raise ValueError(f"a posting of customer account {account.public_id} carries no balance_after")
    return StatementSummary(
        opening=int(opening),
        credits=int(totals["credits"]),
        debits=int(totals["debits"]),
        credit_count=totals["credit_count"],
        debit_count=totals["debit_count"],
        closing=int(closing),
        first_sequence=first,
        last_sequence=last["sequence"] if last else None,
    )


def statement_breaks(*, account: Account, start: datetime, end: datetime, opening: int) -> list[int | None]:
    """Return the sequences of the period's postings whose ``balance_after`` is not the previous one plus the amount.

    The first posting follows from ``opening``. One window query over the period; empty when
    the statement ties out posting by posting (always for a system account: it stores no chain).
    """
    if account.is_system:
        return []
    previous = Window(Lag("balance_after_minor"), order_by=F("sequence").asc())
    return list(
        _period(account, start, end)
        .annotate(previous=previous)
        .filter(
            ~Q(
                balance_after_minor=Coalesce(F("previous"), Value(opening, output_field=BigIntegerField()))
                + F("amount_minor")
            )
        )
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )


def statement_postings(*, account: Account, start: datetime, end: datetime, opening: int = 0) -> Iterator[StatementRow]:
    """Stream the postings of ``account`` over ``[start, end)`` in sequence order, with their transactions.

    A system account's come in id order, each with the balance after it counted from ``opening``.
    """
    rows = (
        _period(account, start, end)
        .order_by("id" if account.is_system else "sequence")
        .values(*_PostingValues.__annotations__)
        .iterator(chunk_size=5000)
    )
    if not account.is_system:
        # A customer posting always carries its balance after (a CHECK constraint and the ledger's triggers).
        customer_rows: Iterator[StatementRow] = rows
        return customer_rows
    return _running(rows, opening)


def counterparty(row: StatementRow) -> tuple[UUID | None, str]:
    """Return the other side of a statement row's posting: the account money came from or went to, and its name.

    Money in came from the transaction's source, money out went to its destination; a
    deposit's source and a withdrawal's destination are the outside world (``None``).
    """
    if row["amount_minor"] > 0:
        public_id, name = row["transaction__source_account__public_id"], row["transaction__source_account__name"]
    else:
        public_id, name = (
            row["transaction__destination_account__public_id"],
            row["transaction__destination_account__name"],
        )
    if public_id is None:
        return None, "the outside world"
    return public_id, name or "(unnamed account)"


def _running(rows: Iterator[_PostingValues], balance: int) -> Iterator[StatementRow]:
    """Yield a system account's ``rows`` with the balance after each one, counted from ``balance``."""
    for row in rows:
        balance += row["amount_minor"]
        yield {**row, "sequence": None, "balance_after_minor": balance}

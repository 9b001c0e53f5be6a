"""The events the posting engine writes with its changes (``events.outbox``), each read by whom it touches.

A client reads an event when it owns an account the event touches: a transaction's legs'
accounts, a hold's held account (not its destination, whose owner sees the capture's
``transaction.posted``). System accounts have no owner, hence no reader; staff read all.
"""

from __future__ import annotations

from accounts.models import Hold
from events import outbox
from events.models import Event
from transactions.models import Posting, Transaction


def posted_event(txn: Transaction, postings: list[Posting]) -> outbox.Draft:
    """Return the ``transaction.posted`` event of ``txn``, whose ``postings`` are its legs with their accounts."""
    return outbox.draft(
        Event.Type.TRANSACTION_POSTED,
        "transaction",
        txn,
        touches=[(posting.account.owner_id, posting.account.public_id) for posting in postings],
    )


def reversed_event(original: Transaction, reversal: Transaction) -> outbox.Draft:
    """Return the ``transaction.reversed`` event of ``original``, reversed by ``reversal`` (its legs loaded)."""
    return outbox.draft(
        Event.Type.TRANSACTION_REVERSED,
        "transaction",
        original,
        touches=[(posting.account.owner_id, posting.account.public_id) for posting in original.postings.all()],
        cause_id=reversal.public_id,
    )


def hold_event(type: str, hold: Hold, *, cause: Transaction | None = None) -> outbox.Draft:
    """Return the ``hold.*`` event ``type`` of ``hold`` as it stands now (its captures cached or loaded)."""
    return outbox.draft(
        type,
        "hold",
        hold,
        touches=[(hold.account.owner_id, hold.account.public_id)],
        cause_id=None if cause is None else cause.public_id,
    )

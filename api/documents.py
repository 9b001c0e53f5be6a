"""The documents the API answers with, each defined once: the definition renders and documents.

A :class:`Document` is a list of :class:`Prop`, each a name, the type of its value (which says
how the OpenAPI schema describes it) and how to read it from the object rendered. ``render``
builds the answer with plain functions: REST framework's generic serializers copy and bind
every field for every transaction rendered, and a 201 is rendered while the accounts' row
locks are held (docs/benchmarks.md, "Why the code is written as it is"); ``serializer`` is a
REST framework serializer generated from the same list, only for drf-spectacular to describe
the schema. So
the answer and its schema cannot drift apart; ``tests/api/test_documents.py`` checks every
rendered document against its schema.

What a viewer may see of a transaction (which legs) is decided by the core
(:func:`transactions.selectors.legs_visible_to`); the documents only render it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from accounts.models import Account, Hold
from api.fields import MetadataField, MinorUnitsField
from events import outbox
from events.models import Event
from ledger.money import format_minor
from transactions.engine.idempotency import AnswerRenderer, AnswerT
from transactions.models import Batch, Posting, Transaction
from transactions.selectors import HistoryRow, legs_visible_to

if TYPE_CHECKING:
    from ledger.users import User

_DATETIME = serializers.DateTimeField()

T = TypeVar("T")  # What a document renders: an account, a transaction, a row of history...


def instant(value: datetime) -> str:
    """Return an instant as every document writes it (ISO 8601, UTC as ``Z``)."""
    return _DATETIME.to_representation(value)


def money(minor: int | None, currency: str) -> str | None:
    """Return minor units as a decimal string with the currency's digits; ``None`` stays ``None``."""
    return None if minor is None else format_minor(minor, currency)


# --- the types of values, and how the schema describes each ----------------------------------


@dataclass(frozen=True)
class Kind:
    """How the schema describes a property: a factory of the (read-only) REST framework field."""

    field: Callable[..., serializers.Field]

    def schema_field(self, help_text: str) -> serializers.Field:
        """Return the read-only field that describes a property of this kind."""
        return self.field(read_only=True, **({"help_text": help_text} if help_text else {}))


UUID = Kind(serializers.UUIDField)
NULLABLE_UUID = Kind(lambda **kw: serializers.UUIDField(allow_null=True, **kw))
TEXT = Kind(serializers.CharField)
INSTANT = Kind(serializers.DateTimeField)
NULLABLE_INSTANT = Kind(lambda **kw: serializers.DateTimeField(allow_null=True, **kw))
MONEY = Kind(MinorUnitsField)
NULLABLE_MONEY = Kind(lambda **kw: MinorUnitsField(allow_null=True, **kw))
METADATA = Kind(MetadataField)
INTEGER = Kind(serializers.IntegerField)
NULLABLE_INTEGER = Kind(lambda **kw: serializers.IntegerField(allow_null=True, **kw))


def choice(choices: Sequence[tuple[str, str]]) -> Kind:
    """Return the kind of a property that takes one of ``choices``."""
    return Kind(lambda **kw: serializers.ChoiceField(choices=choices, **kw))


def nested(document: Document[T], *, many: bool = False) -> Kind:
    """Return the kind of a property that is ``document`` (or, ``many``, a list of them)."""
    return Kind(lambda **kw: document.serializer(many=many, **kw))


@dataclass(frozen=True)
class Prop(Generic[T]):
    """One property of a document: its name, its kind, how to read it, and what it means."""

    name: str
    kind: Kind
    get: Callable[[T, User | None], Any]  # (the object rendered, the viewer) -> the value, as JSON
    help_text: str = ""


@dataclass
class Document(Generic[T]):
    """A document of the API: the ordered properties that render it and describe its schema."""

    name: str
    props: list[Prop[T]]
    _renderer: JSONRenderer = field(default_factory=JSONRenderer, repr=False)

    def render(self, obj: T, viewer: User | None = None) -> dict[str, Any]:
        """Return the document of ``obj`` as ``viewer`` may see it, ready for JSON."""
        return {prop.name: prop.get(obj, viewer) for prop in self.props}

    def render_bytes(self, obj: T, viewer: User | None = None) -> bytes:
        """Return the answer's exact bytes (what an idempotent replay repeats)."""
        return self._renderer.render(self.render(obj, viewer))

    @cached_property
    def serializer(self) -> type[serializers.Serializer]:
        """A serializer with the document's properties, for drf-spectacular only (never to render)."""
        fields = {prop.name: prop.kind.schema_field(prop.help_text) for prop in self.props}
        return type(f"{self.name}Serializer", (serializers.Serializer,), {"__module__": __name__, **fields})


def _public_id(related: Account | Transaction | Hold | None) -> str | None:
    """Return the public id of a related account, transaction or hold, ``None`` for none."""
    return None if related is None else str(related.public_id)


def _reversed_by(txn: Transaction) -> str | None:
    """Return the public id of ``txn``'s reversal, ``None`` if it has none."""
    try:
        return _public_id(txn.reversed_by)
    except Transaction.reversed_by.RelatedObjectDoesNotExist:
        return None


# --- the documents ----------------------------------------------------------------------------

ACCOUNT: Document[Account] = Document(
    "Account",
    [
        Prop("id", UUID, lambda a, _: str(a.public_id)),
        Prop("name", TEXT, lambda a, _: a.name),
        Prop("currency", TEXT, lambda a, _: a.currency),
        Prop("balance", MONEY, lambda a, _: format_minor(a.current_balance_minor, a.currency), "What is posted."),
        Prop(
            "available_balance",
            MONEY,
            lambda a, _: format_minor(a.available_balance_minor, a.currency),
            "The balance less what the account's pending holds reserve: what it may spend.",
        ),
        Prop("status", choice(Account.Status.choices), lambda a, _: str(a.status)),
        Prop("metadata", METADATA, lambda a, _: a.metadata),
        Prop("created_at", INSTANT, lambda a, _: instant(a.created_at)),
        Prop("updated_at", INSTANT, lambda a, _: instant(a.updated_at)),
    ],
)


@dataclass(frozen=True)
class BalanceAt:
    """An account's balance and available balance at an instant, as the balance endpoint answers them."""

    account: Account
    balance_minor: int
    available_minor: int
    as_of: datetime


BALANCE: Document[BalanceAt] = Document(
    "Balance",
    [
        Prop("account_id", UUID, lambda b, _: str(b.account.public_id)),
        Prop("currency", TEXT, lambda b, _: b.account.currency),
        Prop(
            "balance",
            TEXT,
            lambda b, _: format_minor(b.balance_minor, b.account.currency),
            "Decimal string with the currency's minor-unit digits.",
        ),
        Prop(
            "available_balance",
            TEXT,
            lambda b, _: format_minor(b.available_minor, b.account.currency),
            "The balance less what the account's pending holds reserved at that instant; "
            "decimal string with the currency's minor-unit digits.",
        ),
        Prop("as_of", INSTANT, lambda b, _: instant(b.as_of)),
    ],
)

LEG: Document[Posting] = Document(
    "Leg",
    [
        Prop("account_id", UUID, lambda p, _: str(p.account.public_id)),
        Prop("amount", MONEY, lambda p, _: format_minor(p.amount_minor, p.transaction.currency)),
        Prop(
            "balance_after",
            NULLABLE_MONEY,
            lambda p, _: money(p.balance_after_minor, p.transaction.currency),
            "The balance once this leg applied; null on a system account, which keeps no running balance.",
        ),
        Prop(
            "sequence",
            NULLABLE_INTEGER,
            lambda p, _: p.sequence,
            "The account's posting number, 1, 2, 3... without gaps: a consumer of events notices one it missed; "
            "null on a system account.",
        ),
    ],
)


def _legs(txn: Transaction, viewer: User | None) -> list[dict[str, Any]]:
    """Return the legs of ``txn`` that ``viewer`` may see, rendered."""
    if viewer is None:
        raise ValueError("a transaction is rendered for a viewer: which of its legs it shows depends on who asks")
    return [LEG.render(posting) for posting in legs_visible_to(txn, viewer)]


TRANSACTION: Document[Transaction] = Document(
    "Transaction",
    [
        Prop("id", UUID, lambda t, _: str(t.public_id)),
        Prop("kind", choice(Transaction.Kind.choices), lambda t, _: str(t.kind)),
        Prop("status", choice(Transaction.Status.choices), lambda t, _: str(t.status)),
        Prop("amount", MONEY, lambda t, _: format_minor(t.amount_minor, t.currency)),
        Prop("currency", TEXT, lambda t, _: t.currency),
        Prop("source_account_id", NULLABLE_UUID, lambda t, _: _public_id(t.source_account)),
        Prop("destination_account_id", NULLABLE_UUID, lambda t, _: _public_id(t.destination_account)),
        Prop("description", TEXT, lambda t, _: t.description),
        Prop("reference", TEXT, lambda t, _: t.reference),
        Prop("metadata", METADATA, lambda t, _: t.metadata),
        Prop("reverses", NULLABLE_UUID, lambda t, _: _public_id(t.reverses)),
        Prop("reversed_by", NULLABLE_UUID, lambda t, _: _reversed_by(t)),
        Prop(
            "hold_id",
            NULLABLE_UUID,
            lambda t, _: _public_id(t.hold),
            "The hold this transaction captures; null unless it is a capture.",
        ),
        Prop("created_at", INSTANT, lambda t, _: instant(t.created_at)),
        Prop(
            "postings",
            nested(LEG, many=True),
            _legs,
            "The legs on accounts the client may see (all of them for staff).",
        ),
    ],
)


@dataclass(frozen=True)
class HoldAt:
    """A hold as it stands at the instant ``now``: its status and what it reserves depend on when it is read.

    A pending hold past ``expires_at`` is ``expired`` and reserves nothing from that instant,
    whether or not its expiry is recorded yet; every property of one document reads one instant.
    """

    hold: Hold
    now: datetime


def holds_now(holds: Iterable[Hold]) -> list[HoldAt]:
    """Return ``holds`` as they stand now, one reading of the clock for all of them (a page, a batch)."""
    now = timezone.now()
    return [HoldAt(hold, now) for hold in holds]


def _hold_resolved_at(h: HoldAt) -> str | None:
    """Return when the hold left pending: as recorded, or its expiry once past it (recorded or not)."""
    if h.hold.resolved_at is not None:
        return instant(h.hold.resolved_at)
    return instant(h.hold.expires_at) if h.hold.status_at(h.now) == Hold.Status.EXPIRED else None


def _hold_captures(h: HoldAt) -> list[str]:
    """Return the public ids of the hold's captures, oldest first (no query while nothing is captured)."""
    if h.hold.captured_minor == 0:
        return []
    return [str(txn.public_id) for txn in sorted(h.hold.captures.all(), key=lambda txn: txn.pk)]


HOLD: Document[HoldAt] = Document(
    "Hold",
    [
        Prop("id", UUID, lambda h, _: str(h.hold.public_id)),
        Prop(
            "status",
            choice(Hold.Status.choices),
            lambda h, _: h.hold.status_at(h.now),
            "`expired` from `expires_at` on, whether or not the expiry is recorded yet.",
        ),
        Prop("account_id", UUID, lambda h, _: str(h.hold.account.public_id), "The account whose money is held."),
        Prop(
            "destination_account_id",
            NULLABLE_UUID,
            lambda h, _: _public_id(h.hold.destination_account),
            "Where a capture sends the money (a transfer); null: a capture is a withdrawal.",
        ),
        Prop("currency", TEXT, lambda h, _: h.hold.currency),
        Prop(
            "amount",
            MONEY,
            lambda h, _: format_minor(h.hold.amount_minor, h.hold.currency),
            "What the hold reserved when placed.",
        ),
        Prop(
            "captured_amount",
            MONEY,
            lambda h, _: format_minor(h.hold.captured_minor, h.hold.currency),
            "What its captures have moved so far.",
        ),
        Prop(
            "remaining_amount",
            MONEY,
            lambda h, _: format_minor(h.hold.remaining_minor_at(h.now), h.hold.currency),
            "What the hold still reserves: the uncaptured rest while pending, else zero.",
        ),
        Prop("description", TEXT, lambda h, _: h.hold.description),
        Prop("reference", TEXT, lambda h, _: h.hold.reference),
        Prop("metadata", METADATA, lambda h, _: h.hold.metadata),
        Prop("expires_at", INSTANT, lambda h, _: instant(h.hold.expires_at), "From this instant it reserves nothing."),
        Prop("created_at", INSTANT, lambda h, _: instant(h.hold.created_at)),
        Prop(
            "resolved_at",
            NULLABLE_INSTANT,
            lambda h, _: _hold_resolved_at(h),
            "When it left pending (its final capture, its void, or its expiry); null while pending.",
        ),
        Prop(
            "captures",
            Kind(lambda **kw: serializers.ListField(child=serializers.UUIDField(), **kw)),
            lambda h, _: _hold_captures(h),
            "The ids of the transactions that captured it, oldest first.",
        ),
    ],
)


def hold_renderer(viewer: User) -> AnswerRenderer[Hold]:
    """Return the port a hold's write asks for its answer: the hold as it stands when it is written."""
    return lambda hold: HOLD.render_bytes(HoldAt(hold, timezone.now()), viewer)


def _batch_transactions(batch: Batch, viewer: User | None) -> list[dict[str, Any]]:
    """Return the transactions of ``batch``, in the order of its operations, rendered for ``viewer``."""
    ordered = sorted(batch.transactions.all(), key=lambda txn: txn.pk)  # Request order: the order inserted.
    return [TRANSACTION.render(txn, viewer) for txn in ordered]


def _batch_holds(batch: Batch, viewer: User | None) -> list[dict[str, Any]]:
    """Return the holds ``batch`` placed, in the order of its operations, rendered."""
    ordered = sorted(batch.holds.all(), key=lambda hold: hold.pk)  # Request order: the order inserted.
    return [HOLD.render(hold, viewer) for hold in holds_now(ordered)]


BATCH: Document[Batch] = Document(
    "Batch",
    [
        Prop("id", UUID, lambda b, _: str(b.public_id)),
        Prop("transactions", nested(TRANSACTION, many=True), _batch_transactions, "In the order of the operations."),
        Prop(
            "holds",
            nested(HOLD, many=True),
            _batch_holds,
            "The holds the batch placed, in the order of the operations.",
        ),
    ],
)

# One posting of an account's history: a row of transactions.selectors.account_history.
HISTORY_ENTRY: Document[HistoryRow] = Document(
    "HistoryEntry",
    [
        Prop("transaction_id", UUID, lambda r, _: str(r["transaction__public_id"])),
        Prop("kind", choice(Transaction.Kind.choices), lambda r, _: r["transaction__kind"]),
        Prop("amount", MONEY, lambda r, _: format_minor(r["amount_minor"], r["transaction__currency"])),
        Prop(
            "balance_after",
            NULLABLE_MONEY,
            lambda r, _: money(r["balance_after_minor"], r["transaction__currency"]),
            "The balance once this posting applied; null in a system account's history.",
        ),
        Prop("description", TEXT, lambda r, _: r["transaction__description"]),
        Prop("reference", TEXT, lambda r, _: r["transaction__reference"]),
        Prop("created_at", INSTANT, lambda r, _: instant(r["created_at"])),
    ],
)


# An event as the core renders it for a viewer (events.selectors.document): the envelope, and its
# resource as ``data``. Webhooks and the broker deliver the same document.
EVENT: Document[dict[str, Any]] = Document(
    "Event",
    [
        Prop("id", UUID, lambda e, _: e["id"], "Deduplicate by it: delivery is at least once."),
        Prop("type", choice(Event.Type.choices), lambda e, _: e["type"]),
        Prop("created_at", INSTANT, lambda e, _: e["created_at"], "When the change committed's transaction began."),
        Prop(
            "data",
            Kind(lambda **kw: serializers.DictField(**kw)),
            lambda e, _: e["data"],
            "The resource as the API renders it at the change: an Account, a Transaction (a client sees only "
            "the legs on its own accounts; each leg with the account's posting `sequence`) or a Hold.",
        ),
    ],
)


class _EveryLeg:
    """The viewer an event's data is rendered for: staff, who see every leg (a client's view is cut from it)."""

    is_staff = True
    pk = None


def register_event_renderers() -> None:
    """Give the outbox the documents its events carry as ``data`` (``events.outbox.register``): staff's view."""
    staff = cast("User", _EveryLeg())
    outbox.register("account", lambda account: ACCOUNT.render(account, staff))
    outbox.register("transaction", lambda txn: TRANSACTION.render(txn, staff))
    outbox.register("hold", lambda hold: HOLD.render(HoldAt(hold, timezone.now()), staff))


def posting_renderer(document: Document[AnswerT], viewer: User) -> AnswerRenderer[AnswerT]:
    """Return the port the posting service asks for a write's answer: ``document`` as ``viewer`` sees it."""
    return lambda answer: document.render_bytes(answer, viewer)

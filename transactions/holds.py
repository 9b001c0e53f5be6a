"""The hold services: place, capture and void holds, and record their expiry.

A hold is a movement of the posting engine like the others (``transactions.services``): each
write runs in one database transaction (:func:`~ledger.atomic.run_atomically_with_retries`),
locks the customer accounts it touches in ascending id order, releases what lapsed holds on
them still reserve (:func:`~transactions.engine.reservations.release_lapsed`), checks the rules
against the locked rows at one instant, and binds its idempotency key in the same transaction.
The account row lock is also the hold's: every write of a hold first locks its account, so
captures, voids and expiry of one hold serialize, and it leaves ``pending`` exactly once. A
capture or void need not release other lapsed holds first (what it releases leaves the
available balance as it found it); a hold it is asked for that has lapsed is refused.

- Placing a hold moves no money: it adds its amount to the account's ``reserved_minor``,
  refused when the available balance is less (``insufficient_funds``), and by the rules of a
  withdrawal (no destination) or of a transfer (with one).
- A capture posts a withdrawal, or a transfer to the destination, through the journal, with the
  release of what it takes from the reservation in the same statement as the balance; the
  final one (everything that remains, or ``final``) resolves the hold as ``captured`` and
  releases the rest. The money was reserved, so a capture is never refused for funds; it is
  refused on a frozen or closed account (``account_inactive``), the hold still pending.
- A void releases what the hold still reserves and resolves it as ``voided``.
- From ``expires_at`` on, a hold reserves nothing and cannot be captured; :func:`holds_expire`
  (``manage.py expire_holds``) records it, as every write on its account does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import NOT_PROVIDED, Q
from django.utils import timezone

from accounts.models import Account, Hold
from audit.services import audit_record_create
from events import outbox
from events.models import Event
from ledger import metrics
from ledger.atomic import run_atomically_with_retries
from ledger.errors import NotFound, ValidationFailed
from ledger.money import amount_from, to_minor
from transactions.engine import orm, rules
from transactions.engine.events import hold_event
from transactions.engine.idempotency import IdempotencyClaim
from transactions.engine.journal import Journal
from transactions.engine.locking import (
    lock_accounts,
    lock_accounts_by_public_id,
    lock_accounts_of_hold,
    reserved_transaction_id,
)
from transactions.engine.reservations import count_holds, release_lapsed, store_reservations
from transactions.engine.rules import LockedAccounts
from transactions.models import Transaction

if TYPE_CHECKING:
    from ledger.users import User

DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=30)


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime:
    """Return when a hold placed at ``now`` expires: ``expires_at``, or 7 days on; refuse the past or past 30 days."""
    if expires_at is None:
        return now + DEFAULT_EXPIRY
    if expires_at <= now:
        raise ValidationFailed(errors={"expires_at": ["An expiry in the future is required."]})
    if expires_at > now + MAX_EXPIRY:
        raise ValidationFailed(errors={"expires_at": ["A hold expires at most 30 days after it is placed."]})
    return expires_at


def plan_hold(
    locked: LockedAccounts,
    actor: User,
    now: datetime,
    *,
    account_id: UUID,
    amount: Decimal,
    destination_account_id: UUID | None = None,
    expires_at: datetime | None = None,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
) -> Hold:
    """Check a hold against the locked accounts and reserve its amount on them; return it, not yet stored.

    The rules are a withdrawal's (no destination) or a transfer's (with one), and the available
    balance must cover the amount. A batch plans its holds here too, after its earlier operations.
    """
    account = locked.customer(account_id, actor, field="account_id")
    destination = None
    if destination_account_id is not None:
        rules.require_distinct(account_id, destination_account_id)
        destination = locked.customer(destination_account_id, actor, field="destination_account_id", owned=False)
        rules.require_same_currency(account, destination)
    minor = to_minor(amount, account.currency)
    rules.require_active([account] if destination is None else [account, destination])
    expiry = check_expiry(expires_at, now)
    rules.require_reservable(account, minor)
    account.reserved_minor += minor
    return Hold(
        account=account,
        destination_account=destination,
        currency=account.currency,
        amount_minor=minor,
        description=description,
        reference=reference,
        metadata=metadata or {},
        created_by=actor,
        expires_at=expiry,
        created_at=now,
    )


def store_holds(holds: list[Hold], now: datetime, *, bind: IdempotencyClaim[Hold] | None = None) -> None:
    """Insert planned holds and write the reservations of their (locked) accounts; counted on commit.

    With ``bind`` (one hold), the idempotency key is bound to it in the same transaction: on
    PostgreSQL the hold, the reservation, the record and the ``hold.created`` event are one
    statement, as a posting's are (``transactions.engine.journal``).
    """
    if bind is not None and len(holds) != 1:
        raise ValueError("bind= takes one hold: a batch binds its own answer")
    for hold in holds:
        orm.cache_related(hold, "captures", [])  # What the answer and the event render: nothing captured yet.
    if bind is not None and connection.vendor == "postgresql":
        _place_postgresql(holds[0], now, bind)
    else:
        Hold.objects.bulk_create(holds)
        store_reservations({hold.account.pk: hold.account for hold in holds}.values(), now)
        outbox.store([hold_event(Event.Type.HOLD_CREATED, hold) for hold in holds], now=now)
        if bind is not None:
            bind.bind(holds[0])
    currencies = [hold.currency for hold in holds]
    db_transaction.on_commit(lambda: count_holds(metrics.HOLDS_CREATED, currencies))


# Every column of a hold but its id and those the database fills (txid), in the model's order: the
# placement's INSERT.
_HOLD_FIELDS = [
    field for field in Hold._meta.concrete_fields if not field.primary_key and field.db_default is NOT_PROVIDED
]
_PLACE_SQL = """
WITH hold AS (
    INSERT INTO accounts_hold ({columns}) VALUES ({values}) RETURNING id
), reserved AS (
    UPDATE accounts_account SET reserved_minor = %(reserved)s, updated_at = %(now)s
     WHERE id = %(account)s RETURNING id
), record AS (
    INSERT INTO transactions_idempotencyrecord (client_id, key, fingerprint, response_status, response_body,
                                                transaction_id, batch_id, hold_id, created_at)
    SELECT %(client_id)s, %(key)s, %(fingerprint)s, %(response_status)s, %(response_body)s, NULL, NULL, hold.id,
           %(now)s
      FROM hold
    RETURNING id
){outbox}
SELECT hold.id FROM hold, reserved, record
""".format(  # noqa: S608 (column names from the model, no input)
    columns=", ".join(str(field.column) for field in _HOLD_FIELDS),
    values=", ".join(f"%({field.attname})s" for field in _HOLD_FIELDS),
    outbox=outbox.CTE_SQL,
)


def _place_postgresql(hold: Hold, now: datetime, bind: IdempotencyClaim[Hold]) -> None:
    """Insert the hold, write its reservation, bind the key to the answer and write the event: one statement."""
    params: dict[str, Any] = {
        field.attname: field.get_db_prep_save(getattr(hold, field.attname), connection) for field in _HOLD_FIELDS
    }
    params.update(bind.record(hold), reserved=hold.account.reserved_minor, account=hold.account.pk, now=now)
    params.update(outbox.cte_params([hold_event(Event.Type.HOLD_CREATED, hold)]))
    with connection.cursor() as cursor:
        cursor.execute(_PLACE_SQL, params)
        [(pk,)] = cursor.fetchall()
    orm.mark_saved(hold, pk)
    hold.account.updated_at = now


def hold_create(
    *,
    actor: User,
    account_id: UUID,
    amount: Decimal | str | int,
    destination_account_id: UUID | None = None,
    expires_at: datetime | None = None,
    description: str = "",
    reference: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency: IdempotencyClaim[Hold] | None = None,
) -> Hold:
    """Reserve ``amount`` of ``account_id`` until captured, voided or expired; move no money.

    The amount and the expiry are checked before anything is locked, and again at the instant
    the hold is placed.
    """
    parsed = amount_from(amount)
    check_expiry(expires_at, timezone.now())
    if destination_account_id is not None:
        rules.require_distinct(account_id, destination_account_id)
    ids = [account_id] if destination_account_id is None else [account_id, destination_account_id]

    def work() -> Hold:
        locked = lock_accounts_by_public_id(ids)
        now = timezone.now()
        release_lapsed(locked, now)
        hold = plan_hold(
            LockedAccounts(locked),
            actor,
            now,
            account_id=account_id,
            amount=parsed,
            destination_account_id=destination_account_id,
            expires_at=expires_at,
            description=description,
            reference=reference,
            metadata=metadata,
        )
        store_holds([hold], now, bind=idempotency)
        return hold

    return run_atomically_with_retries(work)


def _locked_hold(hold_id: UUID, accounts: dict[int, Account]) -> Hold:
    """Read the hold once its accounts are locked (so as it stands now), with those locked rows as its accounts."""
    hold = Hold.objects.select_for_update(no_key=True).get(public_id=hold_id)
    hold.account = accounts[hold.account_id]
    if hold.destination_account_id is not None:
        hold.destination_account = accounts[hold.destination_account_id]
    return hold


def hold_capture(
    *,
    actor: User,
    hold_id: UUID,
    amount: Decimal | str | int | None = None,
    final: bool = False,
    description: str = "",
    idempotency: IdempotencyClaim[Transaction] | None = None,
) -> Transaction:
    """Move ``amount`` (default: what the hold still reserves) of a pending hold to where the hold says.

    Posts a withdrawal (the hold has no destination) or a transfer to its destination, whose
    ``hold`` is this hold. Together the captures never exceed the hold's amount
    (``capture_exceeds_hold``); capturing what remains, or ``final``, resolves it as captured
    and releases the rest. ``hold_not_pending`` once it is captured, voided or expired.
    """
    parsed = None if amount is None else amount_from(amount)

    def work() -> Transaction:
        locked = lock_accounts_of_hold(hold_id, actor, reserve_transaction_id=True)
        if not locked:
            raise NotFound("No such hold.")
        journal = Journal(actor, transaction_id=reserved_transaction_id(locked))
        now = journal.now
        # Other lapsed holds need not be released first: a capture takes from the balance what it
        # releases from the reservation, so the available balance it leaves is the one it found.
        accounts = LockedAccounts(locked)
        hold = _locked_hold(hold_id, {account.pk: account for account in locked})
        rules.require_pending(hold, now)
        remaining = hold.amount_minor - hold.captured_minor
        minor = remaining if parsed is None else to_minor(parsed, hold.currency)
        rules.require_within_hold(hold, minor, now)
        account, destination = hold.account, hold.destination_account
        rules.require_active([account] if destination is None else [account, destination])
        resolves = final or minor == remaining
        account.reserved_minor -= remaining if resolves else minor
        credited = destination if destination is not None else accounts.system_of(hold.currency)
        earlier = list(hold.captures.order_by("pk")) if hold.captured_minor else []
        capture = journal.add(
            kind=Transaction.Kind.WITHDRAWAL if destination is None else Transaction.Kind.TRANSFER,
            currency=hold.currency,
            amount_minor=minor,
            legs=[(account, -minor), (credited, minor)],
            source=account,
            destination=destination,
            description=description or hold.description,
            reference=hold.reference,
            metadata=hold.metadata,
            hold=hold,
        )
        hold.captured_minor += minor
        if resolves:
            hold.status, hold.resolved_at = Hold.Status.CAPTURED, now
        orm.cache_related(hold, "captures", [*earlier, capture])
        journal.emit(lambda: hold_event(Event.Type.HOLD_CAPTURED, hold, cause=capture))
        [written] = journal.write(bind=idempotency)  # The capture row first: the hold is pending until then.
        Hold.objects.filter(pk=hold.pk).update(
            captured_minor=hold.captured_minor, status=hold.status, resolved_at=hold.resolved_at
        )
        currency = hold.currency
        db_transaction.on_commit(lambda: count_holds(metrics.HOLDS_CAPTURED, [currency]))
        return written

    return run_atomically_with_retries(work)


def hold_void(
    *,
    actor: User,
    hold_id: UUID,
    reason: str = "",
    idempotency: IdempotencyClaim[Hold] | None = None,
    ip_address: str | None = None,
    via: str = "api",
) -> Hold:
    """Release what a pending hold still reserves and resolve it as ``voided``; ``hold_not_pending`` otherwise.

    A void moves no money, so a frozen or closed account may be voided. An operator's void
    (``via="admin"``) needs a reason and is written to the audit trail in the same transaction.
    """
    if via != "api" and not reason.strip():
        raise ValidationFailed(errors={"reason": ["A reason is required."]})

    def work() -> Hold:
        locked = lock_accounts_of_hold(hold_id, actor)  # As a capture locks them.
        if not locked:
            raise NotFound("No such hold.")
        now = timezone.now()  # A void only releases: other lapsed holds can wait for the next write.
        hold = _locked_hold(hold_id, {account.pk: account for account in locked})
        rules.require_pending(hold, now)
        hold.account.reserved_minor -= hold.amount_minor - hold.captured_minor
        hold.status, hold.resolved_at, hold.resolution_reason = Hold.Status.VOIDED, now, reason.strip()
        store_reservations([hold.account], now)
        Hold.objects.filter(pk=hold.pk).update(
            status=hold.status, resolved_at=hold.resolved_at, resolution_reason=hold.resolution_reason
        )
        outbox.store([hold_event(Event.Type.HOLD_VOIDED, hold)], now=now)
        if via != "api":
            audit_record_create(
                action="void_hold",
                target_type="hold",
                target_id=hold.public_id,
                reason=hold.resolution_reason,
                operator=actor,
                ip_address=ip_address,
                details={"released": hold.amount_minor - hold.captured_minor, "via": via},
            )
        if idempotency is not None:
            idempotency.bind(hold)
        currency = hold.currency
        db_transaction.on_commit(lambda: count_holds(metrics.HOLDS_VOIDED, [currency]))
        return hold

    return run_atomically_with_retries(work)


def holds_expire(*, now: datetime | None = None, accounts_per_transaction: int = 500) -> int:
    """Record as expired every pending hold past its expiry (at ``now``, default now); return how many.

    Works through the accounts that have such holds in ascending id order, a database
    transaction per ``accounts_per_transaction``, locking them as every write does but skipping
    those another transaction holds: so several runs at once, on several machines, never wait
    for each other or record a hold twice. A skipped account's lapsed holds are recorded by the
    write that held it, if it commits, or by a later run; until then they reserve nothing and
    cannot be captured, on every read and write, so only the record waits.
    """
    moment = now or timezone.now()
    expired, after = 0, 0
    while True:
        batch = list(
            Hold.objects.filter(status=Hold.Status.PENDING, expires_at__lte=moment, account_id__gt=after)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:accounts_per_transaction]
        )
        if not batch:
            return expired

        def work(ids: list[int] = batch) -> int:
            return release_lapsed(lock_accounts(Q(pk__in=ids), skip_locked=True), moment)

        expired += run_atomically_with_retries(work)
        after = batch[-1]

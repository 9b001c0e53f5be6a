"""StreamEvents: the events already there, then each new one as it commits, for as long as the caller follows.

A stream is read in a thread of its own (:class:`Follower`) while the test writes over gRPC
(from another thread) and REST: each new event arrives once its change committed. A stream
asked ``after`` an event resumes with the next one, with no gap and no repeat; ``type`` filters;
a client's stream holds only the events touching its accounts, a transaction's with only its own
legs. A server allows ``LEDGER_GRPC_MAX_STREAMS`` streams at once and refuses one more with
``RESOURCE_EXHAUSTED`` (and admits it again once a stream ends). SIGTERM ends an open stream
with ``UNAVAILABLE`` (the client reconnects with the last id it received) and the server exits 0
within its grace. Every wait is bounded: a stream that falls silent fails the test, never hangs it.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import grpc
import pytest

from grpc_api.v1 import accounts_pb2, events_pb2, holds_pb2, transactions_pb2
from harness.grpc_servers import Ledger, serve_grpc
from harness.ports import free_port
from tests.grpc.conftest import grpc_env
from tests.grpc.helpers import refusal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WITHIN = 15  # seconds an expected event (or a stream's end) may take to arrive
GRACE = 8  # seconds, LEDGER_GRPC_GRACE_SECONDS of the server the SIGTERM test stops


class Follower:
    """A stream of events read in its own thread into a queue, so every wait on it has a deadline."""

    def __init__(self, ledger: Ledger, request: events_pb2.StreamEventsRequest | None = None) -> None:
        self.call = ledger.events.StreamEvents(
            request or events_pb2.StreamEventsRequest(), metadata=ledger.metadata(), timeout=120
        )
        self.received: queue.Queue[events_pb2.Event | grpc.RpcError | None] = queue.Queue()
        self.ended: grpc.RpcError | None = None
        self.thread = threading.Thread(target=self._read, name="stream-reader", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.received.put(event)
            self.received.put(None)  # Ended with OK: a stream never should while the caller follows.
        except grpc.RpcError as error:
            self.received.put(error)

    def _next(self, deadline: float) -> events_pb2.Event | grpc.RpcError | None:
        try:
            return self.received.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"nothing came on the stream within {WITHIN} s") from None

    def first(self, within: float = WITHIN) -> events_pb2.Event | grpc.RpcError | None:
        """Return whatever comes first: an event, the error the stream ended with, or None for a clean end."""
        return self._next(time.monotonic() + within)

    def take(self, count: int, within: float = WITHIN) -> list[events_pb2.Event]:
        """Return the next ``count`` events; fail if the stream ends or falls silent first."""
        deadline = time.monotonic() + within
        events = []
        while len(events) < count:
            item = self._next(deadline)
            if not isinstance(item, events_pb2.Event):
                code = "OK" if item is None else f"{item.code().name} {item.details()}"
                raise AssertionError(f"the stream ended ({code}) after {len(events)} of {count} events")
            events.append(item)
        return events

    def end(self, within: float = WITHIN) -> grpc.RpcError:
        """Return the error the stream ends with; fail if an event or a clean end comes instead."""
        item = self._next(time.monotonic() + within)
        assert isinstance(item, grpc.RpcError), f"expected the stream to end with an error, got {item!r}"
        return item

    def close(self) -> None:
        self.call.cancel()
        self.thread.join(timeout=WITHIN)

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_key() -> str:
    return f"stream-{uuid.uuid4()}"


def opened(ledger: Ledger) -> accounts_pb2.Account:
    return ledger.call(
        ledger.accounts.OpenAccount,
        accounts_pb2.OpenAccountRequest(idempotency_key=f"open-{uuid.uuid4()}", currency="USD"),
    )


def deposited(ledger: Ledger, account_id: str, amount: str) -> transactions_pb2.Transaction:
    return ledger.call(
        ledger.transactions.CreateDeposit,
        transactions_pb2.CreateDepositRequest(
            idempotency_key=new_key(), deposit=transactions_pb2.DepositInput(account_id=account_id, amount=amount)
        ),
    )


def what(event: events_pb2.Event) -> tuple[str, str]:
    """An event as (type, id of the resource it carries)."""
    kind = event.WhichOneof("data")
    return event.type, getattr(event, kind).id if kind else ""


def legs(event: events_pb2.Event) -> list[tuple[str, str, int]]:
    return [(leg.account_id, leg.amount, leg.sequence) for leg in event.transaction.postings]


# --- Following -------------------------------------------------------------------------------------


def test_a_stream_yields_the_events_already_there_then_each_new_one_as_it_commits(ledger_as, grpc_server, api, user):
    ledger = ledger_as(user)
    account = opened(ledger)
    first = deposited(ledger, account.id, "10.00")

    with Follower(ledger) as stream:
        assert [what(e) for e in stream.take(2)] == [
            ("account.opened", account.id),
            ("transaction.posted", first.id),
        ]

        # A write over gRPC from another thread, while the stream is followed.
        written: list[transactions_pb2.Transaction] = []

        def write() -> None:
            with Ledger(grpc_server, user.auth_token.key) as writer_ledger:
                written.append(deposited(writer_ledger, account.id, "2.50"))

        writer = threading.Thread(target=write, name="writer")
        writer.start()
        writer.join(timeout=WITHIN)
        assert written, "the gRPC deposit did not answer"
        (second,) = stream.take(1)
        assert what(second) == ("transaction.posted", written[0].id)
        assert legs(second) == [(account.id, "2.50", 2)]
        assert second.transaction.postings[0].balance_after == "12.50"

        # And over REST.
        response = api.post(
            "/api/v1/holds/",
            {"account_id": account.id, "amount": "4.00"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=new_key(),
        )
        assert response.status_code == 201, response.content
        (third,) = stream.take(1)
        assert what(third) == ("hold.created", response.json()["id"])
        assert (third.hold.amount, third.hold.status) == ("4.00", "pending")


def test_a_stream_asked_after_an_event_resumes_without_a_gap_or_a_repeat(ledger_as, user):
    ledger = ledger_as(user)
    account = opened(ledger)
    deposits = [deposited(ledger, account.id, f"{n}.00") for n in (1, 2, 3, 4)]

    with Follower(ledger) as stream:
        seen = stream.take(3)
    assert [what(e) for e in seen] == [("account.opened", account.id)] + [
        ("transaction.posted", d.id) for d in deposits[:2]
    ]

    # Two more while nobody follows; then resume after the last event processed.
    deposits += [deposited(ledger, account.id, f"{n}.00") for n in (5, 6)]
    with Follower(ledger, events_pb2.StreamEventsRequest(after=seen[-1].id)) as resumed:
        rest = resumed.take(4)
        assert [what(e) for e in rest] == [("transaction.posted", d.id) for d in deposits[2:]]
        # Nothing is shown twice: the next event is the one written now.
        sentinel = deposited(ledger, account.id, "7.00")
        assert [what(e) for e in resumed.take(1)] == [("transaction.posted", sentinel.id)]

    ids = [e.id for e in seen + rest]
    assert len(set(ids)) == len(ids)
    assert [leg for e in seen[1:] + rest for leg in legs(e)] == [
        (account.id, f"{n}.00", n) for n in range(1, 7)
    ]  # Every posting of the account, each once, in order: no gap.


def test_a_stream_of_one_type_holds_only_that_type(ledger_as, user):
    ledger = ledger_as(user)
    account = opened(ledger)
    first = deposited(ledger, account.id, "9.00")
    hold = ledger.call(
        ledger.holds.CreateHold,
        holds_pb2.CreateHoldRequest(
            idempotency_key=new_key(), hold=holds_pb2.HoldInput(account_id=account.id, amount="3.00")
        ),
    )

    with Follower(ledger, events_pb2.StreamEventsRequest(type="transaction.posted")) as posted:
        assert [what(e) for e in posted.take(1)] == [("transaction.posted", first.id)]
        # A hold's void, then a deposit: only the deposit is of the type followed.
        ledger.call(ledger.holds.VoidHold, holds_pb2.VoidHoldRequest(idempotency_key=new_key(), hold_id=hold.id))
        second = deposited(ledger, account.id, "1.00")
        assert [what(e) for e in posted.take(1)] == [("transaction.posted", second.id)]

    with Follower(ledger, events_pb2.StreamEventsRequest(type="hold.voided")) as voided:
        (event,) = voided.take(1)
        assert what(event) == ("hold.voided", hold.id)
        assert event.hold.status == "voided"


def test_a_client_streams_only_its_own_events_with_only_its_own_legs(ledger_as, user, other_user):
    mine, theirs = ledger_as(user), ledger_as(other_user)
    a = opened(mine)
    b = opened(theirs)
    funding = deposited(mine, a.id, "100.00")
    payment = mine.call(
        mine.transactions.CreateTransfer,
        transactions_pb2.CreateTransferRequest(
            idempotency_key=new_key(),
            transfer=transactions_pb2.TransferInput(
                source_account_id=a.id, destination_account_id=b.id, amount="30.00"
            ),
        ),
    )
    their_deposit = deposited(theirs, b.id, "5.00")
    my_last = deposited(mine, a.id, "1.00")
    their_last = deposited(theirs, b.id, "2.00")

    with Follower(mine) as stream:
        events = stream.take(4)
    assert [what(e) for e in events] == [
        ("account.opened", a.id),
        ("transaction.posted", funding.id),
        ("transaction.posted", payment.id),
        ("transaction.posted", my_last.id),
    ]
    assert legs(events[2]) == [(a.id, "-30.00", 2)]

    with Follower(theirs) as stream:
        events = stream.take(4)
    assert [what(e) for e in events] == [
        ("account.opened", b.id),
        ("transaction.posted", payment.id),
        ("transaction.posted", their_deposit.id),
        ("transaction.posted", their_last.id),
    ]
    assert legs(events[1]) == [(b.id, "30.00", 1)]
    assert events[1].transaction.postings[0].balance_after == "30.00"


# --- The server's bounds -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def narrow_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """A server of three workers that follows at most one stream at once."""
    port = free_port()
    log = tmp_path_factory.mktemp("grpc-narrow") / "grpcserver.log"
    env = grpc_env(LEDGER_GRPC_WORKERS="3", LEDGER_GRPC_MAX_STREAMS="1")
    with django_db_blocker.unblock(), serve_grpc(env, port, log):
        yield f"127.0.0.1:{port}"


def test_a_stream_beyond_the_servers_limit_is_resource_exhausted(narrow_server, user):
    with Ledger(narrow_server, user.auth_token.key) as ledger:
        account = opened(ledger)
        with Follower(ledger) as first:
            assert [what(e) for e in first.take(1)] == [("account.opened", account.id)]

            with Follower(ledger) as second:
                found = refusal(second.end())
            assert (found.code, found.reason, found.domain) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "throttled",
                "ledger",
            )
            # The other calls are still answered, and the stream followed still follows.
            deposit = deposited(ledger, account.id, "1.00")
            assert [what(e) for e in first.take(1)] == [("transaction.posted", deposit.id)]

        # Once the first stream has ended, a new one is admitted (the server notices the end within a poll).
        deadline = time.monotonic() + WITHIN
        while True:
            with Follower(ledger) as again:
                item = again.first()
            if isinstance(item, events_pb2.Event):
                assert what(item) == ("account.opened", account.id)
                break
            assert isinstance(item, grpc.RpcError), item
            assert item.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, item
            assert time.monotonic() < deadline, "no stream was admitted again after the first one ended"
            time.sleep(0.2)


def test_sigterm_ends_an_open_stream_with_unavailable_and_the_server_exits_0(tmp_path, user):
    port = free_port()
    env = grpc_env(LEDGER_GRPC_GRACE_SECONDS=str(GRACE))
    with serve_grpc(env, port, tmp_path / "grpcserver.log") as process:
        with Ledger(f"127.0.0.1:{port}", user.auth_token.key) as ledger:
            account = opened(ledger)
            with Follower(ledger) as stream:
                assert [what(e) for e in stream.take(1)] == [("account.opened", account.id)]
                process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                ended = stream.end(within=GRACE)
            found = refusal(ended)
            assert (found.code, found.reason) == (grpc.StatusCode.UNAVAILABLE, "unavailable")
        try:
            code = process.wait(timeout=max(0.1, GRACE - (time.monotonic() - signalled)))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server had not exited {GRACE} s after SIGTERM") from None
        assert code == 0

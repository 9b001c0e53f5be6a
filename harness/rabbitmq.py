"""A consumer of the ledger's events on RabbitMQ, for the tests and the torture scenario.

:class:`Consumer` declares a server-named, exclusive queue (gone with its connection) bound to
the ``ledger.events`` topic exchange with ``#`` (every routing key) and collects what arrives. The broker may be shared:
other runs publish to the same exchange, so callers keep only the messages of their own events
(by ``message_id``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pika
import pika.exceptions

BROKER_URL = os.environ.get("LEDGER_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
EXCHANGE = "ledger.events"


def broker_reachable(url: str = BROKER_URL, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at the broker's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Message:
    """One delivery as the consumer saw it."""

    routing_key: str
    message_id: str | None
    delivery_mode: int | None
    content_type: str | None
    type: str | None
    body: bytes
    received_at: float  # time.time()
    redelivered: bool


class Consumer:
    """An exclusive queue bound to ``ledger.events`` with ``binding``, and what it received.

    Use it from one thread at a time (pika's blocking connection), or let :meth:`start` consume in
    a thread of its own.
    """

    def __init__(self, url: str = BROKER_URL, binding: str = "#") -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange=EXCHANGE, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare(queue="", exclusive=True).method.queue
        self.channel.queue_bind(queue=self.queue, exchange=EXCHANGE, routing_key=binding)
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def _take(self, method, properties, body: bytes) -> None:
        message = Message(
            routing_key=method.routing_key,
            message_id=properties.message_id,
            delivery_mode=properties.delivery_mode,
            content_type=properties.content_type,
            type=properties.type,
            body=body,
            received_at=time.time(),
            redelivered=bool(method.redelivered),
        )
        with self._lock:
            self.messages.append(message)

    def drain(self, until: Callable[[list[Message]], bool] | None = None, timeout: float = 10.0) -> list[Message]:
        """Consume until ``until(messages so far)`` holds, or for ``timeout`` seconds; return every message so far."""
        deadline = time.monotonic() + timeout
        for method, properties, body in self.channel.consume(self.queue, auto_ack=True, inactivity_timeout=0.1):
            if method is not None:
                self._take(method, properties, body)
            if (until is not None and until(self.received())) or time.monotonic() > deadline:
                break
        self.channel.cancel()
        return self.received()

    def received(self) -> list[Message]:
        with self._lock:
            return list(self.messages)

    def start(self) -> Consumer:
        """Consume in a thread of its own until :meth:`stop` (then :meth:`received` is what arrived)."""
        self.channel.basic_consume(
            self.queue, lambda _ch, method, properties, body: self._take(method, properties, body), auto_ack=True
        )
        self._thread = threading.Thread(target=self._run, name="broker-consumer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.connection.process_data_events(time_limit=0.2)
        except Exception as exc:  # Shown by the caller: the consumer stopped early.
            self.errors.append(f"consumer: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(pika.exceptions.AMQPError):
            self.connection.close()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""A TCP proxy in front of PostgreSQL that drops a connection at an exact point of the protocol.

The service under test connects through it (``sslmode=disable``, so the frontend/backend
messages can be read). Armed with a fault, the proxy watches the client's messages and, at the
first one that matches, either drops the connection before forwarding it, or forwards it, waits
for the server to finish it (``ReadyForQuery``) and drops the connection then, swallowing the
answer: the client has sent ``COMMIT`` and never learns that it committed.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """Drop the connection at the first client message (``Q`` or ``P``) containing ``marker``."""

    marker: bytes
    forward: bool  # True: forward it, let the server finish it, then drop the connection unanswered.


AFTER_COMMIT = Fault(b"COMMIT", forward=True)
INSTEAD_OF_COMMIT = Fault(b"COMMIT", forward=False)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _message(sock: socket.socket) -> tuple[bytes, bytes]:
    """One typed protocol message: (type byte, whole message as sent)."""
    head = _read_exactly(sock, 5)
    (length,) = struct.unpack("!I", head[1:])
    return head[:1], head + _read_exactly(sock, length - 4)


class PostgresProxy:
    """Forward ``127.0.0.1:<port>`` to PostgreSQL; :meth:`arm` a fault for the next matching message."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._fault: Fault | None = None
        self._lock = threading.Lock()
        self.tripped = threading.Event()
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._fault = fault
            self.tripped.clear()

    def _take(self, kind: bytes, message: bytes) -> Fault | None:
        """The armed fault, disarmed, if ``message`` trips it."""
        with self._lock:
            fault = self._fault
            if fault is None or kind not in (b"Q", b"P") or fault.marker not in message:
                return None
            self._fault = None
            return fault

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        swallow = threading.Event()  # Set once a forwarded fault's message is sent: drop at ReadyForQuery.
        done = threading.Event()

        def backend() -> None:
            try:
                while True:
                    kind, message = _message(server)
                    if not swallow.is_set():
                        client.sendall(message)
                    elif kind == b"Z":  # The server finished the message: it has committed.
                        self.tripped.set()
                        return
            except OSError:
                return
            finally:
                done.set()

        threading.Thread(target=backend, daemon=True).start()
        try:
            (length,) = struct.unpack("!I", _read_exactly(client, 4))  # The untyped startup message.
            server.sendall(struct.pack("!I", length) + _read_exactly(client, length - 4))
            while not done.is_set():
                kind, message = _message(client)
                fault = self._take(kind, message)
                if fault is not None and not fault.forward:
                    self.tripped.set()
                    break
                server.sendall(message)
                if fault is not None:
                    swallow.set()
                    done.wait(30)
                    break
        except OSError:
            pass
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._closing = True
        self._listener.close()


@contextlib.contextmanager
def postgres_proxy(host: str, port: int) -> Iterator[PostgresProxy]:
    proxy = PostgresProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.close()

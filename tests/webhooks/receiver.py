"""A real HTTPS receiver of webhooks on localhost, in a thread, with a self-signed certificate.

Each request is recorded (:class:`Received`: headers and exact body bytes) and answered by the
next behaviour of its script (:class:`Answer`): a status, a delay before answering, a body (or
an endless one), extra headers. With the script empty it answers 200.
"""

from __future__ import annotations

import queue
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for localhost and 127.0.0.1 (and its key) into ``folder``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0
    body: bytes = b"ok"
    endless: bool = False  # Stream a body that never ends (until the client hangs up).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """The server: ``url`` to register, ``received`` to read, ``script`` to plan answers."""

    def __init__(self, cert: Path, key: Path, host: str = "127.0.0.1") -> None:
        self.received: list[Received] = []
        self.script: queue.Queue[Answer] = queue.Queue()
        self.streamed = 0  # Bytes of an endless body written before the client hung up.
        self.on_request: list[object] = []  # Callables run (in the server's thread) as each request arrives.
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body, time.monotonic()))
                for hook in receiver.on_request:
                    hook()  # type: ignore[operator]
                try:
                    answer = receiver.script.get_nowait()
                except queue.Empty:
                    answer = Answer()
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.endless:
                        self.send_header("Content-Length", str(10**12))
                        self.end_headers()
                        chunk = b"x" * 65536
                        while True:
                            self.wfile.write(chunk)
                            receiver.streamed += len(chunk)
                    else:
                        self.send_header("Content-Length", str(len(answer.body)))
                        self.end_headers()
                        self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, host: str = "127.0.0.1", path: str = "/hooks") -> str:
        return f"https://{host}:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        for answer in answers:
            self.script.put(answer)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

"""One HTTPS POST to a checked target, bounded in time and in what it reads, never redirected.

The connection goes to an address :func:`webhooks.addresses.resolve` checked (never to a name
resolved again), with TLS verifying the certificate against the URL's host name (SNI and
hostname check) and the ``Host`` header naming it. A redirect is an answer like any other
non-2xx: not followed. The answer's body is read up to ``MAX_ANSWER_BYTES`` (the rest is never
read: the connection is closed), and an answer that took longer than the timeout is a failure
even if it came.

The core of the relay calls this outside any database transaction: a request may take seconds.

Traced (``ledger_project.tracing``), the urllib3 instrumentation wraps ``urlopen`` of the pool
made here: the POST is a client span, and its ``traceparent`` (and ``tracestate``) is added to
the headers sent; untraced, the headers are exactly those given.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from webhooks.addresses import Target

MAX_ANSWER_BYTES = 64 * 1024
_ERROR_BODY_CHARS = 200  # How much of a refusing answer's body last_error repeats.


@dataclass(frozen=True)
class Answer:
    """What an attempt got: the status code (``None``: no answer), and what went wrong (``""``: success)."""

    status_code: int | None
    error: str

    @property
    def succeeded(self) -> bool:
        """Whether the receiver answered 2xx in time."""
        return not self.error


def ca_bundle() -> str:
    """Return the CA bundle receivers' certificates are checked against (``LEDGER_WEBHOOK_CA_BUNDLE``, or certifi's)."""
    return settings.LEDGER_WEBHOOK_CA_BUNDLE or certifi.where()


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``target`` and return the answer; never raises for what the network or receiver does.

    The addresses of ``target`` are tried in order until one accepts the connection.
    """
    began = time.monotonic()
    error = "no address"
    for address in target.addresses:
        left = timeout - (time.monotonic() - began)
        if left <= 0:
            return Answer(None, f"timed out after {timeout:g} s")
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=urllib3.Timeout(total=left),
            retries=False,
            maxsize=1,
            cert_reqs=ssl.CERT_REQUIRED,
            ca_certs=ca_bundle(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
        try:
            return _ask(pool, target, body=body, headers=headers, began=began, timeout=timeout)
        except NewConnectionError as exc:  # This address refused or did not answer: try the next.
            error = f"could not connect to {address}: {_reason(exc)}"
        except TimeoutError:
            return Answer(None, f"timed out after {timeout:g} s")
        except (HTTPError, OSError) as exc:
            return Answer(None, _reason(exc))
        finally:
            pool.close()
    return Answer(None, error)


def _ask(
    pool: urllib3.HTTPSConnectionPool,
    target: Target,
    *,
    body: bytes,
    headers: dict[str, str],
    began: float,
    timeout: float,
) -> Answer:
    response = pool.urlopen(
        "POST",
        target.path,
        body=body,
        headers={
            **headers,
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": "ledger-webhooks/1",
        },
        redirect=False,
        retries=False,
        assert_same_host=False,
        preload_content=False,
        release_conn=False,
    )
    try:
        answer = _bounded_read(response, deadline=began + timeout)
    finally:
        response.close()
    if time.monotonic() - began > timeout:
        return Answer(response.status, f"answered after the {timeout:g} s timeout")
    if 200 <= response.status < 300:
        return Answer(response.status, "")
    text = " ".join(answer[:_ERROR_BODY_CHARS].decode("utf-8", "replace").split())
    location = response.headers.get("Location")
    if 300 <= response.status < 400 and location:
        return Answer(response.status, f"HTTP {response.status} to {location[:200]}: redirects are not followed")
    return Answer(response.status, f"HTTP {response.status}" + (f": {text}" if text else ""))


def _bounded_read(response: urllib3.BaseHTTPResponse, *, deadline: float) -> bytes:
    """Read at most ``MAX_ANSWER_BYTES`` of the body, stopping at ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_ANSWER_BYTES and time.monotonic() < deadline:
        chunk = response.read(min(8192, MAX_ANSWER_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    """Return a one-line reason for a network failure, innermost cause first."""
    inner: BaseException = exc
    while inner.__context__ is not None and isinstance(inner, HTTPError):
        inner = inner.__context__
    if isinstance(inner, ssl.SSLCertVerificationError):
        return f"TLS certificate refused: {inner.verify_message}"
    text = " ".join(str(inner).split()) or type(inner).__name__
    return text[:300]

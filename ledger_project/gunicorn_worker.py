"""gunicorn's gthread worker, answering the requests gunicorn itself refuses as problem documents.

gunicorn refuses some requests before the application sees them: a request line over
``limit_request_line`` (414), a header line over ``limit_request_field_size`` or more than
``limit_request_fields`` headers (431), a malformed request line or header, such as a control
character in a value (400), an ``Expect`` other than ``100-continue`` (417), a transfer coding
gunicorn does not know (501). gunicorn answers them with an HTML page of its own; this worker answers
the same status as an RFC 9457 problem document like every other error of the API, with a fresh
request id in the body, in ``X-Request-ID`` and in the log line, and closes the connection.
Anything else (an error of the server's own, not the client's) keeps gunicorn's handling.

    worker_class = "ledger_project.gunicorn_worker.ProblemThreadWorker"   (gunicorn.conf.py)
"""

from __future__ import annotations

import json
import socket
import uuid
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

PROBLEM_CONTENT_TYPE = "application/problem+json"


def refusal(exc: BaseException) -> tuple[int, str] | None:
    """Return the status and problem code answering ``exc``, or ``None`` when it is not the client's fault.

    Mirrors the statuses of gunicorn's ``Worker.handle_error`` (gunicorn 27): an invalid
    response header or a ``SCRIPT_NAME`` that does not fit the path is the server's fault
    (gunicorn's 500), and every other parse error of the request is a 400.
    """
    if isinstance(exc, errors.InvalidResponseHeader | errors.InvalidResponseHeaderName | errors.ConfigurationProblem):
        return None
    if isinstance(exc, errors.LimitRequestLine):
        return 414, "uri_too_long"
    if isinstance(exc, errors.LimitRequestHeaders):
        return 431, "request_header_fields_too_large"
    if isinstance(exc, errors.ExpectationFailed):
        return 417, "expectation_failed"
    if isinstance(exc, errors.UnsupportedTransferCoding):
        return 501, "not_implemented"
    if isinstance(exc, errors.ForbiddenProxyRequest):
        return 403, "permission_denied"
    if isinstance(exc, errors.ParseException):
        return 400, "parse_error"
    return None


class ProblemThreadWorker(ThreadWorker):
    """The gthread worker, with ``handle_error`` writing problem documents for refused requests."""

    def _detail(self, code: str) -> str:
        """Return the fixed explanation of ``code``: the refused input is never echoed."""
        cfg = self.cfg
        return {
            "uri_too_long": f"The request line must be at most {cfg.limit_request_line} bytes.",
            "request_header_fields_too_large": (
                f"A request may carry at most {cfg.limit_request_fields} headers "
                f"of at most {cfg.limit_request_field_size} bytes each."
            ),
            "expectation_failed": "The only expectation supported is Expect: 100-continue.",
            "not_implemented": "The request uses a transfer coding this server does not implement.",
            "permission_denied": "This address may not send a PROXY protocol header.",
        }.get(code, "The request was refused as malformed: its request line, a header or its framing is invalid.")

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """Answer a refused request with a problem document; anything else as gunicorn does."""
        answer = refusal(exc)
        if answer is None:
            super().handle_error(req, client, addr, exc)
            return
        status, code = answer
        request_id = uuid.uuid4().hex
        try:
            from api.problems import problem_body  # Django is set up once the app is loaded.

            body = problem_body(None, status=status, code=code, detail=self._detail(code))
        except Exception:
            self.log.exception("Could not shape a problem document; gunicorn answers")
            super().handle_error(req, client, addr, exc)
            return
        body["request_id"] = request_id
        payload = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "Connection: close\r\n"
            "Cache-Control: no-store\r\n"
            f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"X-Request-ID: {request_id}\r\n"
            "\r\n"
        )
        # The kind of error only: its text may quote the refused request line or header.
        self.log.warning(
            "Refused a request from ip=%s: %s %s (%s)",
            (addr or ("",))[0],
            status,
            code,
            type(exc).__name__,
            extra={"request_id": request_id, "status": status, "code": code},
        )
        try:
            util.write_nonblock(client, head.encode("ascii") + payload)
        except Exception:
            self.log.debug("Failed to send error message.")

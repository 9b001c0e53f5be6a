"""Request ids: every response carries ``X-Request-ID``, the caller's or a new one."""

import re

from log_request_id.middleware import RequestIDMiddleware as _LibraryRequestIDMiddleware

# A caller's id is echoed only when it is short and plain; anything else is replaced.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIDMiddleware(_LibraryRequestIDMiddleware):
    """django-log-request-id's middleware, refusing to echo oversized or odd caller ids."""

    def _get_request_id(self, request) -> str:
        request_id = super()._get_request_id(request)
        if not _ACCEPTABLE_ID.match(request_id):
            return self._generate_id()
        return request_id

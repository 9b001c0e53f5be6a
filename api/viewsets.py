"""The base of every API viewset: what each of them does whatever it answers."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpResponseBase
from django.template.response import SimpleTemplateResponse
from rest_framework import viewsets
from rest_framework.request import Request


class LedgerViewSet(viewsets.GenericViewSet):
    """A viewset that lets go of the request once its answer is rendered.

    REST framework links a view, its request and its answer in reference cycles: the view holds
    its request, its answer and bound methods of itself; the request's ``parser_context`` holds
    the view and the request itself; the answer's ``renderer_context`` the view, the request and,
    once rendered, the answer itself. A page's rows are in cycles of their own: a transaction and
    the postings prefetched with it point at each other. So everything a request built (the rows,
    the paginator, the answer's data and body) waited for Python's cycle collector, whose full
    passes come every few hundred requests; on history pages a worker kept about 15 MiB more
    (docs/benchmarks.md, *Memory*).

    Invariant: once the answer is rendered, the view instance (one per request) holds nothing,
    neither the request nor the answer holds itself, and the page's rows hold none of their
    prefetched rows, so reference counting frees the request's objects as soon as the server
    lets go of the answer.
    """

    # The stubs say Response; a stored answer (api.idempotency) is a plain HttpResponse.
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
            response.add_post_render_callback(self._release)
        else:  # Rendered already (a stored answer replayed or recorded): nothing reads the view after this.
            self._release(response)
        return response

    def _release(self, response: HttpResponseBase) -> None:
        """Break the request's reference cycles: nothing reads what they link once the answer is rendered.

        The request's body has been parsed, if ever, and the middleware after this sees Django's
        request, not REST framework's.
        """
        state = self.__dict__
        for row in getattr(state.get("_paginator"), "page", None) or ():
            if isinstance(row, Model):
                row.__dict__.pop("_prefetched_objects_cache", None)
        request = state.get("request")
        if isinstance(request, Request) and request.parser_context:
            request.parser_context.pop("request", None)
        getattr(response, "renderer_context", {}).pop("response", None)
        state.clear()

"""Query parameters checked strictly: a GET naming a parameter its endpoint does not take is refused.

A filter that a list silently ignored used to answer rows the client had not asked for
(``/transactions/?kind=deposit`` before the list had that filter). Now every GET of a viewset
answers 400 ``validation_error`` naming each unknown parameter and listing the ones it takes.

What an endpoint takes is derived, never listed by hand: its action's query input (a FilterSet
or a serializer, ``query_inputs``) and, when the action pages, its paginator's ``cursor`` and
``page_size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import django_filters
from rest_framework import serializers
from rest_framework.request import Request

from api.filters import field_errors, parsed_filters
from api.viewsets import LedgerViewSet
from ledger.errors import ValidationFailed

# A FilterSet or a serializer: what an action parses from its query string.
QueryInput = type[django_filters.FilterSet] | type[serializers.Serializer[Any]]


def unknown_parameter_message(accepted: tuple[str, ...]) -> str:
    """Return the message naming what an endpoint takes, for each unknown parameter sent to it."""
    if not accepted:
        return "Unknown query parameter. This endpoint takes none."
    return f"Unknown query parameter. This endpoint takes: {', '.join(accepted)}."


def input_names(query_input: QueryInput | None) -> tuple[str, ...]:
    """Return the parameter names ``query_input`` parses."""
    if query_input is None:
        return ()
    filters = getattr(query_input, "base_filters", None)  # A FilterSet's filters, by name.
    if filters is not None:
        return tuple(filters)
    return tuple(query_input().fields)


class StrictQueryViewSet(LedgerViewSet):
    """A viewset that refuses, on every GET, a query parameter the action does not take.

    ``query_inputs`` maps an action to what it parses from the query string; :meth:`query`
    parses it. The check runs after authentication and throttling, before the action.
    """

    query_inputs: ClassVar[Mapping[str, QueryInput]] = {}

    def query_input(self) -> QueryInput | None:
        """Return what the current action parses from its query string, if anything."""
        return self.query_inputs.get(self.action or "")

    def pages(self) -> bool:
        """Whether the current action is answered in pages (its paginator's parameters are taken)."""
        return getattr(self, "pagination_class", None) is not None and (
            self.action == "list" or "pagination_class" in getattr(getattr(self, self.action or "", None), "kwargs", {})
        )

    def page_parameters(self) -> tuple[str, ...]:
        """Return the paging parameters the current action takes: its paginator's, when it pages."""
        if not self.pages():
            return ()
        # A fresh one, not the view's cached ``paginator``: a view may pick its paginator in the action.
        paginator: Any = self.pagination_class() if self.pagination_class else None
        return tuple(
            name
            for name in (
                getattr(paginator, "cursor_query_param", None),
                getattr(paginator, "page_size_query_param", None),
            )
            if name
        )

    def accepted_query_parameters(self) -> tuple[str, ...]:
        """Return every query parameter the current action takes."""
        return (*input_names(self.query_input()), *self.page_parameters())

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Authenticate, check permissions and throttle (REST framework), then refuse unknown query parameters."""
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            accepted = self.accepted_query_parameters()
            unknown = [name for name in request.query_params if name not in accepted]
            if unknown:
                message = unknown_parameter_message(accepted)
                raise ValidationFailed(errors={name: [message] for name in unknown})

    def query(self) -> dict[str, Any]:
        """Return the current action's query parameters, parsed; ``validation_error`` naming each invalid one."""
        query_input = self.query_input()
        if query_input is None:
            return {}
        if issubclass(query_input, django_filters.FilterSet):
            return parsed_filters(query_input, self.request)
        serializer = query_input(data=self.request.query_params)
        if not serializer.is_valid():
            raise ValidationFailed(errors=field_errors(serializer.errors))
        return dict(serializer.validated_data)

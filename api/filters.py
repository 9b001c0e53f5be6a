"""The query filters of the transaction lists (django-filter FilterSets).

A FilterSet here is the one definition of a list's filters: their names, how a value is parsed,
and what the schema says of them (django-filter's drf-spectacular integration reads them). It
only parses: :func:`parsed_filters` answers the cleaned values, and the view hands them to a
selector (``transactions.selectors``), which builds the query. An invalid value answers 400
``validation_error`` with ``errors`` naming the parameter.

Instants (``created_after``, ``created_before``) parse as an account's history parses them
(``api.inputs.HistoryQuerySerializer``, the same ``InstantField`` and texts): ISO 8601, and a
moment written without a zone is in the project's time zone, UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.request import Request

from api.fields import InstantField
from api.inputs import CREATED_AFTER_HELP, CREATED_BEFORE_HELP
from ledger.errors import ValidationFailed
from transactions.models import Transaction


class InstantFormField(forms.Field):
    """An ISO 8601 instant, parsed and refused exactly as :class:`api.fields.InstantField` does (naive: UTC)."""

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            return InstantField().to_internal_value(value)
        except serializers.ValidationError as refused:
            raise forms.ValidationError([str(message) for message in refused.detail]) from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    """A filter on an instant: the schema says ``date-time``; the value parses as :class:`InstantFormField`."""

    field_class = InstantFormField


class CreatedRangeFilter(django_filters.FilterSet):
    """``created_after`` (inclusive) and ``created_before`` (exclusive), as an account's history takes them."""

    created_after = InstantFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text=CREATED_AFTER_HELP,
    )
    created_before = InstantFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text=CREATED_BEFORE_HELP,
    )


class MovementFilter(CreatedRangeFilter):
    """The filters of the lists of one kind of movement (``/deposits/``, ``/withdrawals/``, ``/transfers/``)."""

    status = django_filters.ChoiceFilter(
        choices=Transaction.Status.choices,
        help_text="Only transactions with this status (`reversed`: a reversal has been posted for it).",
    )
    account_id = django_filters.UUIDFilter(
        help_text=(
            "Only transactions moving money in or out of this account, which must be one of yours "
            "(staff: any); another client's account matches nothing."
        ),
    )
    reference = django_filters.CharFilter(help_text="Only transactions with exactly this `reference`.")

    class Meta:
        model = Transaction
        fields: list[str] = []


class TransactionFilter(MovementFilter):
    """The filters of ``/transactions/``: those of a movement list, and ``kind``."""

    kind = django_filters.ChoiceFilter(choices=Transaction.Kind.choices, help_text="Only transactions of this kind.")


class SchemaFilterBackend(DjangoFilterBackend):
    """Declares a view's ``filterset_class`` to the schema; it filters nothing itself.

    The view parses with :func:`parsed_filters` and a selector filters, so that every query is
    built in the selectors.
    """

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        return queryset


def field_errors(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return a form's or a serializer's errors as a problem's ``errors``: each parameter's messages."""
    return {name: [str(message) for message in messages] for name, messages in errors.items()}


def parsed_filters(filterset_class: type[django_filters.FilterSet], request: Request) -> dict[str, Any]:
    """Return the filters the request sets, parsed (those it omits are left out); ``validation_error`` if invalid."""
    filterset = filterset_class(data=request.query_params)
    if not filterset.is_valid():
        raise ValidationFailed(errors=field_errors(filterset.errors))
    return {name: value for name, value in filterset.form.cleaned_data.items() if value not in (None, "")}

"""A JSON parser that never guesses: exact decimals, no duplicate keys, bounded size and depth."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import IO, Any, NoReturn, TypeVar

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
# The longest number a body may carry, in characters (digits, sign, point and exponent): far
# more than any amount or metadata value needs, and a bound on the work any number can cause.
MAX_NUMBER_CHARS = 100


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


T = TypeVar("T")


def _refuse_constant(name: str) -> NoReturn:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not have."""
    raise ValueError(f"{name} is not valid JSON")


def _bounded(convert: Callable[[str], T]) -> Callable[[str], T]:
    """Return ``convert`` refusing a number token longer than ``MAX_NUMBER_CHARS``."""

    def parse(token: str) -> T:
        """Convert ``token``; ``ValueError`` if it is longer than ``MAX_NUMBER_CHARS``."""
        if len(token) > MAX_NUMBER_CHARS:
            raise ValueError(f"numbers have at most {MAX_NUMBER_CHARS} characters")
        return convert(token)

    return parse


_PARSE_INT, _PARSE_DECIMAL = _bounded(int), _bounded(Decimal)


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Return the object of ``pairs``, refusing the first key that appears twice."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _depth(value: Any) -> int:
    """Return how deeply ``value`` nests, looking no deeper than one level past ``MAX_DEPTH``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                break
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


class StrictJSONParser(JSONParser):
    """Parses JSON numbers with a fraction or exponent as :class:`~decimal.Decimal` (never float).

    Refuses NaN and Infinity, numbers longer than ``MAX_NUMBER_CHARS``, duplicate object keys,
    nesting deeper than ``MAX_DEPTH`` and bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, each
    with a clear 4xx. The work is linear in the body's size.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Return the body's JSON value, or refuse it (``parse_error``, ``payload_too_large``)."""
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body must be at most {limit} bytes.")
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(
                text,
                parse_float=_PARSE_DECIMAL,
                parse_int=_PARSE_INT,
                parse_constant=_refuse_constant,
                object_pairs_hook=_refuse_duplicate_keys,
            )
        except RecursionError:
            raise exceptions.ParseError(f"JSON parse error - nesting deeper than {MAX_DEPTH} levels.") from None
        except (ValueError, ArithmeticError, UnicodeDecodeError, LookupError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if _depth(data) > MAX_DEPTH:
            raise exceptions.ParseError(f"JSON parse error - nesting deeper than {MAX_DEPTH} levels.")
        return data

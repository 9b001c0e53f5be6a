"""The ledger's methods, each registered by its full name and served from the proto's descriptors.

A method implementation takes the parsed request and the :class:`grpc_api.calls.Call`. Requests
arrive as bytes and are parsed here, so that a message that does not parse (a truncated one, a
string that is not UTF-8, nesting past protobuf's limit) is refused as ``INVALID_ARGUMENT``
``parse_error``, as REST refuses a malformed body, instead of the library's ``INTERNAL``.
:func:`handlers` refuses to start a server missing a method of the proto.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import DecodeError, Message

from grpc_api.errors import refused
from grpc_api.v1 import accounts_pb2, batches_pb2, events_pb2, holds_pb2, transactions_pb2

FILES = (accounts_pb2, transactions_pb2, holds_pb2, batches_pb2, events_pb2)
_IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {}


def services() -> list[descriptor.ServiceDescriptor]:
    """Return the services of package ``ledger.v1``, in the order of the proto files."""
    return [service for module in FILES for service in module.DESCRIPTOR.services_by_name.values()]


def method(service: str, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as ``ledger.v1.<service>/<name>``."""

    def register(implementation: Callable[..., Any]) -> Callable[..., Any]:
        _IMPLEMENTATIONS[f"ledger.v1.{service}/{name}"] = implementation
        return implementation

    return register


def parse(message_class: type[Message], raw: bytes) -> Message:
    """Return the request ``raw`` encodes; ``parse_error`` if it is not one."""
    try:
        return message_class.FromString(raw)
    except (DecodeError, RecursionError, ValueError):
        raise refused("parse_error", f"The request is not a valid {message_class.DESCRIPTOR.full_name}.") from None


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _behaviour(implementation: Callable[..., Any], message_class: type[Message]) -> Callable[[bytes, Any], Any]:
    return lambda raw, call: implementation(parse(message_class, raw), call)


def handlers() -> list[grpc.GenericRpcHandler]:
    """Return one handler per service, every method of the proto bound to its implementation."""
    from grpc_api import accounts, batches, events, holds, transactions  # noqa: F401  Registers the methods.

    generic = []
    for service in services():
        bound: dict[str, grpc.RpcMethodHandler] = {}
        for rpc in service.methods:
            full_name = f"{service.full_name}/{rpc.name}"
            implementation = _IMPLEMENTATIONS.get(full_name)
            if implementation is None:
                raise LookupError(f"{full_name} has no implementation")
            behaviour = _behaviour(implementation, message_factory.GetMessageClass(rpc.input_type))
            factory = (
                grpc.unary_stream_rpc_method_handler if rpc.server_streaming else grpc.unary_unary_rpc_method_handler
            )
            bound[rpc.name] = factory(behaviour, response_serializer=_serialize)
        generic.append(grpc.method_handlers_generic_handler(service.full_name, bound))
    return generic

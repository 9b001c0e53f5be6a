"""The proto is the reference for clients: the generated code matches it, money is never a float, writes carry keys.

The descriptors are walked as a client generated in another language would see them: every
message of package ``ledger.v1`` and every message it contains, down to the well-known types.
"""

import pytest
from google.protobuf import descriptor

from grpc_api import codegen, registry

MONEY = {"amount", "balance", "available_balance", "captured_amount", "remaining_amount", "balance_after"}
WRITES = {
    "OpenAccount",
    "CreateDeposit",
    "CreateWithdrawal",
    "CreateTransfer",
    "ReverseTransaction",
    "CreateBatch",
    "CreateHold",
    "CaptureHold",
    "VoidHold",
}
FLOATS = {descriptor.FieldDescriptor.TYPE_FLOAT, descriptor.FieldDescriptor.TYPE_DOUBLE}


def _messages() -> dict[str, descriptor.Descriptor]:
    """Every message of ledger.v1 reachable from the services, by full name (well-known types not entered)."""
    found: dict[str, descriptor.Descriptor] = {}
    pending = [m.input_type for s in registry.services() for m in s.methods]
    pending += [m.output_type for s in registry.services() for m in s.methods]
    while pending:
        message = pending.pop()
        if message.full_name in found or not message.full_name.startswith("ledger.v1."):
            continue
        found[message.full_name] = message
        pending += [field.message_type for field in message.fields if field.message_type is not None]
    return found


def test_the_committed_code_is_what_the_proto_generates():
    assert codegen.stale(codegen.generate()) == []


def test_the_staleness_check_sees_a_changed_file():
    files = codegen.generate()
    files["accounts_pb2.py"] += "# edited\n"
    assert codegen.stale(files) == ["accounts_pb2.py"]


def test_no_field_of_any_message_is_a_float():
    messages = _messages()
    floats = [f"{m.full_name}.{f.name}" for m in messages.values() for f in m.fields if f.type in FLOATS]
    assert len(messages) > 30  # Every request, answer and resource was walked.
    assert floats == []


def test_money_is_a_decimal_string_beside_its_currency():
    messages = _messages()
    money = {(m.full_name, f.name): f.type for m in messages.values() for f in m.fields if f.name in MONEY}
    assert {name for _, name in money} == MONEY
    assert set(money.values()) == {descriptor.FieldDescriptor.TYPE_STRING}
    for resource in ("ledger.v1.Account", "ledger.v1.Transaction", "ledger.v1.Hold", "ledger.v1.Balance"):
        assert "currency" in messages[resource].fields_by_name


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_carries_an_idempotency_key(name):
    (method,) = [m for s in registry.services() for m in s.methods if m.name == name]
    key = method.input_type.fields_by_name["idempotency_key"]
    assert (key.number, key.type) == (1, descriptor.FieldDescriptor.TYPE_STRING)


def test_every_method_of_the_proto_has_an_implementation():
    served = {handler.service_name() for handler in registry.handlers()}
    assert served == {s.full_name for s in registry.services()}


def test_a_server_missing_a_method_refuses_to_start(monkeypatch):
    registry.handlers()  # Every implementation registered.
    implementations = dict(registry._IMPLEMENTATIONS)
    del implementations["ledger.v1.HoldService/VoidHold"]
    monkeypatch.setattr(registry, "_IMPLEMENTATIONS", implementations)
    with pytest.raises(LookupError, match="VoidHold"):
        registry.handlers()

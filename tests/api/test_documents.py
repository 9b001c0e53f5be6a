"""Every answer the API gives matches the schema it publishes (``/api/schema/``).

The documents of ``api.documents`` render answers and generate the schema from one definition;
this checks the result from the outside: the conversation of ``tests/api/recording.py`` (every
endpoint, holds included, every refusal) is played, and each JSON answer is validated, with ``jsonschema``,
against the response schema the published OpenAPI document gives for its operation and status.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from tests.api.recording import converse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _json_schema(schema: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0's dialect as JSON Schema: ``nullable`` allows null, exclusive bounds are numbers,
    ``$ref`` points into ``$defs``."""
    if isinstance(schema, list):
        return [_json_schema(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value, components) for key, value in schema.items() if key != "nullable"}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if converted.get(exclusive) is True:  # 3.0's boolean form
            converted[exclusive] = converted.pop(bound)
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False  # An answer carries what its schema says, no more.
    if "$ref" in converted:
        converted["$ref"] = converted["$ref"].replace("#/components/schemas/", "#/$defs/")
    if schema.get("nullable"):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def _operations(openapi: dict[str, Any]) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for template, item in openapi["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + r"(\?.*)?$")
        for method, operation in item.items():
            found.append((pattern, method.upper(), operation))
    return found


def test_every_answer_matches_the_published_schema():
    entries = converse()
    [schema_entry] = [entry for entry in entries if entry["request"].startswith("GET /api/schema/")]
    openapi = yaml.safe_load(schema_entry["answer"])
    defs = {name: _json_schema(schema, {}) for name, schema in openapi["components"]["schemas"].items()}
    operations = _operations(openapi)
    checked = 0
    validated: set[tuple[str, int]] = set()  # (operation template, status) of every answer checked
    for entry in entries:
        method, path = entry["request"].split(" ")[:2]
        if path.startswith("/api/schema/") or not entry["headers"].get("Content-Type", "").endswith("json"):
            continue
        if path.startswith("/api/v1/problems/"):
            continue  # The pages that explain problem types: not part of the API's operations.
        matches = [operation for pattern, verb, operation in operations if verb == method and pattern.match(path)]
        validated.update((f"{method} {operation['operationId']}", entry["status"]) for operation in matches[:1])
        if not matches:  # A method or path the API does not have: a problem document all the same.
            assert entry["status"] in (404, 405), entry["request"]
            schema = {"$ref": "#/$defs/Problem", "$defs": defs}
        else:
            content = matches[0]["responses"].get(str(entry["status"]), {}).get("content", {})
            media = entry["headers"]["Content-Type"].split(";")[0]
            assert media in content, f"{entry['request']}: {entry['status']} {media} is not documented"
            schema = {**_json_schema(content[media]["schema"], {}), "$defs": defs}
        jsonschema.validate(json.loads(entry["answer"]), schema)
        checked += 1
    assert checked > 60, checked
    # Every hold document: placed, read, listed, voided (200), a capture (201), a batch with holds.
    for operation, status in [
        ("POST v1_holds_create", 201),
        ("GET v1_holds_retrieve", 200),
        ("GET v1_holds_list", 200),
        ("POST v1_holds_capture_create", 201),
        ("POST v1_holds_void_create", 200),
        ("POST v1_holds_create", 422),
        ("POST v1_holds_capture_create", 422),
        ("POST v1_holds_void_create", 422),
        ("GET v1_accounts_balance_retrieve", 200),
        ("POST v1_batches_create", 201),
    ]:
        assert (operation, status) in validated, (operation, status, sorted(validated))

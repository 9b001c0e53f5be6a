"""The OpenAPI schema describes the webhook endpoints, and every answer they give matches it."""

from __future__ import annotations

import json

import jsonschema
import pytest
from rest_framework.test import APIClient

from tests.api.test_documents import _json_schema, _operations
from tests.factories import AccountFactory
from tests.webhooks.helpers import deposit
from tests.webhooks.test_api import DELIVERY_KEYS, ENDPOINT_KEYS, create
from webhooks import relay

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _component(openapi, name):
    return openapi["components"]["schemas"][name]


def test_the_documents_are_described(openapi):
    endpoint = _component(openapi, "WebhookEndpoint")
    assert set(endpoint["properties"]) == ENDPOINT_KEYS
    assert set(_component(openapi, "WebhookEndpointWithSecret")["properties"]) == ENDPOINT_KEYS | {"secret"}
    delivery = _component(openapi, "WebhookDelivery")
    assert set(delivery["properties"]) == DELIVERY_KEYS
    assert delivery["properties"]["last_status_code"]["nullable"] is True
    assert delivery["properties"]["next_attempt_at"]["nullable"] is True
    request = _component(openapi, "WebhookEndpointInputRequest")
    assert set(request["required"]) == {"url", "event_types"}


def test_the_secret_is_answered_only_by_create_and_rotate(openapi):
    def answer(path, method, status):
        ref = openapi["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        return json.dumps(ref)

    assert "WebhookEndpointWithSecret" in answer("/api/v1/webhook-endpoints/", "post", "201")
    assert "WebhookEndpointWithSecret" in answer("/api/v1/webhook-endpoints/{id}/rotate-secret/", "post", "200")
    assert "WithSecret" not in answer("/api/v1/webhook-endpoints/{id}/", "get", "200")
    assert "204" in openapi["paths"]["/api/v1/webhook-endpoints/{id}/"]["delete"]["responses"]


def test_every_webhook_answer_matches_the_published_schema(openapi, api, user, webhook_settings):
    defs = {name: _json_schema(schema, {}) for name, schema in openapi["components"]["schemas"].items()}
    operations = _operations(openapi)
    created = json.loads(create(api).content)
    base = f"/api/v1/webhook-endpoints/{created['id']}/"
    deposit(user, AccountFactory(owner=user, currency="USD"))
    relay.fan_out()
    answers = [
        ("POST", "/api/v1/webhook-endpoints/", create(api)),
        ("POST", "/api/v1/webhook-endpoints/", create(api, url="http://x.example/")),
        ("GET", "/api/v1/webhook-endpoints/", api.get("/api/v1/webhook-endpoints/")),
        ("GET", base, api.get(base)),
        ("GET", base + "deliveries/", api.get(base + "deliveries/")),
        ("POST", base + "rotate-secret/", api.post(base + "rotate-secret/")),
        ("GET", base + "deliveries/", api.get(base + "deliveries/", {"cursor": "x"})),
        ("DELETE", base, api.delete(base)),
        ("GET", base, api.get(base)),
    ]
    for method, path, response in answers:
        [operation] = [op for pattern, verb, op in operations if verb == method and pattern.match(path)]
        content = operation["responses"][str(response.status_code)].get("content", {})
        if response.status_code == 204:
            assert not content
            continue
        media = response["Content-Type"].split(";")[0]
        assert media in content, (method, path, response.status_code, media)
        schema = {**_json_schema(content[media]["schema"], {}), "$defs": defs}
        jsonschema.validate(json.loads(response.content), schema)

"""The OpenAPI schema at /api/schema/ describes the contract; /api/docs/ serves Swagger UI locally."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

from tests.api.helpers import ACCOUNT_KEYS, HOLD_KEYS, LEG_KEYS, PROBLEM_KEYS, TRANSACTION_KEYS

CONTRACT_OPERATIONS = {
    "/api/v1/accounts/": {"get", "post"},
    "/api/v1/accounts/{id}/": {"get"},
    "/api/v1/accounts/{id}/balance/": {"get"},
    "/api/v1/accounts/{id}/history/": {"get"},
    "/api/v1/deposits/": {"get", "post"},
    "/api/v1/deposits/{id}/": {"get"},
    "/api/v1/withdrawals/": {"get", "post"},
    "/api/v1/withdrawals/{id}/": {"get"},
    "/api/v1/transfers/": {"get", "post"},
    "/api/v1/transfers/{id}/": {"get"},
    "/api/v1/transactions/": {"get"},
    "/api/v1/transactions/{id}/": {"get"},
    "/api/v1/transactions/{id}/reverse/": {"post"},
    "/api/v1/holds/": {"get", "post"},
    "/api/v1/holds/{id}/": {"get"},
    "/api/v1/holds/{id}/capture/": {"post"},
    "/api/v1/holds/{id}/void/": {"post"},
    "/api/v1/events/": {"get"},
    "/api/v1/events/{id}/": {"get"},
    "/api/v1/webhook-endpoints/": {"get", "post"},
    "/api/v1/webhook-endpoints/{id}/": {"get", "delete"},
    "/api/v1/webhook-endpoints/{id}/rotate-secret/": {"post"},
    "/api/v1/webhook-endpoints/{id}/deliveries/": {"get"},
}
MONEY_MOVEMENTS = [
    "/api/v1/deposits/",
    "/api/v1/withdrawals/",
    "/api/v1/transfers/",
    "/api/v1/transactions/{id}/reverse/",
    "/api/v1/holds/",
    "/api/v1/holds/{id}/capture/",
    "/api/v1/holds/{id}/void/",
]
HOLD_WRITES = ["/api/v1/holds/", "/api/v1/holds/{id}/capture/", "/api/v1/holds/{id}/void/"]
PAGED_LISTS = [
    ("/api/v1/accounts/", "get"),
    ("/api/v1/accounts/{id}/history/", "get"),
    ("/api/v1/deposits/", "get"),
    ("/api/v1/withdrawals/", "get"),
    ("/api/v1/transfers/", "get"),
    ("/api/v1/transactions/", "get"),
    ("/api/v1/holds/", "get"),
    ("/api/v1/webhook-endpoints/", "get"),
    ("/api/v1/webhook-endpoints/{id}/deliveries/", "get"),
]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    """The JSON schema, fetched once without credentials (the schema view touches no database)."""
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def _resolve(schema, node):
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


# --- Serving -----------------------------------------------------------------------------------


def test_the_schema_is_served_as_json_without_credentials(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_the_schema_is_served_as_json_on_accept(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_the_schema_defaults_to_yaml(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_has_a_title_and_version(schema):
    assert schema["info"]["title"]
    assert schema["info"]["version"]


# --- Paths and operations ------------------------------------------------------------------


def test_every_contract_operation_is_listed_and_nothing_else(schema):
    """Batches are part of the contract but outside these tests: their paths are tolerated, not required."""
    listed = {
        path: {m for m in item if m in HTTP_METHODS}
        for path, item in schema["paths"].items()
        if not path.startswith("/api/v1/batches/")
    }
    assert listed == CONTRACT_OPERATIONS


def test_every_operation_requires_a_token(schema):
    schemes = schema["components"]["securitySchemes"]
    token_schemes = {
        name for name, s in schemes.items() if s.get("in") == "header" and s.get("name") == "Authorization"
    }
    assert token_schemes
    for path, method, operation in _operations(schema):
        names = {name for requirement in operation.get("security", []) for name in requirement}
        assert names & token_schemes, (path, method)


@pytest.mark.parametrize("path", MONEY_MOVEMENTS)
def test_money_movements_require_the_idempotency_key_header(schema, path):
    parameters = schema["paths"][path]["post"].get("parameters", [])
    headers = [p for p in parameters if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert len(headers) == 1, parameters
    assert headers[0]["required"] is True
    assert headers[0]["schema"]["type"] == "string"


def test_opening_an_account_takes_an_optional_idempotency_key(schema):
    parameters = schema["paths"]["/api/v1/accounts/"]["post"].get("parameters", [])
    (key,) = [p for p in parameters if p["name"] == "Idempotency-Key"]
    assert (key["in"], key.get("required", False)) == ("header", False)


def test_the_balance_documents_at_and_history_its_filters(schema):
    balance = {p["name"]: p for p in schema["paths"]["/api/v1/accounts/{id}/balance/"]["get"]["parameters"]}
    assert balance["at"]["in"] == "query"
    assert balance["at"]["schema"]["format"] == "date-time"
    history = {p["name"]: p for p in schema["paths"]["/api/v1/accounts/{id}/history/"]["get"]["parameters"]}
    assert {"kind", "created_after", "created_before"} <= set(history)
    kind = history["kind"]["schema"]
    assert set(_resolve(schema, kind)["enum"]) >= {"deposit", "withdrawal", "transfer", "reversal"}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        *[pytest.param(path, method, id=path) for path, method in PAGED_LISTS],
    ],
)
def test_paged_lists_document_cursor_and_page_size(schema, path, method):
    operation = schema["paths"][path][method]
    names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    assert {"cursor", "page_size"} <= names, names
    page = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"


def test_the_events_list_documents_after_type_and_page_size(schema):
    operation = schema["paths"]["/api/v1/events/"]["get"]
    names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    assert {"after", "type", "page_size"} <= names, names
    page = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"next", "previous", "results"} <= set(page["properties"])
    event = _resolve(schema, page["properties"]["results"]["items"])
    assert set(event["properties"]) == {"id", "type", "created_at", "data"}
    types = _resolve(schema, event["properties"]["type"]["allOf"][0])["enum"]
    assert set(types) == {
        "account.opened",
        "account.status_changed",
        "transaction.posted",
        "transaction.reversed",
        "hold.created",
        "hold.captured",
        "hold.voided",
        "hold.expired",
    }


# --- Bodies ------------------------------------------------------------------------------------


def _json_body(schema, path, method, status="201"):
    return _resolve(schema, schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"])


def test_amounts_and_balances_are_documented_as_strings(schema):
    account = _json_body(schema, "/api/v1/accounts/", "post")
    assert set(account["properties"]) == ACCOUNT_KEYS
    assert account["properties"]["balance"]["type"] == "string"
    assert account["properties"]["available_balance"]["type"] == "string"
    transaction = _json_body(schema, "/api/v1/deposits/", "post")
    assert transaction["properties"]["amount"]["type"] == "string"
    assert set(transaction["properties"]) == TRANSACTION_KEYS
    leg = _resolve(schema, transaction["properties"]["postings"]["items"])
    assert set(leg["properties"]) == LEG_KEYS
    balance = _json_body(schema, "/api/v1/accounts/{id}/balance/", "get", "200")
    assert set(balance["properties"]) == {"account_id", "currency", "balance", "available_balance", "as_of"}
    assert balance["properties"]["balance"]["type"] == "string"
    assert balance["properties"]["available_balance"]["type"] == "string"


@pytest.mark.parametrize("path", ["/api/v1/deposits/", "/api/v1/withdrawals/", "/api/v1/transfers/"])
def test_request_amounts_accept_a_string_or_a_number(schema, path):
    content = schema["paths"][path]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json"}
    body = _resolve(schema, content["application/json"]["schema"])
    assert "amount" in body["required"]
    types = {option.get("type") for option in body["properties"]["amount"]["oneOf"]}
    assert types == {"string", "number"}


def test_the_hold_document_is_described(schema):
    hold = _json_body(schema, "/api/v1/holds/", "post")
    assert set(hold["properties"]) == HOLD_KEYS
    assert set(hold["required"]) == HOLD_KEYS
    for money in ("amount", "captured_amount", "remaining_amount"):
        assert hold["properties"][money]["type"] == "string"
    assert set(_resolve(schema, hold["properties"]["status"]["allOf"][0])["enum"]) == {
        "pending",
        "captured",
        "voided",
        "expired",
    }
    assert hold["properties"]["resolved_at"]["nullable"] is True
    assert hold["properties"]["captures"]["items"]["format"] == "uuid"
    assert _json_body(schema, "/api/v1/holds/{id}/void/", "post", "200") == hold
    capture = _json_body(schema, "/api/v1/holds/{id}/capture/", "post")
    assert set(capture["properties"]) == TRANSACTION_KEYS
    assert capture["properties"]["hold_id"]["nullable"] is True
    batch = _json_body(schema, "/api/v1/batches/", "post")
    assert _resolve(schema, batch["properties"]["holds"]["items"]) == hold


def test_the_holds_list_documents_its_filters(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/holds/"]["get"]["parameters"]}
    assert set(parameters["status"]["schema"]["enum"]) == {"pending", "captured", "voided", "expired"}
    assert parameters["account_id"]["schema"]["format"] == "uuid"


def test_a_batch_operation_may_be_a_hold(schema):
    operation = schema["components"]["schemas"]["BatchOperationRequest"]
    assert set(operation["discriminator"]["mapping"]) == {"deposit", "withdrawal", "transfer", "hold"}
    hold = schema["components"]["schemas"]["HoldOperationRequest"]
    assert {"kind", "account_id", "amount", "destination_account_id", "expires_at"} <= set(hold["properties"])


# --- Problems ------------------------------------------------------------------------------


def _problem_responses(operation):
    return {
        status: response
        for status, response in operation["responses"].items()
        if status[0] in "45" and "application/problem+json" in response.get("content", {})
    }


def test_the_problem_document_is_described(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert PROBLEM_KEYS | {"errors"} <= set(problem["properties"])
    assert set(problem["required"]) >= PROBLEM_KEYS


@pytest.mark.parametrize(("path", "method"), sorted((p, m) for p, ms in CONTRACT_OPERATIONS.items() for m in ms))
def test_every_operation_documents_problem_responses(schema, path, method):
    operation = schema["paths"][path][method]
    problems = _problem_responses(operation)
    assert {"400", "401", "429"} <= set(problems), sorted(operation["responses"])
    if "{id}" in path:
        assert "404" in problems
    for response in problems.values():
        assert set(response["content"]) == {"application/problem+json"}
        assert (
            _resolve(schema, response["content"]["application/problem+json"]["schema"])
            is (schema["components"]["schemas"]["Problem"])
        )


@pytest.mark.parametrize("path", MONEY_MOVEMENTS)
def test_money_movements_document_their_refusals(schema, path):
    problems = _problem_responses(schema["paths"][path]["post"])
    assert {"400", "401", "404", "415", "422", "429", "503"} <= set(problems)
    for code in ("idempotency_key_reused",):
        assert code in problems["422"]["description"]
    assert "idempotency_key_required" in problems["400"]["description"]


# What each write's service can refuse with (transactions.engine.rules), and nothing else.
REFUSALS = {
    "/api/v1/deposits/": {"account_inactive", "limit_exceeded", "idempotency_key_reused"},
    "/api/v1/withdrawals/": {"insufficient_funds", "account_inactive", "limit_exceeded", "idempotency_key_reused"},
    "/api/v1/transfers/": {
        "insufficient_funds",
        "account_inactive",
        "limit_exceeded",
        "idempotency_key_reused",
        "currency_mismatch",
        "same_account",
    },
    "/api/v1/holds/": {
        "insufficient_funds",
        "currency_mismatch",
        "account_inactive",
        "same_account",
        "idempotency_key_reused",
    },
    "/api/v1/holds/{id}/capture/": {
        "account_inactive",
        "hold_not_pending",
        "capture_exceeds_hold",
        "limit_exceeded",
        "idempotency_key_reused",
    },
    "/api/v1/holds/{id}/void/": {"hold_not_pending", "idempotency_key_reused"},
}


def _listed_codes(response):
    """Return the codes an error response lists: each a link to its problem page."""
    return re.findall(r"\[`([a-z_]+)`\]\(/api/v1/problems/\1/\)", response["description"])


@pytest.mark.parametrize("path", sorted(REFUSALS))
def test_each_write_lists_exactly_the_refusals_its_service_answers(schema, path):
    problems = _problem_responses(schema["paths"][path]["post"])
    assert set(_listed_codes(problems["422"])) == REFUSALS[path]


def test_the_reversal_documents_permission_denied(schema):
    problems = _problem_responses(schema["paths"]["/api/v1/transactions/{id}/reverse/"]["post"])
    assert "403" in problems
    for code in ("already_reversed", "reversal_not_allowed"):
        assert code in problems["422"]["description"]


# --- Swagger UI ----------------------------------------------------------------------------


def test_the_docs_load_swagger_ui_from_local_static_files(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for cdn in ("unpkg", "jsdelivr", "cdnjs", "googleapis", "cloudflare"):
        assert cdn not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    scripts = [asset for asset in assets if asset.endswith(".js")]
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in scripts), assets
    assert any(asset.endswith(".css") for asset in assets), assets
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file of the project"
    assert '"/api/schema/"' in html


def test_every_operation_documents_what_the_server_refuses_before_the_api_runs(schema):
    undocumented = [
        f"{method.upper()} {path}: {status}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for status in ("414", "431")
        if status not in operation["responses"]
    ]
    assert undocumented == []

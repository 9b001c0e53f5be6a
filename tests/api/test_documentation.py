"""The API explains itself: every operation's summary, description, tag and error codes; the token
scheme; and a page for every problem code that says what happened and what to do.
"""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from api.problem_codes import EXPLANATIONS
from api.problems import TITLES
from ledger.errors import ALL_ERRORS
from tests.api.helpers import assert_json, assert_problem

TAGS = ["Accounts", "Deposits", "Withdrawals", "Transfers", "Transactions", "Batches", "Holds", "Events", "Webhooks"]
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
_LINK = re.compile(r"\[`([a-z_]+)`\]\(/api/v1/problems/([a-z_]+)/\)")


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


SCHEMA = _schema()
OPERATIONS = sorted(
    (path, method, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
    if method in HTTP_METHODS
)
IDS = [f"{method.upper()} {path}" for path, method, _ in OPERATIONS]


# The codes of the contract's error table (docs: the API contract, "Errors").
CONTRACT_CODES = {
    "validation_error",
    "parse_error",
    "invalid_page_size",
    "invalid_cursor",
    "idempotency_key_required",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "unsupported_media_type",
    "insufficient_funds",
    "currency_mismatch",
    "account_inactive",
    "same_account",
    "already_reversed",
    "reversal_not_allowed",
    "idempotency_key_reused",
    "limit_exceeded",
    "hold_not_pending",
    "capture_exceeds_hold",
    "throttled",
    "unavailable",
}
# Answered though the contract's table omits them: a body over the size limit (413), and what
# gunicorn refuses before the API runs (414, 431).
OUTSIDE_THE_TABLE = {"payload_too_large", "uri_too_long", "request_header_fields_too_large"}


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_operation_has_a_summary_a_description_and_one_resource_tag(path, method, operation):
    assert operation.get("summary"), (method, path)
    assert len(operation["summary"]) < 80
    assert operation.get("description"), (method, path)
    assert "service function" not in operation["description"]  # Written for users, not developers.
    assert "Authorization: Token <key>" in operation["description"] or "Only" in operation["description"]
    assert len(operation["tags"]) == 1, operation["tags"]
    assert operation["tags"][0] in TAGS, operation["tags"]


def test_every_tag_is_described_and_used():
    described = {tag["name"]: tag.get("description") for tag in SCHEMA["tags"]}
    assert list(described) == TAGS
    assert all(described.values())
    used = {operation["tags"][0] for _, _, operation in OPERATIONS}
    assert used == set(TAGS)


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=IDS)
def test_every_error_response_lists_its_codes_each_with_a_page_and_its_explanation(path, method, operation):
    known = set(EXPLANATIONS)
    errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
    assert errors
    for status, response in errors.items():
        links = _LINK.findall(response["description"])
        assert links, (status, response["description"])
        for code, page in links:
            assert code == page
            assert code in known, code
            assert EXPLANATIONS[code] in response["description"]  # The page's text, not another.
            error = next((e for e in ALL_ERRORS if e.code == code), None)
            if error is not None:
                assert str(error.status) == status, (code, status)


def test_the_listed_codes_are_contract_codes_or_documented_refusals():
    listed = {
        code
        for _, _, op in OPERATIONS
        for r in op["responses"].values()
        for code, _ in _LINK.findall(r.get("description", ""))
    }
    assert listed <= CONTRACT_CODES | OUTSIDE_THE_TABLE, sorted(listed - CONTRACT_CODES - OUTSIDE_THE_TABLE)
    assert {"insufficient_funds", "currency_mismatch", "same_account", "hold_not_pending"} <= listed


def test_a_withdrawal_and_a_transfer_list_their_refusals():
    def refusals(path):
        return {code for code, _ in _LINK.findall(SCHEMA["paths"][path]["post"]["responses"]["422"]["description"])}

    withdrawal = refusals("/api/v1/withdrawals/")
    assert withdrawal == {"insufficient_funds", "account_inactive", "limit_exceeded", "idempotency_key_reused"}
    assert refusals("/api/v1/transfers/") == withdrawal | {"currency_mismatch", "same_account"}
    assert "insufficient_funds" not in refusals("/api/v1/deposits/")
    assert "403" not in SCHEMA["paths"]["/api/v1/deposits/"]["post"]["responses"]
    assert "403" in SCHEMA["paths"]["/api/v1/transactions/{id}/reverse/"]["post"]["responses"]


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [o for o in OPERATIONS if o[1] == "post"],
    ids=[i for i, o in zip(IDS, OPERATIONS, strict=True) if o[1] == "post"],
)
def test_every_write_has_request_and_answer_examples(path, method, operation):
    body = operation.get("requestBody", {"content": {"": {}}})  # Rotating a secret takes no body.
    request_examples = next(iter(body["content"].values())).get("examples", {})
    assert request_examples or path.endswith("/rotate-secret/"), path
    for example in request_examples.values():
        for name, value in example["value"].items():
            if name == "amount":
                assert re.fullmatch(r"[0-9]+\.[0-9]{2}", value)  # USD: a string with 2 digits.
    success = next(r for status, r in operation["responses"].items() if status.startswith("2"))
    if "content" in success and not path.startswith("/api/v1/webhook-endpoints/"):
        assert next(iter(success["content"].values())).get("examples"), path


def test_error_responses_carry_an_example_problem_document():
    response = SCHEMA["paths"]["/api/v1/withdrawals/"]["post"]["responses"]["422"]
    example = next(iter(response["content"]["application/problem+json"]["examples"].values()))["value"]
    assert example["code"] == "insufficient_funds"
    assert example["type"].endswith("/api/v1/problems/insufficient_funds/")
    assert example["status"] == 422
    bad = SCHEMA["paths"]["/api/v1/deposits/"]["post"]["responses"]["400"]
    example = next(iter(bad["content"]["application/problem+json"]["examples"].values()))["value"]
    assert example["code"] == "validation_error"
    assert example["errors"]


def test_the_token_scheme_says_what_to_paste_into_authorize():
    scheme = SCHEMA["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "apiKey"
    assert scheme["in"] == "header"
    assert scheme["name"] == "Authorization"
    assert "Token " in scheme["description"]
    assert "python manage.py create_api_client NAME" in scheme["description"]
    assert all({"tokenAuth": []} in op.get("security", []) for _, _, op in OPERATIONS)


def test_a_pasted_token_with_its_prefix_authenticates_and_a_bare_key_does_not(user):
    from rest_framework.authtoken.models import Token

    key = Token.objects.get_or_create(user=user)[0].key
    assert_json(APIClient().get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Token {key}"), 200)
    assert_problem(APIClient().get("/api/v1/accounts/", HTTP_AUTHORIZATION=key), 401, "not_authenticated")


def test_the_transaction_list_filters_are_documented():
    parameters = {p["name"]: p for p in SCHEMA["paths"]["/api/v1/transactions/"]["get"]["parameters"]}
    for name in ("kind", "status", "account_id", "created_after", "created_before", "reference"):
        assert parameters[name]["in"] == "query"
        assert parameters[name].get("description"), name
    assert parameters["account_id"]["schema"]["format"] == "uuid"
    assert parameters["created_after"]["schema"]["format"] == "date-time"
    deposits = {p["name"] for p in SCHEMA["paths"]["/api/v1/deposits/"]["get"]["parameters"]}
    assert "kind" not in deposits
    assert {"status", "account_id", "reference"} <= deposits


# --- problem pages -----------------------------------------------------------------------------


def test_every_code_has_an_explanation():
    assert set(EXPLANATIONS) == set(TITLES)
    assert {error.code for error in ALL_ERRORS} <= set(EXPLANATIONS)
    assert set(EXPLANATIONS) >= CONTRACT_CODES | OUTSIDE_THE_TABLE


@pytest.mark.parametrize("code", sorted(TITLES))
def test_every_codes_page_explains_it(db, code):
    page = assert_json(APIClient().get(f"/api/v1/problems/{code}/"), 200)
    assert page["code"] == code
    assert page["type"].endswith(f"/api/v1/problems/{code}/")
    assert page["title"] == TITLES[code]
    assert page["explanation"] == EXPLANATIONS[code]
    assert 20 < len(page["explanation"]) < 400
    assert page["explanation"].count(". ") <= 3  # A sentence or two (or three short ones).


@pytest.mark.parametrize("code", ["no_such_code", "ledger_error", "Insufficient_Funds"])
def test_an_unknown_codes_page_is_the_404_problem(db, code):
    assert_problem(APIClient().get(f"/api/v1/problems/{code}/"), 404, "not_found")


def test_the_validation_error_page_says_unknown_parameters_are_refused(db):
    assert "unknown" in assert_json(APIClient().get("/api/v1/problems/validation_error/"), 200)["explanation"]

"""Errors: problem documents, authentication, methods, media types, hostile input, throttling, request ids."""

import re
import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Account
from tests.api.helpers import (
    assert_json,
    assert_problem,
    body_of,
    deposit,
    deposited,
    ledger_snapshot,
    lenient,
    new_key,
    post_raw,
    reverse,
)
from tests.factories import AccountFactory

_GENERATED_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@pytest.fixture
def hostile(api) -> APIClient:
    """``api`` answering unhandled errors with a 500 response rather than raising in the test."""
    return lenient(api)


def _deposit_body(account, **fields) -> str:
    """A deposit body as JSON text, with ``fields`` spliced in as raw JSON text."""
    members = {"account_id": f'"{account.public_id}"', "amount": '"1.00"', **fields}
    return "{" + ", ".join(f'"{name}": {value}' for name, value in members.items()) + "}"


# --- Validation errors -------------------------------------------------------------------------


def test_a_validation_error_names_every_invalid_field(api, account):
    response = api.post(
        "/api/v1/transfers/",
        {"source_account_id": "nope", "amount": "x", "description": "d" * 501, "metadata": []},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    problem = assert_problem(
        response,
        400,
        "validation_error",
        fields=("source_account_id", "destination_account_id", "amount", "description", "metadata"),
    )
    assert set(problem["errors"]) == {
        "source_account_id",
        "destination_account_id",
        "amount",
        "description",
        "metadata",
    }


# --- parse_error -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"currency": }',
        b'{"currency": "USD"} trailing',
        b'{"currency": "USD",}',
        b"{'currency': 'USD'}",
        b'{"currency": "\xff\xfe"}',
        b'\xef\xbb\xbf{"currency": "USD"}',
        b'{"currency": "USD"',
        b"\x00\x00\x00",
    ],
    ids=[
        "garbage",
        "missing-value",
        "trailing",
        "trailing-comma",
        "single-quotes",
        "bad-utf8",
        "bom",
        "truncated",
        "nul",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/deposits/"])
def test_a_body_that_is_not_json_is_a_parse_error(hostile, account, path, raw):
    accounts, before = Account.objects.count(), ledger_snapshot()
    response = hostile.post(path, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert_problem(response, 400, "parse_error")
    assert Account.objects.count() == accounts
    assert ledger_snapshot() == before


@pytest.mark.parametrize("raw", ["[]", '"USD"', "1", "null", "true"])
@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/deposits/"])
def test_json_that_is_not_an_object_is_a_validation_error(hostile, account, path, raw):
    before = ledger_snapshot()
    assert_problem(post_raw(hostile, path, raw), 400, "validation_error")
    assert ledger_snapshot() == before


# --- Authentication ----------------------------------------------------------------------------

_PROTECTED = [
    ("get", "/api/v1/accounts/"),
    ("post", "/api/v1/accounts/"),
    ("get", "/api/v1/accounts/{account}/"),
    ("get", "/api/v1/accounts/{account}/balance/"),
    ("get", "/api/v1/accounts/{account}/history/"),
    ("post", "/api/v1/deposits/"),
    ("get", "/api/v1/deposits/"),
    ("post", "/api/v1/withdrawals/"),
    ("post", "/api/v1/transfers/"),
    ("get", "/api/v1/transactions/"),
    ("get", "/api/v1/transactions/{txn}/"),
    ("post", "/api/v1/transactions/{txn}/reverse/"),
]


def _call(client, method, template, account, txn_id):
    path = template.format(account=account.public_id, txn=txn_id)
    if method == "get":
        return client.get(path)
    body = {"currency": "USD"} if path.endswith("/accounts/") else {"account_id": str(account.public_id), "amount": "1"}
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())


@pytest.mark.parametrize(("method", "template"), _PROTECTED)
def test_no_token_is_not_authenticated(api, account, method, template):
    txn = deposited(api, account.public_id, "5.00")
    before = ledger_snapshot()
    response = _call(APIClient(), method, template, account, txn["id"])
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "authorization",
    ["Token wrong", "Token 0000000000000000000000000000000000000000", "Token ", "Token a b", "token wrong"],
)
@pytest.mark.parametrize(("method", "template"), _PROTECTED)
def test_a_wrong_token_is_authentication_failed(api, account, method, template, authorization):
    txn = deposited(api, account.public_id, "5.00")
    before = ledger_snapshot()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    response = _call(client, method, template, account, txn["id"])
    assert_problem(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Token")
    assert ledger_snapshot() == before


def test_another_scheme_is_not_authenticated(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.auth_token.key}")
    assert_problem(client.get("/api/v1/accounts/"), 401, "not_authenticated")


def test_the_token_of_a_deactivated_client_is_authentication_failed(api, user):
    user.is_active = False
    user.save()
    assert_problem(api.get("/api/v1/accounts/"), 401, "authentication_failed")


def test_permission_denied_for_a_reversal_by_a_client(api, account):
    txn = deposited(api, account.public_id, "5.00")
    assert_problem(reverse(api, txn["id"]), 403, "permission_denied")


# --- not_found ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/v1/nope",
        "/api/v2/accounts/",
        "/api/",
        "/api/v1/",
        "/api/v1/accounts/x/y/z/",
        "/api/v1/transactions/{u}/reverse/extra/",
        "/api/v1/problems/no_such_code/",
    ],
)
@pytest.mark.parametrize("authenticated", [True, False])
def test_an_unknown_api_path_is_a_not_found_problem(api, path, authenticated):
    client = api if authenticated else APIClient()
    assert_problem(client.get(path.format(u=uuid.uuid4())), 404, "not_found")


# --- method_not_allowed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("delete", "/api/v1/accounts/{account}/"),
        ("put", "/api/v1/accounts/{account}/"),
        ("patch", "/api/v1/accounts/{account}/"),
        ("delete", "/api/v1/accounts/"),
        ("post", "/api/v1/accounts/{account}/balance/"),
        ("delete", "/api/v1/accounts/{account}/history/"),
        ("put", "/api/v1/deposits/{txn}/"),
        ("patch", "/api/v1/deposits/{txn}/"),
        ("delete", "/api/v1/deposits/{txn}/"),
        ("put", "/api/v1/withdrawals/{txn}/"),
        ("delete", "/api/v1/transfers/{txn}/"),
        ("post", "/api/v1/transactions/"),
        ("delete", "/api/v1/transactions/{txn}/"),
        ("get", "/api/v1/transactions/{txn}/reverse/"),
        ("delete", "/api/v1/transactions/{txn}/reverse/"),
    ],
)
def test_an_unsupported_method_is_method_not_allowed(staff_api, account, method, template):
    txn = deposited(staff_api, account.public_id, "5.00")
    before = ledger_snapshot()
    path = template.format(account=account.public_id, txn=txn["id"])
    response = getattr(staff_api, method)(path, {}, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    problem = assert_problem(response, 405, "method_not_allowed")
    assert method.upper() in problem["detail"]
    assert response.has_header("Allow")
    assert method.upper() not in response["Allow"]
    assert ledger_snapshot() == before
    assert Account.objects.filter(pk=account.pk).exists()


# --- unsupported_media_type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", "currency=USD"),
        ("application/x-www-form-urlencoded", "currency=USD&account_id=x&amount=1"),
        ("application/xml", "<currency>USD</currency>"),
        ("text/json", '{"currency": "USD"}'),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/deposits/", "/api/v1/transfers/"])
def test_a_body_that_is_not_json_media_is_unsupported_media_type(api, account, path, content_type, raw):
    accounts, before = Account.objects.count(), ledger_snapshot()
    response = api.post(path, raw, content_type=content_type, HTTP_IDEMPOTENCY_KEY=new_key())
    assert_problem(response, 415, "unsupported_media_type")
    assert Account.objects.count() == accounts
    assert ledger_snapshot() == before


@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/deposits/"])
def test_multipart_form_data_is_unsupported_media_type(api, account, path):
    accounts, before = Account.objects.count(), ledger_snapshot()
    body = {"currency": "USD", "account_id": str(account.public_id), "amount": "1.00"}
    response = api.post(path, body, format="multipart", HTTP_IDEMPOTENCY_KEY=new_key())
    assert_problem(response, 415, "unsupported_media_type")
    assert Account.objects.count() == accounts
    assert ledger_snapshot() == before


# --- Accept headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/xml", "image/png", "*/*", "application/json", "text/html;q=0.9, application/xml", "x"],
)
def test_odd_accept_headers_still_get_json(api, account, accept):
    ok = api.get(f"/api/v1/accounts/{account.public_id}/", HTTP_ACCEPT=accept)
    assert assert_json(ok, 200)["id"] == str(account.public_id)
    created = api.post("/api/v1/accounts/", {"currency": "USD"}, format="json", HTTP_ACCEPT=accept)
    assert_json(created, 201)
    assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/", HTTP_ACCEPT=accept), 404, "not_found")
    assert_problem(deposit(api, account.public_id, "1.005", HTTP_ACCEPT=accept), 400, "validation_error")


# --- Hostile input -----------------------------------------------------------------------------


def test_json_nested_ten_thousand_levels_deep_is_a_parse_error(hostile, account):
    before = ledger_snapshot()
    assert_problem(post_raw(hostile, "/api/v1/deposits/", "[" * 10_000 + "]" * 10_000), 400, "parse_error")
    deep_metadata = '{"a": ' * 10_000 + "1" + "}" * 10_000
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=deep_metadata))
    assert_problem(response, 400, "parse_error")
    response = hostile.post(
        "/api/v1/accounts/", '{"currency": "USD", "metadata": ' + deep_metadata + "}", content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")
    assert ledger_snapshot() == before


def test_moderately_deep_metadata_is_refused(hostile, account):
    before = ledger_snapshot()
    nine_levels = '{"a": ' * 9 + "1" + "}" * 9
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=nine_levels))
    assert_problem(response, 400, "validation_error", fields=("metadata",))
    forty_levels = '{"a": ' * 40 + "1" + "}" * 40
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=forty_levels))
    assert_problem(response, 400, "parse_error")
    assert ledger_snapshot() == before


def _oversized_body(account) -> str:
    body = _deposit_body(account, description='"' + "x" * (300 * 1024) + '"')
    assert len(body.encode()) > 256 * 1024
    return body


def test_a_body_over_256_kib_is_refused_cleanly(hostile, account):
    before = ledger_snapshot()
    response = post_raw(hostile, "/api/v1/deposits/", _oversized_body(account))
    assert (response.status_code, body_of(response)["code"]) in {(400, "parse_error"), (413, "payload_too_large")}
    assert_problem(response, response.status_code, body_of(response)["code"])
    assert ledger_snapshot() == before


@pytest.mark.parametrize("path", ["/api/v1/deposits/", "/api/v1/accounts/"])
def test_a_body_over_256_kib_is_payload_too_large(hostile, account, path):
    response = post_raw(hostile, path, _oversized_body(account))
    assert_problem(response, 413, "payload_too_large")


def test_a_body_just_under_the_limit_is_parsed(hostile, account):
    """200 KiB of JSON is read and validated (here: the description is too long)."""
    body = _deposit_body(account, description='"' + "x" * (200 * 1024) + '"')
    assert_problem(post_raw(hostile, "/api/v1/deposits/", body), 400, "validation_error", fields=("description",))


def test_metadata_over_8_kib_is_a_validation_error(hostile, account):
    metadata = '{"blob": "' + "m" * 9000 + '"}'
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=metadata))
    assert_problem(response, 400, "validation_error", fields=("metadata",))


def test_an_integer_amount_of_5000_digits_is_refused(hostile, account):
    """The app's parser refuses integers beyond Python's 4300-digit conversion limit as a parse_error."""
    before = ledger_snapshot()
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, amount="9" * 5000))
    assert_problem(response, 400, "parse_error")
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "amount",
    [
        "9" * 4999 + ".5",
        "0." + "1" * 5000,
        "1." + "0" * 4999 + "1",
        "0." + "1" * 4400,
        "1" + "0" * 150_000 + "e-150000",  # exactly 1, once 150,000 trailing zeros are stripped
    ],
)
def test_a_json_number_of_thousands_of_digits_is_refused_by_the_parser(hostile, account, amount):
    """A number longer than the parser's bound is a parse_error, before any field (or lock) sees it."""
    before = ledger_snapshot()
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, amount=amount))
    problem = assert_problem(response, 400, "parse_error")
    assert "numbers have at most 100 characters" in problem["detail"]
    assert ledger_snapshot() == before


@pytest.mark.parametrize("amount", ['"0.' + "1" * 19 + '"', "0." + "1" * 19, "1" + "0" * 30 + "e-30"])
def test_an_amount_with_more_than_18_decimal_places_is_a_validation_error(hostile, account, amount):
    before = ledger_snapshot()
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, amount=amount))
    assert_problem(response, 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


@pytest.mark.parametrize("where", ["amount", "metadata", "account-metadata"])
def test_a_number_with_an_enormous_exponent_is_refused(hostile, account, where):
    before = ledger_snapshot()
    number = "1e99999999999999999999"
    if where == "amount":
        response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, amount=number))
    elif where == "metadata":
        response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=f'{{"n": {number}}}'))
    else:
        raw = f'{{"currency": "USD", "metadata": {{"n": {number}}}}}'
        response = hostile.post("/api/v1/accounts/", raw, content_type="application/json")
    assert response.status_code == 400, response.status_code
    assert body_of(response)["code"] in {"parse_error", "validation_error"}
    assert_problem(response, 400, body_of(response)["code"])
    assert ledger_snapshot() == before


@pytest.mark.parametrize("number", ["1e-999999999999999999", "1e999999999999999999"])
def test_an_amount_with_a_large_but_representable_exponent_is_a_validation_error(hostile, account, number):
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, amount=number))
    assert_problem(response, 400, "validation_error", fields=("amount",))


@pytest.mark.parametrize(
    "metadata",
    ['{"a": 1, "a": 2}', '{"a": 1, "a": 1}', '{"outer": {"k": 1, "k": 1}}', '{"l": [{"k": 1, "k": 2}]}'],
    ids=["different-values", "same-values", "nested", "in-a-list"],
)
def test_duplicate_keys_in_metadata_are_a_parse_error(hostile, account, metadata):
    before = ledger_snapshot()
    assert_problem(
        post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=metadata)), 400, "parse_error"
    )
    assert ledger_snapshot() == before


def test_a_duplicate_amount_key_is_a_parse_error(hostile, account):
    """``{"amount": "1", "amount": "2"}``: no guessing which one was meant."""
    before = ledger_snapshot()
    raw = f'{{"account_id": "{account.public_id}", "amount": "1", "amount": "2"}}'.encode()
    assert_problem(post_raw(hostile, "/api/v1/deposits/", raw), 400, "parse_error")
    raw = f'{{"account_id": "{account.public_id}", "amount": "1", "account_id": "{account.public_id}"}}'.encode()
    assert_problem(post_raw(hostile, "/api/v1/deposits/", raw), 400, "parse_error")
    assert_problem(
        hostile.post("/api/v1/accounts/", b'{"currency": "USD", "currency": "EUR"}', content_type="application/json"),
        400,
        "parse_error",
    )
    assert ledger_snapshot() == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["amount", "metadata"])
def test_nan_and_infinity_literals_are_a_parse_error(hostile, account, literal, where):
    before = ledger_snapshot()
    fields = {"amount": literal} if where == "amount" else {"metadata": f'{{"x": {literal}}}'}
    assert_problem(post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, **fields)), 400, "parse_error")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("bad", ["\\ud800", "\\udfff", "x\\ud83dy", "\\u0000", "a\\u0000b"])
@pytest.mark.parametrize(
    ("field", "template"),
    [
        ("description", '"{bad}"'),
        ("reference", '"{bad}"'),
        ("metadata", '{{"k": "{bad}"}}'),
        ("metadata", '{{"{bad}": "v"}}'),
        ("metadata", '{{"k": ["ok", {{"deep": "{bad}"}}]}}'),
    ],
    ids=["description", "reference", "metadata-value", "metadata-key", "metadata-nested"],
)
def test_lone_surrogates_and_nul_characters_are_validation_errors(hostile, account, field, template, bad):
    before = ledger_snapshot()
    body = _deposit_body(account, **{field: template.format(bad=bad)})
    assert_problem(post_raw(hostile, "/api/v1/deposits/", body), 400, "validation_error", fields=(field,))
    assert ledger_snapshot() == before


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000"])
@pytest.mark.parametrize(("field", "template"), [("name", '"{bad}"'), ("metadata", '{{"k": "{bad}"}}')])
def test_an_account_refuses_lone_surrogates_and_nul_characters(hostile, field, template, bad):
    before = Account.objects.count()
    raw = '{"currency": "USD", "' + field + '": ' + template.format(bad=bad) + "}"
    response = hostile.post("/api/v1/accounts/", raw, content_type="application/json")
    assert_problem(response, 400, "validation_error", fields=(field,))
    assert Account.objects.count() == before


def test_a_reversal_reason_with_a_nul_is_a_validation_error(staff_api, api, account):
    txn = deposited(api, account.public_id, "1.00")
    before = ledger_snapshot()
    response = post_raw(lenient(staff_api), f"/api/v1/transactions/{txn['id']}/reverse/", '{"reason": "a\\u0000"}')
    assert_problem(response, 400, "validation_error", fields=("reason",))
    assert ledger_snapshot() == before


def test_a_surrogate_pair_is_valid_text(api, account):
    """An escaped surrogate *pair* is one valid character (U+1F600) and is kept as such."""
    response = post_raw(api, "/api/v1/deposits/", _deposit_body(account, description='"smile \\ud83d\\ude00"'))
    assert assert_json(response, 201)["description"] == "smile \U0001f600"


@pytest.mark.parametrize("metadata", ["[]", '"text"', "1", "true", "null", '["a", "b"]'])
def test_metadata_that_is_not_an_object_is_a_validation_error(hostile, account, metadata):
    before = ledger_snapshot()
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, metadata=metadata))
    assert_problem(response, 400, "validation_error", fields=("metadata",))
    assert ledger_snapshot() == before


@pytest.mark.parametrize("account_id", ['"\\u0000"', '"' + "f" * 10_000 + '"', "12.5", "[]", "null"])
def test_a_hostile_account_id_is_a_validation_error(hostile, account, account_id):
    before = ledger_snapshot()
    response = post_raw(hostile, "/api/v1/deposits/", _deposit_body(account, account_id=account_id))
    assert_problem(response, 400, "validation_error", fields=("account_id",))
    assert ledger_snapshot() == before


def test_hostile_query_strings_are_clean_4xx(hostile, account):
    path = f"/api/v1/accounts/{account.public_id}"
    assert_problem(hostile.get(f"{path}/balance/", {"at": "9" * 10_000}), 400, "validation_error", fields=("at",))
    assert_problem(hostile.get(f"{path}/balance/", {"at": "\x00"}), 400, "validation_error", fields=("at",))
    assert_problem(hostile.get(f"{path}/history/", {"kind": "\x00"}), 400, "validation_error", fields=("kind",))
    assert_problem(hostile.get(f"{path}/history/", {"cursor": "\x00"}), 400, "invalid_cursor")
    assert_problem(hostile.get(f"{path}/history/", {"page_size": "\x00"}), 400, "invalid_page_size")
    assert_problem(hostile.get(f"/api/v1/accounts/{'a' * 5000}/"), 404, "not_found")


# --- Throttling --------------------------------------------------------------------------------


@override_settings(LEDGER_THROTTLE_RATE="3/min")
def test_a_client_over_its_rate_is_throttled_with_retry_after(api, other_api, account):
    for _ in range(3):
        assert_json(api.get("/api/v1/accounts/"), 200)
    response = api.get("/api/v1/accounts/")
    assert_problem(response, 429, "throttled")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    # Writes are throttled too, and a throttled write posts nothing.
    before = ledger_snapshot()
    assert_problem(deposit(api, account.public_id, "1.00"), 429, "throttled")
    assert ledger_snapshot() == before
    # The limit is per client.
    assert_json(other_api.get("/api/v1/accounts/"), 200)


@override_settings(LEDGER_THROTTLE_RATE="3/min")
def test_a_throttled_client_keeps_its_request_id(api):
    for _ in range(3):
        api.get("/api/v1/accounts/")
    response = api.get("/api/v1/accounts/", HTTP_X_REQUEST_ID="throttled-1")
    problem = assert_problem(response, 429, "throttled")
    assert problem["request_id"] == "throttled-1"


# --- Request ids -------------------------------------------------------------------------------


def _responses_of_every_kind(api, staff_api, account, other_user):
    """One response of each kind the API gives: successes, replays and every problem status."""
    txn = deposited(api, account.public_id, "5.00")
    theirs = AccountFactory(owner=other_user)
    key = new_key()
    deposit(api, account.public_id, "1.00", key=key)
    anonymous = APIClient()
    return {
        "200": lambda **h: api.get("/api/v1/accounts/", **h),
        "201-account": lambda **h: api.post("/api/v1/accounts/", {"currency": "USD"}, format="json", **h),
        "201-deposit": lambda **h: deposit(api, account.public_id, "1.00", **h),
        "201-replay": lambda **h: deposit(api, account.public_id, "1.00", key=key, **h),
        "400": lambda **h: deposit(api, account.public_id, "abc", **h),
        "401": lambda **h: anonymous.get("/api/v1/accounts/", **h),
        "403": lambda **h: reverse(api, txn["id"], **h),
        "404-object": lambda **h: api.get(f"/api/v1/accounts/{theirs.public_id}/", **h),
        "404-path": lambda **h: anonymous.get("/api/v1/no-such-thing/", **h),
        "405": lambda **h: api.delete(f"/api/v1/accounts/{account.public_id}/", **h),
        "415": lambda **h: api.post("/api/v1/accounts/", "x", content_type="text/plain", **h),
        "422": lambda **h: post_raw(api, "/api/v1/withdrawals/", _deposit_body(account, amount='"999"'), **h),
        "schema": lambda **h: anonymous.get("/api/schema/?format=json", **h),
        "docs": lambda **h: anonymous.get("/api/docs/", **h),
    }


_KINDS = ["200", "201-account", "201-deposit", "201-replay", "400", "401", "403", "404-object", "404-path"]
_KINDS += ["405", "415", "422", "schema", "docs"]


@pytest.mark.parametrize("kind", _KINDS)
def test_every_response_carries_a_request_id(api, staff_api, account, other_user, kind):
    call = _responses_of_every_kind(api, staff_api, account, other_user)[kind]
    first, second = call(), call()
    assert first.has_header("X-Request-ID")
    assert _GENERATED_ID.match(first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
    if first["Content-Type"].startswith("application/problem+json"):
        assert body_of(first)["request_id"] == first["X-Request-ID"]


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("request_id", ["abc-123", "req_01H.x:7", "r" * 128])
def test_a_plain_caller_request_id_is_echoed(api, staff_api, account, other_user, kind, request_id):
    response = _responses_of_every_kind(api, staff_api, account, other_user)[kind](HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] == request_id
    if response["Content-Type"].startswith("application/problem+json"):
        assert body_of(response)["request_id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    [
        "r" * 129,
        "x" * 10_000,
        "has space",
        "<script>alert(1)</script>",
        "a/b",
        "caf\u00e9",
        "a\tb",
        "",
        "a,b",
        "id;drop",
    ],
)
@pytest.mark.parametrize("kind", ["200", "400", "404-path"])
def test_an_oversized_or_odd_request_id_is_replaced(api, staff_api, account, other_user, kind, request_id):
    response = _responses_of_every_kind(api, staff_api, account, other_user)[kind](HTTP_X_REQUEST_ID=request_id)
    echoed = response["X-Request-ID"]
    assert echoed != request_id
    assert _GENERATED_ID.match(echoed)
    if response["Content-Type"].startswith("application/problem+json"):
        assert body_of(response)["request_id"] == echoed


# --- Problem types -----------------------------------------------------------------------------


def test_problem_types_resolve(api, account):
    problems = [
        assert_problem(api.get(f"/api/v1/accounts/{uuid.uuid4()}/"), 404, "not_found"),
        assert_problem(deposit(api, account.public_id, "x"), 400, "validation_error"),
        assert_problem(post_raw(api, "/api/v1/withdrawals/", _deposit_body(account)), 422, "insufficient_funds"),
        assert_problem(APIClient().get("/api/v1/accounts/"), 401, "not_authenticated"),
    ]
    for problem in problems:
        described = assert_json(APIClient().get(problem["type"]), 200)
        assert described["code"] == problem["code"]
        assert described["title"] == problem["title"]


# --- Caching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", _KINDS)
def test_every_api_answer_is_marked_no_store(api, staff_api, account, other_user, kind):
    """Balances, transactions and problem documents are never kept by a browser or a shared cache."""
    response = _responses_of_every_kind(api, staff_api, account, other_user)[kind]()
    assert response["Cache-Control"] == "no-store", (kind, response.get("Cache-Control"))


# --- Host --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "",
        "a" * 300,
        "[::2]",
        "[fe80::1]:8000",
        "localhost:abc",
        "127.0.0.1:8000:8000",
        "exa mple",
        "\u00fc.com",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/deposits/", "/api/v1/no-such-thing/", "/api/schema/"])
def test_a_host_the_service_does_not_answer_for_is_a_400_problem(api, host, path):
    response = api.get(path, HTTP_HOST=host, HTTP_X_REQUEST_ID="bad-host-1")
    problem = assert_problem(response, 400, "validation_error", fields=("Host",))
    assert problem["type"] == "/api/v1/problems/validation_error/"  # relative: the Host names nothing
    assert problem["request_id"] == "bad-host-1"
    assert response["Cache-Control"] == "no-store"


def test_an_allowed_ipv6_host_is_answered(api):
    assert_json(api.get("/api/v1/accounts/", HTTP_HOST="[::1]"), 200)

"""Every input is parsed whole, exactly and with bounded work, before anything is locked.

Property-based (hypothesis): amounts, JSON numbers, instants, idempotency keys, page sizes and
request ids, each over arbitrary text. The class of defect these close: a pattern anchored with
``$`` (which accepts a trailing newline), a normalisation whose cost grows with what a number's
text claims, an amount silently rounded or stripped of digits it was written with.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from api.parsers import MAX_NUMBER_CHARS, StrictJSONParser
from ledger.errors import ValidationFailed
from ledger.instants import parse_day, parse_instant
from ledger.money import MAX_WRITTEN_PLACES, amount_from, to_minor

BOUNDED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What a client may send as an amount string: digits, a point, digits; nothing else.
PLAIN = re.compile(r"[0-9]{1,18}(\.[0-9]{1,18})?")


def _parse(raw: str):
    from io import BytesIO

    return StrictJSONParser().parse(BytesIO(raw.encode()), parser_context={})


# --- amounts -------------------------------------------------------------------------------


@BOUNDED
@given(st.text(max_size=60))
@example("10\n")
@example("10.00\n")
@example(" 10")
@example("\u0661\u0660")  # Arabic-Indic digits: int() takes them, the ledger does not
@example("1e3")
@example("+5")
def test_an_amount_string_is_accepted_only_when_it_is_plain_digits(text):
    if not PLAIN.fullmatch(text) or not 0 < Decimal(text) < 10**15:
        with pytest.raises(ValidationFailed) as refusal:
            amount_from(text)
        assert list(refusal.value.errors) == ["amount"]
        return
    assert amount_from(text) == Decimal(text)


@BOUNDED
@given(
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.builds(lambda digits, exponent: Decimal(f"{digits}E{exponent}"), st.integers(0, 10**40), st.integers(-60, 60))
)
@example(Decimal("1" + "0" * 150_000 + "E-150000"))  # exactly 1, written with 150,000 places
@example(Decimal("1.000"))
@example(Decimal("1E+15"))
def test_an_accepted_amount_is_exact_bounded_and_never_normalised(number):
    try:
        amount = amount_from(number)
    except ValidationFailed:
        return
    assert amount is number or amount == number  # the very value sent, never rounded
    places = -amount.as_tuple().exponent
    assert 0 < amount < 10**15
    assert places <= MAX_WRITTEN_PLACES
    assert len(amount.as_tuple().digits) <= 15 + MAX_WRITTEN_PLACES


@BOUNDED
@given(st.integers(0, 10**17 - 1), st.integers(0, 3), st.sampled_from(["USD", "JPY"]))
def test_a_currency_takes_exactly_the_places_it_has_as_written(units, places, currency):
    """USD ``"1.000"`` is three places, refused like ``"1.005"``; JPY ``"10.0"`` one. Never rounded."""
    digits = {"USD": 2, "JPY": 0}[currency]
    text = f"{units // 10**places}.{units % 10**places:0{places}d}" if places else str(units)
    try:
        amount = amount_from(text)
    except ValidationFailed:
        assert units == 0 or len(text.split(".")[0]) > 15 or Decimal(text) >= 10**15
        return
    if places > digits:
        with pytest.raises(ValidationFailed):
            to_minor(amount, currency)
    else:
        assert to_minor(amount, currency) == units * 10 ** (digits - places)


def test_the_attack_amount_is_refused_in_constant_time_by_exponent_alone():
    """The amount that took 13-40 s to normalise under a row lock: refused before any lock, on its exponent."""
    huge = Decimal("1" + "0" * 150_000 + "E-150000")
    assert huge == 1
    with pytest.raises(ValidationFailed):
        amount_from(huge)


# --- JSON numbers --------------------------------------------------------------------------


@BOUNDED
@given(st.integers(1, MAX_NUMBER_CHARS + 50), st.sampled_from(["int", "fraction", "exponent"]))
def test_a_json_number_longer_than_the_bound_is_a_parse_error(length, shape):
    token = {
        "int": "9" * length,
        "fraction": "0." + "1" * max(1, length - 2),
        "exponent": "1" * max(1, length - 6) + "e-9999",
    }[shape]
    if len(token) > MAX_NUMBER_CHARS:
        with pytest.raises(ParseError, match=f"numbers have at most {MAX_NUMBER_CHARS} characters"):
            _parse(f'{{"n": {token}}}')
    else:
        value = _parse(f'{{"n": {token}}}')["n"]
        assert value == (int(token) if shape == "int" else Decimal(token))


def test_a_body_of_many_short_numbers_parses_in_one_pass():
    """The bound is per number: a big body of ordinary numbers is fine (and linear)."""
    raw = json.dumps({"metadata": {"n": list(range(20_000))}})
    assert len(_parse(raw)["metadata"]["n"]) == 20_000


# --- instants -------------------------------------------------------------------------------


# Written here apart from the code under test: ISO 8601 as the ledger reads it, ASCII digits only.
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?", re.ASCII)


@BOUNDED
@given(st.text(max_size=40) | st.from_regex(ISO_INSTANT, fullmatch=True) | st.from_regex(ISO_DAY, fullmatch=True))
@example("2026-11-30T06:00:00Z\n")
@example("2026-11-30\n")
@example("\u0662\u0660\u0662\u0666-\u0661\u0661-\u0663\u0660")  # Arabic-Indic digits
@example("2026-11-30T06:00:00+99:00")
@example("9999-12-31T23:59:59-23:59")
def test_an_instant_is_iso_8601_with_ascii_digits_matched_whole(text):
    for parse, grammar in ((parse_instant, ISO_INSTANT), (parse_day, ISO_DAY)):
        try:
            parsed = parse(text)
        except (ValueError, OverflowError):
            continue
        assert grammar.fullmatch(text), text
        assert parsed.isoformat()[:10] == text[:10]


# --- headers and query parameters through the API ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\x00", "\t"])
def test_a_page_size_or_key_with_anything_after_it_is_refused(api, account, suffix):
    from tests.api.helpers import assert_problem, deposit

    assert_problem(api.get(f"/api/v1/accounts/?page_size=5{suffix}"), 400, "invalid_page_size")
    response = deposit(api, account.public_id, "1.00", key=f"key-1{suffix}")
    if suffix in (" ", "\t"):  # Printable, or stripped by HTTP itself: still a valid key.
        assert response.status_code in (201, 400)
    else:
        assert_problem(response, 400, "idempotency_key_required")


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["10\n", "10.00\n", "1.000", "10.250", " 10", "10 "])
def test_an_amount_written_otherwise_than_the_contract_says_posts_nothing(api, account, amount):
    from tests.api.helpers import assert_problem, deposit, ledger_snapshot

    before = ledger_snapshot()
    assert_problem(deposit(api, account.public_id, amount), 400, "validation_error", fields=("amount",))
    assert ledger_snapshot() == before


@pytest.mark.django_db
def test_a_caller_request_id_with_a_trailing_newline_is_replaced(api):
    response = api.get("/api/v1/accounts/", HTTP_X_REQUEST_ID="abc\n")
    assert "\n" not in response["X-Request-ID"]
    assert api.get("/api/v1/accounts/", HTTP_X_REQUEST_ID="abc")["X-Request-ID"] == "abc"

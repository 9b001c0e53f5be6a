"""Failed authentication is throttled per client address, for API tokens and admin passwords alike.

Once an address has failed ``LEDGER_AUTH_FAILURE_RATE`` times in a window, every attempt from
it is refused until the window ends, right token or wrong: 429 ``throttled`` with
``Retry-After`` from the API. Other addresses are not affected.
"""

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.api.helpers import assert_json, assert_problem
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _with_token(token: str, address: str = "198.51.100.7") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@override_settings(LEDGER_AUTH_FAILURE_RATE="3/min")
def test_an_address_that_keeps_failing_is_refused_even_with_a_good_token(user):
    for _ in range(3):
        assert_problem(_with_token("0" * 40).get("/api/v1/accounts/"), 401, "authentication_failed")
    response = _with_token("0" * 40).get("/api/v1/accounts/")
    assert_problem(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Cache-Control"] == "no-store"
    # Guessing right does not help the guesser's address until the window ends...
    assert_problem(_with_token(user.auth_token.key).get("/api/v1/accounts/"), 429, "throttled")
    # ...and another address is not affected, with its own good token.
    assert_json(_with_token(user.auth_token.key, address="203.0.113.9").get("/api/v1/accounts/"), 200)


@override_settings(LEDGER_AUTH_FAILURE_RATE="3/min")
def test_good_tokens_and_missing_ones_are_not_failures(user):
    for _ in range(10):
        assert_json(_with_token(user.auth_token.key).get("/api/v1/accounts/"), 200)
        assert_problem(APIClient(REMOTE_ADDR="198.51.100.7").get("/api/v1/accounts/"), 401, "not_authenticated")
    assert_problem(_with_token("0" * 40).get("/api/v1/accounts/"), 401, "authentication_failed")


@override_settings(LEDGER_AUTH_FAILURE_RATE="3/min", LEDGER_NUM_PROXIES=0)
def test_a_forged_forwarded_for_does_not_buy_more_guesses(user):
    for n in range(3):
        client = _with_token("0" * 40)
        assert_problem(
            client.get("/api/v1/accounts/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"), 401, "authentication_failed"
        )
    client = _with_token("0" * 40)
    assert_problem(client.get("/api/v1/accounts/", HTTP_X_FORWARDED_FOR="10.9.9.9"), 429, "throttled")


@override_settings(LEDGER_AUTH_FAILURE_RATE=None)
def test_the_throttle_can_be_switched_off(user):
    for _ in range(40):
        assert_problem(_with_token("0" * 40).get("/api/v1/accounts/"), 401, "authentication_failed")


@override_settings(LEDGER_AUTH_FAILURE_RATE="3/min")
def test_admin_password_guessing_is_throttled_by_the_same_rule():
    staff = StaffFactory(username="operator-1", is_superuser=True)
    staff.set_password("right-horse-battery")
    staff.save()
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(3):
        response = guesser.post("/admin/login/", {"username": "operator-1", "password": "wrong"})
        assert response.status_code == 200  # The form again, with its error.
    right = {"username": "operator-1", "password": "right-horse-battery"}
    response = guesser.post("/admin/login/?next=/admin/", right)
    assert response.status_code == 200, "a throttled address must not log in, even with the right password"
    assert "_auth_user_id" not in guesser.session
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    response = elsewhere.post(
        "/admin/login/?next=/admin/", {"username": "operator-1", "password": "right-horse-battery"}
    )
    assert response.status_code == 302

"""Hostile URLs on every admin page: the answer is 200, 302, 400 or 404, never a 500.

A NUL character anywhere in the URL answers 400 (PostgreSQL text cannot hold one). On a
change list, a parameter that no list can answer (a page past a ``bigint`` offset, a
date-hierarchy year whose next year overflows ``datetime``, an id that is no id, a choice no
filter offers, a lookup the ledger lists do not take) is Django's incorrect lookup: a
redirect to ``?e=1``. A visitor without the view permission of a list gets 403, as before.
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import pytest
from django.contrib import admin
from django.contrib.admin import FieldListFilter, SimpleListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.contenttypes.models import ContentType
from django.db import transaction as db_transaction
from django.test import RequestFactory
from django.urls import URLPattern, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from audit.services import audit_record_create
from console.tools import MAX_BIGINT, positive_int
from tests.console.helpers import AUDITORS, OPERATORS, admin_url, logged_in, make_user

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
LABELS = [model._meta.label for model, _ in REGISTERED]
ROLES = ["superuser", AUDITORS, OPERATORS]
ANSWERS = {200, 302, 400, 404}
REFUSED = {400, 403}  # Without the view permission: 403, or 400 for a NUL before any check.
SITE_PARAMETERS = ["p", "q", "o", "e", "all", "_changelist_filters", "_facets", "_popup", "_to_field"]
FIELD_LOOKUPS = ["", "__exact", "__in", "__gte", "__lt", "__range", "__isnull", "__year", "__month", "__day", "__regex"]
HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "\x01\x08\x1b\x7f",
    "99999999999999999999",
    str(MAX_BIGINT),
    str(MAX_BIGINT + 1),
    "-1",
    "-99999999999999999999",
    "0",
    "1",
    "12",
    "13",
    "31",
    "32",
    "9998",
    "9999",
    "10000",
    "²",
    "٣",
    "١٢",
    "",
    " 1",
    "+1",
    "1_000",
    "1e400",
    "1" * 5000,
    "x" * 3000,
    "[",
    "(",
    "\\",
    "%",
    "'",
    "1,99999999999999999999",
    "2024-02-30",
    "9999-12-31 23:59:59",
    "not-an-ip",
    "::1",
    "USD",
    "frozen",
]
# Raw bytes for a value or a name: percent-encoded, they are invalid UTF-8 in the URL.
INVALID_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"%", b"\x00\xff"]
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
values = st.one_of(
    st.sampled_from(HOSTILE_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    text,
    st.sampled_from(INVALID_UTF8),
    st.binary(max_size=6),
)


def encoded(part: str | bytes) -> str:
    return quote_from_bytes(part.encode() if isinstance(part, str) else part, safe="")


def query_strings(names: list[str]) -> st.SearchStrategy[str]:
    """Up to four ``name=value`` pairs: mostly the list's own names, with hostile values."""
    name = st.one_of(st.sampled_from(names), st.sampled_from(names), text, st.sampled_from(INVALID_UTF8))
    pairs = st.lists(st.tuples(name, values), min_size=1, max_size=4)
    return pairs.map(lambda items: "&".join(f"{encoded(key)}={encoded(value)}" for key, value in items))


def list_parameters(model_admin, request) -> list[str]:
    """Every parameter the list knows: its filters', the date hierarchy's, Django's, field lookups."""
    names = list(SITE_PARAMETERS)
    for item in model_admin.get_list_filter(request):
        if isinstance(item, type) and issubclass(item, SimpleListFilter):
            names.append(item.parameter_name)
            continue
        path, filter_class = item if isinstance(item, tuple | list) else (item, FieldListFilter.create)
        field = get_fields_from_path(model_admin.model, path)[-1]
        spec = filter_class(field, request, {}, model_admin.model, model_admin, field_path=path)
        names += spec.expected_parameters()
    if model_admin.date_hierarchy:
        names += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    for field in model_admin.model._meta.concrete_fields:
        names += [f"{field.name}{lookup}" for lookup in FIELD_LOOKUPS]
    return names


@pytest.fixture
def visitors(superuser, ledger_groups) -> dict[str, tuple[object, object]]:
    """Each role's user and its logged-in client."""
    users = {
        "superuser": superuser,
        AUDITORS: make_user("auditor", groups=[ledger_groups[AUDITORS]]),
        OPERATORS: make_user("operator", groups=[ledger_groups[OPERATORS]]),
    }
    return {role: (user, logged_in(user)) for role, user in users.items()}


@pytest.fixture
def every_kind_of_row(books, hold, reconciliation_run, superuser) -> None:
    """A row in every registered model, so that each list and its date hierarchy has dates."""
    Token.objects.get_or_create(user=superuser)
    with db_transaction.atomic():
        audit_record_create(action="freeze", target_type="account", target_id=books.alice.public_id, reason="x")


def may_view(user, model) -> bool:
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


def status_of(client, url: str) -> int:
    """The status of a GET; a 500 raises its exception here (the test client re-raises it)."""
    with db_transaction.atomic():  # A database error must not poison the following examples.
        return client.get(url).status_code


@pytest.mark.parametrize("label", LABELS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_query_string_breaks_a_change_list(label, data, visitors, every_kind_of_row):
    model, model_admin = next((m, a) for m, a in REGISTERED if m._meta.label == label)
    request = RequestFactory().get("/")
    request.user = visitors["superuser"][0]
    role = data.draw(st.sampled_from(ROLES), label="role")
    query = data.draw(query_strings(list_parameters(model_admin, request)), label="query")
    user, client = visitors[role]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") + "?" + query

    status = status_of(client, url)

    assert status in (ANSWERS if may_view(user, model) else REFUSED), (role, url, status)


def object_pages() -> list[tuple[str, str]]:
    """(model label, URL name) of every admin page about one object: change, history, delete
    and each admin's own pages (freeze, unfreeze, close, reverse, a user's password)."""
    found = []
    for model, model_admin in REGISTERED:
        for pattern in model_admin.get_urls():
            if isinstance(pattern, URLPattern) and pattern.name and len(pattern.pattern.converters) == 1:
                found.append((model._meta.label, pattern.name))
    return found


OBJECT_PAGES = object_pages()
OBJECT_IDS = st.one_of(st.sampled_from(["\x00", "0", "-1", "²", "٣", "99999999999999999999", "x" * 300]), text)


@pytest.mark.parametrize(("label", "url_name"), OBJECT_PAGES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_object_id_or_query_string_breaks_an_object_page(label, url_name, data, visitors, every_kind_of_row):
    model = next(m for m, _ in REGISTERED if m._meta.label == label)
    real_id = str(model._default_manager.order_by("pk").values_list("pk", flat=True).first())
    role = data.draw(st.sampled_from(ROLES), label="role")
    object_id = data.draw(st.one_of(st.just(real_id), OBJECT_IDS, st.sampled_from(INVALID_UTF8)), label="id")
    query = data.draw(query_strings(["_changelist_filters", "_popup", "_to_field", "next"]), label="query")
    url = reverse(f"admin:{url_name}", args=["ID"]).replace("ID", encoded(object_id)) + "?" + query

    status = status_of(visitors[role][1], url)

    # 403 as well: a read-only ledger answers its add and delete pages so, and the groups
    # may not see users or tokens.
    assert status in {*ANSWERS, 403}, (role, url, status)


# --- the reported cases ---------------------------------------------------------------------

LISTS = {
    "accounts": "accounts_account_changelist",
    "transactions": "transactions_transaction_changelist",
    "postings": "transactions_posting_changelist",
    "audit": "audit_auditrecord_changelist",
    "runs": "reconciliation_reconciliationrun_changelist",
    "holds": "accounts_hold_changelist",
}
INCORRECT = "?e=1"


def get(client, list_name: str, query: str):
    with db_transaction.atomic():
        return client.get(admin_url(LISTS.get(list_name, list_name)) + query)


def assert_incorrect_lookup(response) -> None:
    asked = f"{response.request['PATH_INFO']}?{response.request['QUERY_STRING']}"
    assert response.status_code == 302, (asked, response.status_code)
    assert response["Location"].endswith(INCORRECT), asked


@pytest.fixture
def root(superuser, every_kind_of_row):
    return logged_in(superuser)


@pytest.mark.parametrize("url_name", [f"{m._meta.app_label}_{m._meta.model_name}_changelist" for m, _ in REGISTERED])
def test_a_page_that_cannot_exist_is_an_incorrect_lookup_on_every_list(url_name, root):
    for page in ["99999999999999999999", str(MAX_BIGINT), "0", "-5", "²", "٣", "1_0", "abc", ""]:
        assert_incorrect_lookup(get(root, url_name, f"?p={page}"))


@pytest.mark.parametrize(
    ("list_name", "query"),
    [
        ("accounts", "?currency=%00"),
        ("transactions", "?currency=%00"),
        ("accounts", "?status=%00"),
        ("accounts", "?status__exact=%00"),
        ("transactions", "?kind=%00"),
        ("transactions", "?kind__exact=%00"),
        ("audit", "?action=%00"),
        ("audit", "?action__exact=%00"),
        ("audit", "?target_type=%00"),
        ("runs", "?result__exact=%00"),
        ("auth_user_changelist", "?username=%00"),
        ("auth_group_changelist", "?name=%00"),
        ("authtoken_tokenproxy_changelist", "?pk=%00"),
        ("accounts", "?%00=1"),
        ("postings", "?q=a%00"),
        ("holds", "?status=%00"),
        ("holds", "?expiry=%00"),
        ("holds", "?q=a%00"),
    ],
)
def test_a_nul_character_in_a_filter_is_a_bad_request(list_name, query, root):
    assert get(root, list_name, query).status_code == 400


PERIODS_OUT_OF_RANGE = [
    "{f}__year=9999",  # Its next year, 10000, overflows datetime.
    "{f}__year=9999&{f}__month=12",
    "{f}__year=9999&{f}__month=12&{f}__day=31",
    "{f}__year=10000",
    "{f}__year=0",
    "{f}__year=-1",
    "{f}__year=99999999999999999999",
    "{f}__year=²",
    "{f}__year=2024&{f}__month=13",
    "{f}__year=2024&{f}__month=0",
    "{f}__year=2024&{f}__month=-1",
    "{f}__year=2024&{f}__month=2&{f}__day=30",
    "{f}__year=2024&{f}__month=12&{f}__day=32",
    "{f}__year=2024&{f}__month=12&{f}__day=99999999999999999999",
]


@pytest.mark.parametrize(
    ("list_name", "field"), [("transactions", "created_at"), ("audit", "created_at"), ("runs", "started_at")]
)
def test_a_date_hierarchy_period_out_of_range_is_an_incorrect_lookup(list_name, field, root):
    for period in PERIODS_OUT_OF_RANGE:
        assert_incorrect_lookup(get(root, list_name, "?" + period.format(f=field)))


@pytest.mark.parametrize(("list_name", "field"), [("transactions", "created_at"), ("runs", "started_at")])
def test_the_last_day_a_drill_down_can_reach_is_an_empty_list(list_name, field, root):
    response = get(root, list_name, f"?{field}__year=9998&{field}__month=12&{field}__day=31")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize(
    ("list_name", "query"),
    [
        ("accounts", "?created_at__year=9999"),  # A field lookup where the list has no date hierarchy.
        ("postings", "?created_at__year=0"),
        ("auth_user_changelist", "?date_joined__year=10000"),
        ("auth_user_changelist", "?last_login__year=-1"),
        ("authtoken_tokenproxy_changelist", "?created__year=99999999999999999999"),
        ("auth_user_changelist", "?username__regex=["),  # The database refuses the expression.
        ("runs", "?run_by__iregex=("),
        ("runs", "?scope__range=abc"),  # Django would bind "a", "b" and "c" to two placeholders.
        ("auth_user_changelist", "?username__range=a,b"),
        ("accounts", "?name__regex=["),
        ("audit", "?ip_address=not-an-ip"),  # Ledger lists take no field lookups at all.
        ("transactions", "?description__icontains=x"),
        ("transactions", "?created_at__month=5"),
        ("transactions", "?created_at__gte=2000-01-01"),
        ("holds", "?status__exact=pending"),  # The status filter is the list's own: no field lookup.
        ("holds", "?expires_at__lte=2000-01-01"),
    ],
)
def test_field_lookups_that_cannot_be_answered_are_incorrect_lookups(list_name, query, root):
    assert_incorrect_lookup(get(root, list_name, query))


@pytest.mark.parametrize(
    ("list_name", "parameter"), [("postings", "account"), ("audit", "operator"), ("holds", "account")]
)
def test_an_id_filter_with_no_id_is_an_incorrect_lookup(list_name, parameter, root):
    for value in ["²", "٣", "³²", "-1", "0", "1.0", " 1", "99999999999999999999", "abc", ""]:
        assert_incorrect_lookup(get(root, list_name, f"?{parameter}={value}"))


def test_an_account_history_of_no_account_is_empty_not_every_posting(root):
    response = get(root, "postings", f"?account={MAX_BIGINT}")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize(
    ("list_name", "query"),
    [
        ("accounts", "?type=bogus"),
        ("accounts", "?type="),
        ("accounts", "?currency=XXX"),
        ("audit", "?target_type=x"),
        ("holds", "?status=lapsed"),
        ("holds", "?expiry=1h"),
        ("holds", "?currency=XXX"),
    ],
)
def test_a_choice_no_filter_offers_is_an_incorrect_lookup(list_name, query, root):
    assert_incorrect_lookup(get(root, list_name, query))


def test_the_pages_around_the_lists_refuse_a_nul_character(root, books, superuser):
    session = ContentType.objects.get(app_label="sessions", model="session")
    token = ContentType.objects.get_for_model(Token)
    pages = [
        f"/admin/r/{session.pk}/%00/",  # Django's "view on site" looks the object up.
        f"/admin/r/{token.pk}/%00/",
        "/admin/autocomplete/?app_label=accounts&model_name=account&field_name=owner&term=%00",
        "/admin/autocomplete/?app_label=transactions&model_name=posting&field_name=account&term=%00",
        admin_url("authtoken_tokenproxy_change", "ID").replace("ID", "%00"),
        admin_url("accounts_account_freeze", books.alice.pk) + "?_changelist_filters=%00",
        admin_url("transactions_transaction_reverse", books.transfer.pk) + "?%00",
        admin_url("accounts_hold_void", "ID").replace("ID", "%00"),
    ]
    for page in pages:
        with db_transaction.atomic():
            assert root.get(page).status_code == 400, page


def test_the_confirmation_pages_answer_ids_that_are_no_ids_with_404(root):
    for name in [
        "accounts_account_freeze",
        "accounts_account_close",
        "transactions_transaction_reverse",
        "accounts_hold_void",
    ]:
        for object_id in ["99999999999999999999", "²", "٣", "-1", "x"]:
            assert root.get(admin_url(name, object_id)).status_code == 404, (name, object_id)


def test_positive_int_takes_ascii_digits_in_range_only():
    cases = [
        ("1", MAX_BIGINT, 1),
        (str(MAX_BIGINT), MAX_BIGINT, MAX_BIGINT),
        (str(MAX_BIGINT + 1), MAX_BIGINT, None),
        ("1" * 5000, MAX_BIGINT, None),  # Before int(), which refuses more than 4300 digits.
        ("0", MAX_BIGINT, None),
        ("-1", MAX_BIGINT, None),
        ("²", MAX_BIGINT, None),  # str.isdigit() says yes, int() says no.
        ("٣", MAX_BIGINT, None),  # int() says 3.
        (" 1", MAX_BIGINT, None),
        ("+1", MAX_BIGINT, None),
        ("1_0", MAX_BIGINT, None),
        ("12", 12, 12),
        ("13", 12, None),
        ("", MAX_BIGINT, None),
    ]
    assert [positive_int(value, maximum) for value, maximum, _ in cases] == [expected for *_, expected in cases]


def test_a_date_time_without_a_zone_in_a_lookup_is_an_incorrect_lookup(visitors, every_kind_of_row):
    """Hypothesis found it: Django reads it in the server's zone with only a warning; the list refuses it."""
    _, client = visitors["superuser"]
    url = reverse("admin:authtoken_tokenproxy_changelist") + "?created__gte=9999-12-31%2023%3A59%3A59"

    answer = client.get(url)

    assert answer.status_code == 302
    assert answer["Location"].endswith("?e=1")

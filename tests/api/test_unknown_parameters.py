"""An unknown query parameter answers 400 ``validation_error`` naming it, on every GET endpoint.

The endpoints come from the generated schema, so a new list or read is covered without editing
this file; what each one says it takes must be what its schema documents.
"""

from __future__ import annotations

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.api.helpers import assert_page, assert_problem


def _get_operations() -> list[tuple[str, frozenset[str]]]:
    """Every GET path of the schema, with the query parameters it documents."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        if "get" in operations:
            names = {p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"}
            found.append((path, frozenset(names)))
    return sorted(found)


GETS = _get_operations()
LISTS = [(path, names) for path, names in GETS if "page_size" in names]


def _url(path: str) -> str:
    """The path with every ``{id}`` an id (checked before the object is looked up, so any id will do)."""
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_the_schema_has_the_lists():
    paths = {path for path, _ in LISTS}
    assert {"/api/v1/transactions/", "/api/v1/deposits/", "/api/v1/accounts/{id}/history/", "/api/v1/events/"} <= paths
    assert len(LISTS) >= 10


@pytest.mark.parametrize(("path", "documented"), LISTS, ids=[path for path, _ in LISTS])
def test_an_unknown_parameter_on_a_list_is_refused_naming_it(api, path, documented):
    problem = assert_problem(api.get(_url(path), {"bogus": "1"}), 400, "validation_error", fields=("bogus",))
    assert set(problem["errors"]) == {"bogus"}
    message = problem["errors"]["bogus"][0]
    assert message.startswith("Unknown query parameter. This endpoint takes: ")
    taken = set(message.removeprefix("Unknown query parameter. This endpoint takes: ").rstrip(".").split(", "))
    assert taken == documented  # What the list takes is what its schema says.
    assert "page_size" in taken


@pytest.mark.parametrize(("path", "documented"), GETS, ids=[path for path, _ in GETS])
def test_an_unknown_parameter_on_any_get_is_refused_naming_it(api, path, documented):
    problem = assert_problem(
        api.get(_url(path), {"Page_Size": "1", "kind[]": "x"}), 400, "validation_error", fields=("Page_Size", "kind[]")
    )
    assert set(problem["errors"]) == {"Page_Size", "kind[]"}
    if not documented:
        assert problem["errors"]["Page_Size"] == ["Unknown query parameter. This endpoint takes none."]


@pytest.mark.parametrize(
    "path", [path for path, _ in LISTS if "{" not in path], ids=[path for path, _ in LISTS if "{" not in path]
)
def test_page_size_and_cursor_are_still_taken(api, path, account):
    page = assert_page(api.get(path, {"page_size": "2"}))
    assert page["results"] == [] or len(page["results"]) <= 2


def test_an_unknown_parameter_is_refused_before_the_object_is_looked_up(api, other_user):
    """A client learns nothing of another's ids from the order of the checks: 400 for every id alike."""
    from tests.factories import AccountFactory

    theirs = AccountFactory(owner=other_user)
    for account_id in (theirs.public_id, uuid.uuid4()):
        assert_problem(api.get(f"/api/v1/accounts/{account_id}/", {"x": "1"}), 400, "validation_error", fields=("x",))
        assert_problem(api.get(f"/api/v1/accounts/{account_id}/"), 404, "not_found")


def test_unauthenticated_is_still_401_first(db):
    from rest_framework.test import APIClient

    assert_problem(APIClient().get("/api/v1/transactions/", {"bogus": "1"}), 401, "not_authenticated")

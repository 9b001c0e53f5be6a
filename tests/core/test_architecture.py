"""What the import contract (``lint-imports``) cannot say: no core module touches HTTP or the admin.

import-linter sees an external package as one node, so ``django.http`` is checked here, from the
source: every module of the core (``ledger``, ``audit``, ``accounts``, ``transactions``,
``reconciliation``, migrations included) is parsed and its imports listed.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = ("ledger", "audit", "accounts", "transactions", "reconciliation")
FORBIDDEN = ("django.http", "django.shortcuts", "django.template", "django.contrib.admin", "django.views")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return found


@pytest.mark.parametrize("package", CORE)
def test_the_core_answers_no_http_request_and_draws_no_page(package):
    offending = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sorted((REPO / package).rglob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    ]
    assert offending == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from django.http import HttpResponse\nimport django.template.loader\n")
    assert [name for name in _imports(sample) if name.startswith(FORBIDDEN)] == [
        "django.http",
        "django.http.HttpResponse",
        "django.template.loader",
    ]

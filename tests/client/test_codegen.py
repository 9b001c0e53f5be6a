"""The committed client is what the schema generates, its money is never a float, and mypy holds its users to that.

``make test`` fails here when the API's schema changed and ``make client`` was not run. The
generated package is kept out of the project's own ruff and mypy runs (pyproject.toml); mypy
checks it here, strictly, with the README's example, the way a project using the client would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clients import codegen

MYPY = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--hide-error-context"]
ANNOTATION = re.compile(r"^    (\w+): ([^=\n]+?)(?: = .*)?$", re.MULTILINE)  # an attrs field of a model
MONEY = {"amount", "balance", "available_balance", "captured_amount", "remaining_amount", "balance_after"}


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return codegen.generate()


def readme_example() -> str:
    text = (codegen.PACKAGE / "README.md").read_text()
    block = re.search(r"```python\n(.*?)\n```", text, re.DOTALL)
    assert block, "clients/python/README.md has no ```python example"
    return block.group(1) + "\n"


def mypy(tmp_path: Path, *sources: Path) -> subprocess.CompletedProcess[str]:
    """Run strict mypy, with no configuration of the project's, on a copy of the package and ``sources``."""
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    command = [*MYPY, "--config-file", str(config), "--cache-dir", str(tmp_path / "cache")]
    shutil.copytree(codegen.PACKAGE / "ledger_client", tmp_path / "ledger_client")
    return subprocess.run(
        [*command, "ledger_client", *map(str, sources)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_committed_client_is_what_the_schema_generates(generated):
    differing = codegen.stale(generated)
    assert differing == [], f"clients/python is stale ({', '.join(differing)}): run make client"


def test_generating_twice_gives_the_same_bytes(generated):
    assert codegen.generate() == generated


def test_the_staleness_check_names_a_changed_a_missing_and_an_extra_file(generated):
    files = dict(generated)
    files["ledger_client/models/account.py"] += "# edited\n"
    del files["ledger_client/models/balance.py"]
    files["ledger_client/models/extra.py"] = ""
    assert codegen.stale(files) == [
        "ledger_client/models/account.py",
        "ledger_client/models/balance.py",
        "ledger_client/models/extra.py",
    ]


def test_the_package_is_named_and_versioned_as_the_api(generated, settings):
    pyproject = generated["pyproject.toml"]
    assert 'name = "ledger-client"' in pyproject
    assert f'version = "{settings.SPECTACULAR_SETTINGS["VERSION"]}"' in pyproject


def test_the_api_accepts_amounts_as_numbers_but_the_client_sends_strings():
    document = codegen.schema()
    deposit = document["components"]["schemas"]["DepositInputRequest"]["properties"]["amount"]
    client = codegen.for_client(document)["components"]["schemas"]["DepositInputRequest"]["properties"]["amount"]
    assert sorted(branch["type"] for branch in deposit["oneOf"]) == ["number", "string"]
    assert client["type"] == "string"
    assert "oneOf" not in client
    assert client["description"] == deposit["description"]


def test_no_model_field_is_a_float_and_money_is_a_string(generated):
    fields = {
        (name, field): annotation
        for name, text in generated.items()
        if name.startswith("ledger_client/models/")
        for field, annotation in ANNOTATION.findall(text)
    }
    money = {key: annotation for key, annotation in fields.items() if key[1] in MONEY}
    assert len(fields) > 100  # every model was read
    assert [key for key, annotation in fields.items() if "float" in annotation] == []
    assert {key[1] for key in money} == MONEY
    assert set(money.values()) <= {"str", "None | str", "str | Unset"}
    assert not any("float" in text for name, text in generated.items() if name.startswith("ledger_client/models/"))


def test_the_package_and_its_readme_example_pass_strict_mypy(tmp_path):
    example = tmp_path / "example.py"
    example.write_text(readme_example())
    result = mypy(tmp_path, example)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_refuses_a_float_for_money(tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "from uuid import uuid4\n"
        "from ledger_client.models import DepositInput\n"
        "DepositInput(account_id=uuid4(), amount=10.1)\n"
    )
    result = mypy(tmp_path, wrong)
    assert result.returncode == 1, result.stdout
    assert 'wrong.py:3: error: Argument "amount" to "DepositInput" has incompatible type "float"' in result.stdout

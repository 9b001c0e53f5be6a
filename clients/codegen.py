"""The typed Python client of the REST API, ``clients/python/``, generated from the OpenAPI schema.

``python -m clients.codegen`` (``make client``) regenerates the package ``ledger_client`` and its
``pyproject.toml`` with ``openapi-python-client`` from the schema ``manage.py spectacular``
writes (debug on, the in-memory database: no network, no server, no database);
``python -m clients.codegen --check`` exits 1, naming the files, if the committed package differs
from what the schema generates (``make test`` runs it through tests/client/test_codegen.py).
The same schema and configuration generate the same bytes.

Two changes are made to the schema for the client, never to the API's: operation ids lose their
``v1_`` prefix (``ledger_client.api.<tag>.accounts_create``), and an amount that the API accepts
as a decimal string or a JSON number is a string only, so that money is never a ``float`` in the
client. ``clients/python/README.md`` and ``openapi-python-client.yaml`` are written by hand.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent / "python"
CONFIG = PACKAGE / "openapi-python-client.yaml"
GENERATED = ("pyproject.toml", "ledger_client")  # What the generator owns in PACKAGE.
_OWN_SETTINGS = ("DJANGO_", "LEDGER_", "DATABASE_", "REDIS_", "CACHE_")


def schema() -> dict[str, Any]:
    """Return the API's OpenAPI schema as ``manage.py spectacular --validate`` writes it, debug on, no database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)}
    env.update(DJANGO_DEBUG="True", DATABASE_URL="sqlite://:memory:")
    with tempfile.TemporaryDirectory() as out:
        path = Path(out) / "schema.json"
        command = [sys.executable, "manage.py", "spectacular", "--validate", "--format", "openapi-json"]
        subprocess.run([*command, "--file", str(path)], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
        loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def for_client(document: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` as the client is generated from it: ids without ``v1_``, amounts strings only."""
    document = copy.deepcopy(document)
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get("operationId", "").startswith("v1_"):
                operation["operationId"] = operation["operationId"].removeprefix("v1_")
    strings: dict[str, Any] = _strings_only(document)
    return strings


def _strings_only(node: Any) -> Any:
    """Replace every ``oneOf`` of a string and a number (an amount, as the API accepts it) by the string."""
    if isinstance(node, list):
        return [_strings_only(item) for item in node]
    if not isinstance(node, dict):
        return node
    branches = node.get("oneOf")
    if isinstance(branches, list) and sorted(branch.get("type", "") for branch in branches) == ["number", "string"]:
        (string,) = [branch for branch in branches if branch.get("type") == "string"]
        node = {**{k: v for k, v in node.items() if k != "oneOf"}, **string}
    return {key: _strings_only(value) for key, value in node.items()}


def generate(document: dict[str, Any] | None = None) -> dict[str, str]:
    """Return the generated files (``pyproject.toml``, ``ledger_client/...``), by their paths in ``clients/python``."""
    document = for_client(document if document is not None else schema())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "schema.json"
        source.write_text(json.dumps(document, indent=2, sort_keys=True))
        out = Path(work) / "out"
        command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(source)]
        command += ["--config", str(CONFIG), "--meta", "uv", "--output-path", str(out), "--fail-on-warning"]
        result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
        files = {
            path.relative_to(out).as_posix(): path.read_text()
            for path in out.rglob("*")
            if path.is_file() and path.relative_to(out).parts[0] in GENERATED and "__pycache__" not in path.parts
        }
    return dict(sorted(files.items()))


def committed() -> dict[str, str]:
    """Return the generated files as they are in ``clients/python``, by the same relative paths."""
    paths = [PACKAGE / "pyproject.toml", *(PACKAGE / "ledger_client").rglob("*")]
    return {
        path.relative_to(PACKAGE).as_posix(): path.read_text()
        for path in paths
        if path.is_file() and "__pycache__" not in path.parts
    }


def stale(files: dict[str, str]) -> list[str]:
    """Return the paths in ``clients/python`` that differ from ``files``, or are missing or extra."""
    present = committed()
    return sorted(name for name in present.keys() | files.keys() if present.get(name) != files.get(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if clients/python is not what the schema generates")
    options = parser.parse_args(argv)
    files = generate()
    if options.check:
        differing = stale(files)
        if differing:
            print(f"clients/python is stale ({', '.join(differing)}): run make client", file=sys.stderr)
            return 1
        return 0
    for name in committed().keys() - files.keys():
        (PACKAGE / name).unlink()
    for folder in sorted((PACKAGE / "ledger_client").rglob("*"), reverse=True):  # an operation's tag, renamed
        if folder.is_dir() and not any(path.suffix == ".py" for path in folder.rglob("*")):
            shutil.rmtree(folder)
    for name, text in files.items():
        (PACKAGE / name).parent.mkdir(parents=True, exist_ok=True)
        (PACKAGE / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

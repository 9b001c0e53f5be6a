"""The Python code generated from proto/ledger/v1/*.proto, kept in ``grpc_api/v1/``.

``python -m grpc_api.codegen`` regenerates it with ``grpcio-tools`` (no ``protoc`` to install);
``python -m grpc_api.codegen --check`` exits 1 if the committed code differs from what the proto
generates (``make test`` runs it through tests/grpc/test_codegen.py). The generated modules import
each other as ``ledger.v1``, the proto package; they are rewritten to import ``grpc_api.v1``, since
``ledger`` is the project's own package of building blocks.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PROTO_DIR = PROTO_ROOT / "ledger" / "v1"
OUTPUT = Path(__file__).resolve().parent / "v1"
_IMPORT = re.compile(r"^from ledger\.v1 import ", re.MULTILINE)
_HEADER = '"""Generated from proto/ledger/v1/ by ``python -m grpc_api.codegen``: do not edit."""\n'


def generate() -> dict[str, str]:
    """Return the generated files, by name: messages, their type stubs and the service stubs."""
    protos = sorted(PROTO_DIR.glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"  # The well-known types (google/protobuf/*.proto).
    with tempfile.TemporaryDirectory() as out:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            *(str(proto) for proto in protos),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed on proto/ledger/v1/")
        generated = Path(out) / "ledger" / "v1"
        files = {path.name: _IMPORT.sub("from grpc_api.v1 import ", path.read_text()) for path in generated.iterdir()}
    files["__init__.py"] = _HEADER
    return dict(sorted(files.items()))


def stale(files: dict[str, str]) -> list[str]:
    """Return the names of the files in ``grpc_api/v1/`` that differ from ``files``, or are missing or extra."""
    present = {path.name for path in OUTPUT.glob("*.py*")}
    names = sorted(present | set(files))
    return [
        name
        for name in names
        if name not in files or not (OUTPUT / name).exists() or (OUTPUT / name).read_text() != files[name]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if grpc_api/v1/ is not what the proto generates")
    options = parser.parse_args(argv)
    files = generate()
    if options.check:
        differing = stale(files)
        if differing:
            print(f"grpc_api/v1/ is stale ({', '.join(differing)}): run python -m grpc_api.codegen", file=sys.stderr)
            return 1
        return 0
    OUTPUT.mkdir(exist_ok=True)
    for path in OUTPUT.glob("*.py*"):
        if path.name not in files:
            path.unlink()
    for name, text in files.items():
        (OUTPUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

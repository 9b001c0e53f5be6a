"""Programs some tests need besides the virtualenv: skip without them, except under CI, where they must be there."""

from __future__ import annotations

import os

import pytest


def require(missing: list[str], why: str, install: str = "scripts/install-cluster-tools") -> None:
    """Skip the test if anything is ``missing`` (fail instead when ``CI`` is set): ``why`` says what needs it."""
    if not missing:
        return
    message = f"{why} needs {', '.join(missing)} (install: {install})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)

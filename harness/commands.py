"""The project's management commands, run as an operator runs them.

:func:`manage` starts ``python manage.py`` in a process of its own, with the environment it is
given (see :mod:`harness.environment`). :func:`run` calls a command in this process, where
Django is already set up (a test), or set up once by :func:`setup_django` (the benchmark,
which saves an interpreter start per call); it catches the exit status as ``manage.py`` would.
"""

# ruff: noqa: S603 -- the command is this interpreter and manage.py, with the caller's arguments.
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

_django_env: dict[str, str] | None = None


class CommandFailed(RuntimeError):
    """A command exited with a status other than 0."""


def manage(
    env: Mapping[str, str], *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``python manage.py ARGS`` with ``env`` and return what it printed.

    With ``check`` (the default), raise :class:`CommandFailed`, with its output, unless it exits 0.
    """
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise CommandFailed(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Outcome:
    """What an operator sees of a command: its exit status and its two streams."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        """Return the command's output, parsed as JSON."""
        return json.loads(self.out)


def run(command: str, *args: str) -> Outcome:
    """Run a management command in this process as ``manage.py`` would, catching its exit status."""
    from django.core.management import CommandError, call_command

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc.code)
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return Outcome(code, out.getvalue(), err.getvalue())


def _exit_status(code: object) -> int:
    """Return the status a process exits with for ``sys.exit(code)``."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def setup_django(env: Mapping[str, str]) -> None:
    """Make ``env`` this process's environment and set Django up on it, so that :func:`run` works here.

    Once per process: Django's settings are read once, so every later call must pass the same ``env``.
    """
    global _django_env
    if _django_env is None:
        os.environ.clear()
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger_project.settings")
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        import django

        django.setup()
        _django_env = dict(env)
    if dict(env) != _django_env:
        raise RuntimeError("Django is set up on one environment per process")

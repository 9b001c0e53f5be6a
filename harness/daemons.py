"""Long-running processes the harness starts and may kill: each in a session of its own, logging to a file.

A :class:`Daemon` is a command with its environment. :meth:`Daemon.start` launches it in a new
session (so :meth:`Daemon.crash` can SIGKILL it with every child it forked, as a machine
losing the process would) and waits until a readiness probe answers; :meth:`Daemon.stop` asks
it to stop (SIGTERM), then kills what is left. Starting again appends to the same log.
"""

# ruff: noqa: S603 -- commands built by the harness from fixed programs, never shell strings.
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.commands import REPO
from harness.servers import wait_until_ready


class Daemon:
    """``command`` run with ``env`` in ``cwd`` (the repository), its output appended to ``log``."""

    def __init__(
        self, name: str, command: Sequence[str], env: Mapping[str, str], log: Path, *, cwd: Path = REPO
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The process id while it runs, else None."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    @property
    def alive(self) -> bool:
        return self.pid is not None

    def start(self, ready: Callable[[], bool], *, timeout: float = 60) -> Daemon:
        """Launch the command in a new session and wait until ``ready()``; kill it and raise if it never is."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.starts += 1
        try:
            wait_until_ready(self.process, ready, name=self.name, log=self.log, timeout=timeout)
        except Exception:
            self.crash()
            raise
        return self

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process (not its children), if it runs."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def crash(self) -> None:
        """SIGKILL the whole session at once, and reap its leader."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, *, timeout: float = 15) -> None:
        """SIGTERM (a graceful stop), then SIGKILL whatever of the session is left after ``timeout`` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.crash()

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the log (empty if it cannot be read)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

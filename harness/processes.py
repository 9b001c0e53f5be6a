"""Processes a test or a run started: their children (gunicorn's workers), and stopping them."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path


def children_of(pid: int) -> list[int]:
    """Return the child processes of ``pid`` (for gunicorn's master: its workers), in ascending order."""
    found: set[int] = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.update(int(child) for child in (task / "children").read_text().split())
        if found:
            return sorted(found)
    except OSError:
        return []
    for entry in Path("/proc").iterdir():  # Kernels without /proc/<pid>/task/<tid>/children.
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
    return sorted(found)


def terminate(process: subprocess.Popen, *, timeout: float = 15) -> None:
    """Stop ``process``: SIGTERM, and SIGKILL if it has not exited within ``timeout`` seconds; reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def log_tail(log: Path, chars: int = 4000) -> str:
    """Return the end of a process's log file (empty if it cannot be read)."""
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""

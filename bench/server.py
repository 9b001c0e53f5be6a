"""The service under load: gunicorn with ``gunicorn.conf.py``, as ``make serve`` runs it, and what its processes use."""

# ruff: noqa: S603 -- the command is this interpreter and gunicorn, with arguments built here.
from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from bench.errors import BenchFailure
from harness.commands import REPO
from harness.ports import free_port
from harness.processes import children_of, terminate
from harness.servers import ServerFailed, gunicorn_command, status_of, wait_until_ready


class Measured:
    """What the benchmark reads of a server's worker processes (:meth:`workers`): memory and CPU."""

    def workers(self) -> list[int]:
        raise NotImplementedError

    def reset_peak_memory(self) -> None:
        reset_peak_memory(self.workers())

    def peak_memory_mib(self) -> list[float]:
        return peak_memory_mib(self.workers())

    def cpu_seconds(self) -> float:
        """User and system CPU time the workers have used so far."""
        return cpu_seconds(self.workers())


class Server(Measured):
    """gunicorn with ``gunicorn.conf.py``, as ``make serve`` runs it (the ledger, or another ``command``).

    ``ready_path`` answers 200 once the application can serve; ``cwd`` is where it runs.
    """

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        command: Callable[[int], list[str]] = gunicorn_command,
        ready_path: str = "/readyz",
        cwd: Path = REPO,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = log
        self.command, self.ready_path, self.cwd = command, ready_path, cwd
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                self.command(self.port), cwd=self.cwd, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_until_ready(self.process, self._ready, name="gunicorn", log=self.log, timeout=timeout)
        except ServerFailed as exc:
            raise BenchFailure(str(exc)) from exc

    def _ready(self) -> bool:
        """Whether the ready path answers 200 and every worker has started."""
        return status_of(self.base, self.ready_path) == 200 and len(self.workers()) >= self.expected_workers()

    def expected_workers(self) -> int:
        return gunicorn_workers(self.env)

    def workers(self) -> list[int]:
        """gunicorn's worker processes: the master's children."""
        assert self.process is not None
        return children_of(self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, timeout=30)


def gunicorn_workers(env: Mapping[str, str]) -> int:
    """The worker processes ``gunicorn.conf.py`` starts in ``env``."""
    return int(env.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))


def gunicorn_threads(env: Mapping[str, str]) -> int:
    """The threads answering requests, all workers together, that ``gunicorn.conf.py`` starts in ``env``."""
    return gunicorn_workers(env) * int(env.get("GUNICORN_THREADS") or 4)


def reset_peak_memory(pids: list[int]) -> None:
    """Start each process's ``VmHWM`` (peak resident memory) afresh (Linux >= 4.0)."""
    for pid in pids:
        # Where not permitted, the peak counts from the process's start.
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_memory_mib(pids: list[int]) -> list[float]:
    """Each process's peak resident memory since it started, or since :func:`reset_peak_memory`."""
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            peaks.append(round(int(match[1]) / 1024, 1))
    return peaks


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes (every thread of each) have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")

"""Stopping a long-running command on SIGTERM or SIGINT, as an orchestrator asks it to."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def stopping_on_signals(stop: threading.Event, *, name: str, log: logging.Logger = logger) -> Iterator[None]:
    """Set ``stop`` on SIGTERM or SIGINT while inside (main thread only), then put the old handlers back.

    The signal received is logged on ``log`` (the command's logger), after ``name`` (the
    command's). Outside the main thread, where Python delivers no signal, nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: %s received, stopping", name, signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

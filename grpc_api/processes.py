"""Several server processes on one port, for more than one core: a supervisor that forks and watches them.

One Python process answers calls on one core at a time (the GIL), however many threads it has.
``grpcserver --processes N`` forks ``N`` servers that share the port (``SO_REUSEPORT``: the
kernel spreads connections between them), as gunicorn's workers share its socket:

- the servers are forked before any gRPC object exists in the supervisor (gRPC's core does not
  survive a fork) and with the database connections closed (each server opens its own);
- SIGTERM or SIGINT to the supervisor stops every server gracefully (each finishes its calls in
  flight within the grace, its streams end), then the supervisor exits;
- a server that exits while the supervisor is not stopping is replaced, after a second;
- metrics: each server writes its samples to ``PROMETHEUS_MULTIPROC_DIR`` and the supervisor's
  listener serves their sum, as gunicorn's master does.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from django.db import connections
from prometheus_client import multiprocess

from grpc_api.server import Tls, serve
from ledger.signals import stopping_on_signals

logger = logging.getLogger("grpc_api.server")

RESTART_DELAY = 1.0  # seconds before a server that died is replaced


def _fork(bind: str, *, workers: int, grace: float, tls: Tls | None) -> int:
    """Start one server process; return its pid (the child never returns)."""
    connections.close_all()
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        serve(bind, workers=workers, grace=grace, tls=tls, share_port=True)
    except BaseException:
        logger.exception("gRPC server process %d failed", os.getpid())
        status = 1
    finally:
        logging.shutdown()
        os._exit(status)


def _reap(children: set[int]) -> list[tuple[int, int]]:
    """Return the children that exited, with their wait status, and forget them."""
    exited = []
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                multiprocess.mark_process_dead(pid)
            exited.append((pid, status))
    return exited


def supervise(bind: str, *, processes: int, workers: int, grace: float, tls: Tls | None = None) -> None:
    """Run ``processes`` servers on ``bind`` until SIGTERM or SIGINT; replace any that dies meanwhile."""
    children: set[int] = set()
    stop = threading.Event()
    with stopping_on_signals(stop, name="grpcserver", log=logger):
        for _ in range(processes):
            children.add(_fork(bind, workers=workers, grace=grace, tls=tls))
        logger.info("gRPC supervisor %d: %d server processes on %s", os.getpid(), processes, bind)
        while not stop.wait(0.5):
            for pid, status in _reap(children):
                logger.error("gRPC server process %d exited (wait status %d): replacing it", pid, status)
                time.sleep(RESTART_DELAY)
                children.add(_fork(bind, workers=workers, grace=grace, tls=tls))
    logger.info("gRPC supervisor stopping %d server processes", len(children))
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace + 10
    while children and time.monotonic() < deadline:
        _reap(children)
        time.sleep(0.1)
    for pid in children:  # Past the grace and more: they are stuck.
        logger.error("gRPC server process %d did not stop: killing it", pid)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    logger.info("gRPC server stopped")

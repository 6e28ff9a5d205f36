"""Several worker processes serving one port, each with a listening socket of its own.

Python runs one thread at a time per process, so a second process is what lets the
service use a second core. uvicorn's own ``--workers`` shares one listening socket
between its workers, and whichever worker wakes first accepts each connection: under
a burst of new keep-alive connections one worker takes most of them and keeps them,
and was measured at 94 % of a core while the other sat at 37 %. Here each worker
binds the port with ``SO_REUSEPORT``, and the kernel spreads new connections across
the workers' sockets; a worker holding more than its share of keep-alive connections
asks a client to reconnect (:mod:`contactpoint.web.connection_share`).

The supervisor starts the workers, restarts one that dies once the service is up,
and stops them all on ``SIGINT`` or ``SIGTERM``. A worker that dies before it has
served for :data:`STARTUP_GRACE` seconds stops the service instead: it would only die
again (a wrong database address, a missing key).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any, Final

import uvicorn

from contactpoint.web.connection_share import ConnectionShare, ShareConnections

WORKER_APP: Final = "contactpoint.web.workers:worker_app"
STARTUP_GRACE: Final = 10.0
"""Seconds a worker must have run before its death is taken for a crash to recover
from rather than a fault in how the service was started."""
STOP_WAIT: Final = 30.0
BACKLOG: Final = 2048


class WorkerStartError(RuntimeError):
    """A worker process exited while the service was starting."""


@dataclass(frozen=True)
class WorkerSlot:
    """A worker's place among its siblings: its index in the shared table of how many
    connections each holds."""

    index: int
    counts: Any
    """A ``multiprocessing.Array`` of ints, one per worker, shared by them all."""


_share: ConnectionShare | None = None
"""This worker process's slot, set by :func:`run_worker` before uvicorn builds the app."""


def worker_app() -> Any:
    """The app in one worker process, over a runtime of its own from the environment."""
    from contactpoint.web.app import create_app

    app = ShareConnections(create_app(), _share)
    settle_collector()
    return app


GC_THRESHOLDS: Final = (20_000, 50, 1000)
"""Python's default (700, 10, 10) collects the youngest objects every few hundred
allocations, several times a search, and the whole heap every few hundred of those."""


def settle_collector() -> None:
    """Tune the garbage collector for a server, once its app is built.

    A request's objects live for milliseconds and few form cycles. ``gc.freeze`` sets
    aside everything built at start (the app, the match model, the name tables) so no
    collection walks it again, and the higher thresholds collect less often. In one
    pair of search benchmark runs (1,000,000 children, 32 clients, 30 s each) p99 went
    from 319 ms to 188 ms; runs of the same code vary by about a fifth.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other sockets of the same user may bind too;
    the kernel hands each new connection to one of them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def port_is_free(host: str, port: int) -> None:
    """Raise ``OSError`` if anything listens on ``host:port`` already: binding without
    ``SO_REUSEPORT`` fails even beside sockets that set it, so a second service started on
    the same port by the same user fails here instead of quietly sharing the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def run_worker(host: str, port: int, options: dict[str, Any], slot: WorkerSlot) -> None:
    """One worker: its own socket on the shared port, then uvicorn until told to stop."""
    global _share
    sock = listening_socket(host, port)
    config = uvicorn.Config(WORKER_APP, factory=True, host=host, port=port, **options)
    server = uvicorn.Server(config)
    _share = ConnectionShare(slot.counts, slot.index, lambda: len(server.server_state.connections))
    server.run(sockets=[sock])


@dataclass
class Supervisor:
    host: str
    port: int
    count: int
    options: dict[str, Any]
    target: Callable[[str, int, dict[str, Any], WorkerSlot], None] = run_worker
    """What each worker process runs (tests give a stand-in)."""
    grace: float = STARTUP_GRACE
    stopping: threading.Event = field(default_factory=threading.Event)
    workers: list[tuple[SpawnProcess, float]] = field(default_factory=list)
    restarts: int = 0
    counts: Any = None
    """How many connections each worker holds, shared with them (made at :meth:`run`)."""

    def start_worker(self, index: int) -> tuple[SpawnProcess, float]:
        slot = WorkerSlot(index, self.counts)
        process = multiprocessing.get_context("spawn").Process(
            target=self.target, args=(self.host, self.port, self.options, slot), daemon=False
        )
        process.start()
        return process, time.monotonic()

    def stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Serve until a signal asks to stop; raises :class:`WorkerStartError` if a worker
        dies while starting."""
        port_is_free(self.host, self.port)
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.counts = multiprocessing.get_context("spawn").Array("i", self.count, lock=False)
            self.workers = [self.start_worker(index) for index in range(self.count)]
            while not self.stopping.wait(0.5):
                for index, (process, started) in enumerate(self.workers):
                    if process.is_alive() or self.stopping.is_set():
                        continue
                    if time.monotonic() - started < self.grace:
                        raise WorkerStartError(
                            f"a worker exited while starting (exit code {process.exitcode})"
                        )
                    self.counts[index] = 0
                    self.workers[index] = self.start_worker(index)
                    self.restarts += 1
        finally:
            self.stop_workers()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_workers(self) -> None:
        for process, _ in self.workers:
            if process.is_alive() and process.pid is not None:
                process.terminate()
        deadline = time.monotonic() + STOP_WAIT
        for process, _ in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def serve_workers(host: str, port: int, count: int, options: dict[str, Any]) -> None:
    """Serve ``count`` workers on ``host:port`` until stopped."""
    Supervisor(host, port, count, options).run()

"""The supervisor of several server processes: restarts a worker that dies once up,
gives up on one that dies while starting, stops them all when asked."""

from __future__ import annotations

import gc
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from contactpoint.web import workers
from contactpoint.web.connection_share import ShareConnections
from contactpoint.web.workers import (
    GC_THRESHOLDS,
    Supervisor,
    WorkerSlot,
    WorkerStartError,
    listening_socket,
    port_is_free,
    settle_collector,
)


def serve_forever(_host: str, _port: int, options: dict[str, Any], slot: WorkerSlot) -> None:
    """A stand-in worker: notes its pid and its slot, then waits to be stopped."""
    Path(options["pids"], f"{os.getpid()}-{slot.index}").touch()
    signal.pause()


def fail_at_once(_host: str, _port: int, _options: dict[str, Any], _slot: WorkerSlot) -> None:
    raise SystemExit(3)


def wait_for(check: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_worker_that_dies_once_serving_is_replaced_and_all_stop_together(
    tmp_path: Path,
) -> None:
    """The supervisor runs on the test's own thread (it takes the signals); another
    thread kills a worker, watches it come back, then asks everything to stop."""
    supervisor = Supervisor(
        "127.0.0.1", 0, 2, {"pids": str(tmp_path)}, target=serve_forever, grace=0.0
    )
    seen: dict[str, Any] = {}

    def meddle() -> None:
        try:
            wait_for(lambda: len(list(tmp_path.iterdir())) == 2)
            first = supervisor.workers[0][0]
            assert first.pid is not None
            os.kill(first.pid, signal.SIGKILL)
            wait_for(lambda: len(list(tmp_path.iterdir())) == 3)
            seen["restarts"] = supervisor.restarts
            seen["alive"] = [p.is_alive() for p, _ in supervisor.workers]
        except BaseException as exc:  # reported on the test's thread
            seen["error"] = exc
        finally:
            supervisor.stop()

    meddling = threading.Thread(target=meddle)
    meddling.start()
    supervisor.run()
    meddling.join()
    assert "error" not in seen, seen
    assert seen == {"restarts": 1, "alive": [True, True]}
    slots = sorted(name.name.rpartition("-")[2] for name in tmp_path.iterdir())
    assert slots == ["0", "0", "1"], "the replacement takes the dead worker's slot"
    assert not any(p.is_alive() for p, _ in supervisor.workers)


def test_a_worker_that_dies_while_starting_stops_the_service(tmp_path: Path) -> None:
    supervisor = Supervisor("127.0.0.1", 0, 2, {}, target=fail_at_once, grace=60.0)
    with pytest.raises(WorkerStartError, match="exit code 3"):
        supervisor.run()
    assert not any(p.is_alive() for p, _ in supervisor.workers)


def test_a_port_already_served_is_refused_even_to_the_same_user() -> None:
    taken = listening_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            port_is_free("127.0.0.1", port)
        with pytest.raises(OSError, match="in use"):
            Supervisor("127.0.0.1", port, 2, {}, target=fail_at_once).run()
    finally:
        taken.close()
    port_is_free("127.0.0.1", port)


def test_a_server_process_sets_aside_what_it_built_and_collects_less_often() -> None:
    before = gc.get_threshold()
    try:
        settle_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_a_worker_process_records_its_connections_in_its_slot_and_shares_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """run_worker gives the app a share counting uvicorn's open connections, in the slot
    the supervisor gave it; worker_app wraps the app with it."""
    started: dict[str, Any] = {}

    def run_without_serving(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        started["server"] = server
        started["share"] = workers._share
        for sock in sockets:
            sock.close()

    monkeypatch.setattr(workers, "_share", None)
    monkeypatch.setattr(uvicorn.Server, "run", run_without_serving)
    counts = [5, 0]
    workers.run_worker("127.0.0.1", 0, {}, WorkerSlot(1, counts))
    share = started["share"]
    assert share is not None
    started["server"].server_state.connections.update({object(), object(), object()})
    assert not share.should_close()
    assert counts == [5, 3]

    built = object()
    monkeypatch.setattr("contactpoint.web.app.create_app", lambda: built)
    before = gc.get_threshold()
    try:
        app = workers.worker_app()
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert isinstance(app, ShareConnections)
    assert (app.app, app.share) == (built, share)

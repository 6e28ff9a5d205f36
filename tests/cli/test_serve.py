"""``contactpoint serve``: one process, or several workers sharing the port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx
import pytest

from contactpoint.cli.serve import default_workers
from tests.cli.conftest import CONTACTPOINT, Installation


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def workers_of(pid: int) -> int:
    """How many worker processes uvicorn's supervisor ``pid`` has started."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    children = [int(p) for p in found.stdout.split()]
    return sum(
        "multiprocessing.spawn" in open(f"/proc/{c}/cmdline").read().replace("\0", " ")
        for c in children
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_with_the_workers_asked_for(initialised: Installation, workers: int) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(CONTACTPOINT), "serve", "--port", str(port), "--workers", str(workers)],
        env=initialised.env,
        cwd=initialised.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        answered = None
        while time.monotonic() < deadline and answered is None:
            assert server.poll() is None, server.communicate()
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answered is not None
        assert answered.json() == {"status": "ok"}
        if workers > 1:
            assert workers_of(server.pid) == workers
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert f"{workers} worker" in out
    assert "Traceback" not in out + err


def test_by_default_one_worker_a_core_and_at_most_four() -> None:
    assert 1 <= default_workers() <= 4
    assert default_workers() == min(4, os.cpu_count() or 1)

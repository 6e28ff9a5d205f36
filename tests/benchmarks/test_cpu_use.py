"""The search benchmark's CPU accounting, over a made-up ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path

from cpu_use import cost_per_search, snapshot


def process(proc: Path, pid: int, group: int, ticks: tuple[int, int], command: str) -> None:
    folder = proc / str(pid)
    folder.mkdir()
    fields = ["S", "1", str(group)] + ["0"] * 8 + [str(ticks[0]), str(ticks[1])] + ["0"] * 5
    (folder / "stat").write_text(f"{pid} (python3) " + " ".join(fields))
    (folder / "cmdline").write_bytes(command.replace(" ", "\0").encode())


def fake_proc(tmp_path: Path, server: int, database: int, idle: int, busy: int) -> Path:
    proc = tmp_path / f"proc-{server}-{idle}"
    proc.mkdir()
    (proc / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1\n")
    process(proc, 100, 100, (server, 0), "python3 contactpoint serve")
    process(proc, 101, 100, (0, server), "python3 -c spawn_main")
    process(proc, 200, 200, (database, 0), "postgres: 15/main: postgres cp_bench 127.0.0.1(5) idle")
    process(proc, 201, 201, (999, 0), "postgres: 15/main: postgres other_db 127.0.0.1(6) idle")
    process(proc, 300, 300, (999, 0), "python3 unrelated")
    return proc


def test_server_and_database_cpu_a_search_and_idle_share(tmp_path: Path) -> None:
    hz = os.sysconf("SC_CLK_TCK")
    before = snapshot(100, "cp_bench", fake_proc(tmp_path, 0, 0, 0, 0))
    after = snapshot(100, "cp_bench", fake_proc(tmp_path, hz, hz // 2, hz, 3 * hz))
    cost = cost_per_search(before, after, searches=100)
    assert cost == {"server_cpu_ms": 20.0, "database_cpu_ms": 5.0, "machine_idle": 0.25}


def test_without_proc_there_are_no_figures(tmp_path: Path) -> None:
    assert snapshot(1, "x", tmp_path / "missing") is None
    assert cost_per_search(None, None, 10) is None

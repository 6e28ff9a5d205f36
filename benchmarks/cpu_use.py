"""Where a benchmark's CPU went: the server's processes, the database's, and idle time.

Read from Linux's ``/proc`` at the start and end of the measured window, so a run can
say how many milliseconds of CPU each search cost the server and the database, and
how much of the machine sat idle (time lost waiting, not computing). Elsewhere the
figures are simply missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class CpuSnapshot:
    server: float
    """CPU seconds used so far by every process of the server's process group."""
    database: float
    """CPU seconds used so far by the PostgreSQL backends serving ``database``."""
    idle: float
    """Seconds all cores have spent idle since boot."""
    total: float
    """Seconds all cores have spent in any state since boot."""


def _ticks() -> float:
    return float(os.sysconf("SC_CLK_TCK"))


def _process_seconds(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _ticks()


def snapshot(server_group: int, database: str, proc: Path = PROC) -> CpuSnapshot | None:
    """The counters now, or None where ``/proc`` is not Linux's."""
    try:
        machine = (proc / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    counters = [int(v) for v in machine]
    idle = (counters[3] + counters[4]) / _ticks()
    total = sum(counters[:8]) / _ticks()
    server = database_seconds = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == server_group:  # the process group
            server += _process_seconds(stat)
        elif command.startswith("postgres: ") and f" {database} " in command:
            database_seconds += _process_seconds(stat)
    return CpuSnapshot(server, database_seconds, idle, total)


def cost_per_search(
    before: CpuSnapshot | None, after: CpuSnapshot | None, searches: int
) -> dict[str, float] | None:
    """Server and database CPU milliseconds a search, and the machine's idle share."""
    if before is None or after is None or searches <= 0:
        return None
    elapsed = after.total - before.total
    return {
        "server_cpu_ms": round(1000 * (after.server - before.server) / searches, 2),
        "database_cpu_ms": round(1000 * (after.database - before.database) / searches, 2),
        "machine_idle": round((after.idle - before.idle) / elapsed, 3) if elapsed > 0 else 0.0,
    }

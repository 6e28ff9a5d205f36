"""Ingest throughput and memory, end to end, on SQLite and PostgreSQL.

Run ``.venv/bin/python benchmarks/ingest.py`` (optionally ``--sizes 10000,100000``).
For each size and database it makes a fresh data directory (and, for
PostgreSQL, a fresh database), runs ``contactpoint init``, then times
``contactpoint ingest`` as a child process and takes that child's peak resident
memory from ``os.wait4``. A second, identical ingest times the no-op path (every
line unchanged). Encryption is always on: there is no way to turn it off.

Results are printed as a table and written to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from feed_lines import FeedStats, write_feed

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_LINES_PER_SECOND = 2000.0
"""From the issue: PostgreSQL ingest of at least 2,000 lines/s on a 2-core machine."""
SOURCE = "bench"

console = Console()


class BenchmarkError(Exception):
    """The benchmark could not measure what it set out to: stop loudly."""


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    os: str
    python: str
    sqlite: str
    postgresql: str | None
    postgresql_autovacuum: str | None
    """'off' means no table is analysed during a run: plans rest on default estimates."""
    postgresql_settings: str | None = None
    """The server's buffer cache and checkpoint settings, which decide how much of a
    large index's reading and writing goes through the operating system."""


@dataclass(frozen=True)
class Measurement:
    database: str
    lines: int
    run: str
    seconds: float
    lines_per_second: float
    cpu_seconds: float
    """User plus system CPU time of the ingest process: the rest of the wall time it waited."""
    peak_rss_mib: float
    accepted: int
    created: int
    linked: int
    queued: int
    updated: int
    unchanged: int
    rejected: int
    database_mib: float


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def contactpoint_command() -> str:
    beside = Path(sys.executable).parent / "contactpoint"
    if beside.exists():
        return str(beside)
    found = shutil.which("contactpoint")
    if found is None:
        raise BenchmarkError(
            "No 'contactpoint' command beside this Python or on PATH: "
            "run with the project's venv (.venv/bin/python benchmarks/ingest.py)."
        )
    return found


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0.0
    return pages * page_size / 2**30


SETTINGS_SHOWN = ("shared_buffers", "max_wal_size", "checkpoint_timeout")


def postgres_settings(admin_url: str) -> tuple[str, str, str] | None:
    """The server's version, autovacuum setting and the settings in ``SETTINGS_SHOWN``
    (one line), or None when it is not reachable."""
    engine = create_engine(admin_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            autovacuum = connection.execute(text("SHOW autovacuum")).scalar_one()
            shown = ", ".join(
                f"{name} {connection.execute(text(f'SHOW {name}')).scalar_one()}"
                for name in SETTINGS_SHOWN
            )
            return str(version), str(autovacuum), shown
    except Exception:
        return None
    finally:
        engine.dispose()


def postgres_line(machine: Machine) -> str:
    """The PostgreSQL part of a benchmark's machine description."""
    if machine.postgresql is None:
        return "PostgreSQL not measured"
    settings = f", {machine.postgresql_settings}" if machine.postgresql_settings else ""
    return f"PostgreSQL {machine.postgresql} (autovacuum {machine.postgresql_autovacuum}{settings})"


def describe_machine(admin_url: str, want_postgres: bool) -> Machine:
    postgres = postgres_settings(admin_url) if want_postgres else None
    return Machine(
        cpu=cpu_model(),
        cores=os.cpu_count() or 0,
        ram_gib=round(ram_gib(), 1),
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        postgresql=postgres[0] if postgres else None,
        postgresql_autovacuum=postgres[1] if postgres else None,
        postgresql_settings=postgres[2] if postgres else None,
    )


def run_child(command: list[str], env: dict[str, str], workdir: Path) -> ChildResult:
    """Run one command; its wall time and its own peak RSS (from wait4, not a sum)."""
    out_path = workdir / f"out-{secrets.token_hex(4)}.txt"
    err_path = workdir / f"err-{secrets.token_hex(4)}.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=workdir)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    divisor = 2**20 if sys.platform == "darwin" else 2**10
    return ChildResult(
        returncode=process.returncode,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / divisor,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


def require_success(what: str, result: ChildResult) -> None:
    if result.returncode != 0:
        raise BenchmarkError(
            f"{what} exited with status {result.returncode}.\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )


def ingest_file(
    command: str,
    source: str,
    feed: Path,
    report_path: Path,
    env: dict[str, str],
    workdir: Path,
    extra: tuple[str, ...] = (),
) -> tuple[ChildResult, dict[str, Any]]:
    """``contactpoint ingest`` of one file as a timed child process, and its JSON report."""
    result = run_child(
        [command, "ingest", "--source", source, str(feed), "--report", str(report_path), *extra],
        env,
        workdir,
    )
    require_success(f"contactpoint ingest --source {source} ({feed.name})", result)
    return result, json.loads(report_path.read_text(encoding="utf-8"))


@contextmanager
def fresh_postgres_database(admin_url: str, *, keep: bool = False) -> Iterator[str]:
    """A new empty database, dropped afterwards whatever happens (unless ``keep``: then
    it stays, for another benchmark to reuse, and the caller says where)."""
    name = f"cp_bench_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            if not keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


PREWARM = text(
    "SELECT coalesce(sum(pg_prewarm(c.oid)), 0) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
)


@contextmanager
def copy_of_kept_index(
    admin_url: str, kept: Path, workdir: Path, *, warm: bool = False
) -> Iterator[tuple[str, Path, int]]:
    """A copy of the index ``benchmarks/linkage.py --keep-for-search DIR`` kept, and a copy
    of its keys, both removed afterwards whatever happens: (URL, home, children).

    The copy is made file by file (``STRATEGY FILE_COPY``) and a checkpoint follows, so
    that the run is not charged for writing out the copy (PostgreSQL 15's default
    strategy sends the whole index through the write-ahead log and the buffer cache).
    A copy is new files, so PostgreSQL's cache holds none of it; ``warm`` reads it all
    into the cache first (``pg_prewarm``), as a server that has been serving the index
    would hold it, as far as ``shared_buffers`` allows.
    """
    try:
        meta = json.loads((kept / "search-bench.json").read_text(encoding="utf-8"))
        template = make_url(meta["database_url"]).database
        children = int(meta["children"])
        keys = Path(meta["home"])
    except (OSError, ValueError, KeyError) as exc:
        raise BenchmarkError(
            f"{kept} is not a directory kept by benchmarks/linkage.py --keep-for-search "
            f"({type(exc).__name__}); make one with that command first"
        ) from None
    name = f"cp_bench_{secrets.token_hex(6)}"
    home = workdir / f"home-into-{name}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            )
        try:
            shutil.copytree(keys, home)
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            if warm:
                prewarm(url)
            with admin.connect() as connection:
                connection.execute(text("CHECKPOINT"))
            yield url, home, children
        finally:
            shutil.rmtree(home, ignore_errors=True)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prewarm(url: str) -> None:
    """Every table and index of the database at ``url`` read into PostgreSQL's cache."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            blocks = int(connection.execute(PREWARM).scalar_one())
            cache = connection.execute(text("SHOW shared_buffers")).scalar_one()
    except Exception as exc:
        raise BenchmarkError(
            f"--warm could not read the copy into PostgreSQL's cache ({type(exc).__name__}): "
            "it needs the pg_prewarm extension (PostgreSQL's contrib) and a superuser"
        ) from None
    finally:
        engine.dispose()
    console.print(
        f"  read {blocks * 8 / 1024:,.0f} MiB of the copy into PostgreSQL's cache "
        f"(shared_buffers {cache})"
    )


def database_mib(database: str, home: Path, url: str | None) -> float:
    if database == "sqlite":
        files = [home / "contactpoint.db", home / "contactpoint.db-wal"]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    if url is None:
        raise BenchmarkError("a PostgreSQL measurement needs the database URL")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            size = connection.execute(
                text("SELECT pg_database_size(current_database())")
            ).scalar_one()
            return int(size) / 2**20
    finally:
        engine.dispose()


def check_report(report: dict[str, Any], lines: int, run: str, stats: FeedStats) -> None:
    """The measurement only counts if every line was really taken in."""
    problems: list[str] = []
    if report.get("accepted") != lines:
        problems.append(f"accepted {report.get('accepted')} of {lines} lines")
    if report.get("rejected") != 0:
        reasons = [r.get("reason") for r in report.get("rejections", [])[:3]]
        problems.append(f"rejected {report.get('rejected')} lines (first reasons: {reasons})")
    if run == "first":
        created, linked = report.get("created", 0), report.get("linked", 0)
        queued = report.get("queued_for_review", 0)
        if created + linked + queued != lines:
            problems.append(f"created {created} + linked {linked} + queued {queued} is not {lines}")
        # A line the linker is unsure of waits for review instead of being linked or made a
        # child; it may be a repeat or not. No other line may miss its child.
        if not stats.repeat_lines - queued <= linked <= stats.repeat_lines:
            problems.append(
                f"linked {linked} lines with {queued} queued, but {stats.repeat_lines} lines "
                "repeat an earlier line's NHS number"
            )
    elif report.get("unchanged") != lines:
        problems.append(f"re-ingest left {report.get('unchanged')} of {lines} lines unchanged")
    if problems:
        raise BenchmarkError(f"{run} ingest of {lines} lines: " + "; ".join(problems))


def measure_case(
    database: str,
    lines: int,
    feed: Path,
    stats: FeedStats,
    workdir: Path,
    admin_url: str,
    *,
    helper: bool = True,
    into: Path | None = None,
    warm: bool = False,
) -> list[Measurement]:
    """A first ingest and a re-ingest; with ``helper=False`` a first ingest only, with the
    helper process turned off (the reference the helper is measured against); with
    ``into``, a first ingest only, into a copy of the index kept there (PostgreSQL),
    read into PostgreSQL's cache first if ``warm``."""
    command = contactpoint_command()
    home = workdir / f"home-{database}-{lines}"
    runs = ("first", "re-ingest") if helper else ("first, no helper",)
    extra = () if helper else ("--no-helper",)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONTACTPOINT_") or key == "CONTACTPOINT_LOG_LEVEL"
    }

    def run_all(url: str | None, home: Path, runs: tuple[str, ...]) -> list[Measurement]:
        env["CONTACTPOINT_HOME"] = str(home)
        if url is not None:
            env["CONTACTPOINT_DATABASE_URL"] = url
        require_success("contactpoint init", run_child([command, "init"], env, workdir))
        measurements = []
        for run in runs:
            report_path = workdir / f"report-{database}-{lines}-{run}.json"
            result, report = ingest_file(command, SOURCE, feed, report_path, env, workdir, extra)
            check_report(report, lines, "re-ingest" if run == "re-ingest" else "first", stats)
            measurements.append(
                Measurement(
                    database=database,
                    lines=lines,
                    run=run,
                    seconds=round(result.seconds, 3),
                    lines_per_second=round(lines / result.seconds, 1),
                    cpu_seconds=round(result.cpu_seconds, 2),
                    peak_rss_mib=round(result.peak_rss_mib, 1),
                    accepted=report["accepted"],
                    created=report["created"],
                    linked=report["linked"],
                    queued=report.get("queued_for_review", 0),
                    updated=report["updated"],
                    unchanged=report["unchanged"],
                    rejected=report["rejected"],
                    database_mib=round(database_mib(database, home, url), 1),
                )
            )
            console.print(
                f"  {database:<10} {lines:>8,} {run:<9} {result.seconds:8.1f} s "
                f"{lines / result.seconds:9,.0f} lines/s  {result.peak_rss_mib:6.0f} MiB"
            )
        return measurements

    try:
        if into is not None:
            with copy_of_kept_index(admin_url, into, workdir, warm=warm) as (
                url,
                kept_home,
                children,
            ):
                console.print(f"  ingesting into a copy of the index of {children:,} children")
                run = f"first into {children:,}" + (" (warm)" if warm else "")
                return run_all(url, kept_home, (run,))
        if database == "postgresql":
            with fresh_postgres_database(admin_url) as url:
                return run_all(url, home, runs)
        return run_all(None, home, runs)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def results_table(machine: Machine, measurements: list[Measurement]) -> Table:
    table = Table(title="contactpoint ingest, end to end (encryption on)")
    table.add_column("database")
    table.add_column("lines", justify="right")
    table.add_column("run")
    table.add_column("time (s)", justify="right")
    table.add_column("lines/s", justify="right")
    table.add_column("client CPU (s)", justify="right")
    table.add_column("peak RSS (MiB)", justify="right")
    table.add_column("created", justify="right")
    table.add_column("linked", justify="right")
    table.add_column("queued", justify="right")
    table.add_column("unchanged", justify="right")
    table.add_column("db size (MiB)", justify="right")
    for m in measurements:
        table.add_row(
            m.database,
            f"{m.lines:,}",
            m.run,
            f"{m.seconds:.1f}",
            f"{m.lines_per_second:,.0f}",
            f"{m.cpu_seconds:.1f}",
            f"{m.peak_rss_mib:.0f}",
            f"{m.created:,}",
            f"{m.linked:,}",
            f"{m.queued:,}",
            f"{m.unchanged:,}",
            f"{m.database_mib:.0f}",
        )
    return table


def target_verdicts(measurements: list[Measurement]) -> list[tuple[Measurement, bool]]:
    return [
        (m, m.lines_per_second >= TARGET_LINES_PER_SECOND)
        for m in measurements
        if m.database == "postgresql" and m.run.startswith("first")
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated numbers of feed lines (default 10000,100000)",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument("--seed", type=int, default=2026, help="feed generator seed")
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the PostgreSQL first ingest with the helper process turned off",
    )
    parser.add_argument(
        "--into",
        type=Path,
        metavar="DIR",
        help="also ingest each feed into a copy of the index kept in DIR by "
        "benchmarks/linkage.py --keep-for-search DIR (PostgreSQL): incremental ingest "
        "at that population's size",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="with --into: read the copy into PostgreSQL's cache before ingesting (as a "
        "server that has been serving the index holds it); needs pg_prewarm",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("CONTACTPOINT_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="PostgreSQL URL of a database to run CREATE DATABASE from",
    )
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes must be comma-separated whole numbers, e.g. 10000,100000")
    if not args.size_list or min(args.size_list) < 1:
        parser.error("--sizes must be positive")
    if args.warm and args.into is None:
        parser.error("--warm warms the copy --into makes: give --into DIR too")
    args.database_list = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.database_list) - {"sqlite", "postgresql"}
    if unknown or not args.database_list:
        parser.error(f"--databases takes sqlite and/or postgresql, not {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not console.is_terminal:
        console.width = max(console.width, 140)
    want_postgres = "postgresql" in args.database_list
    machine = describe_machine(args.pg_admin_url, want_postgres)
    if want_postgres and machine.postgresql is None:
        console.print(
            f"[red]PostgreSQL is not reachable at {args.pg_admin_url}.[/red] Start it "
            "(scripts/ensure-postgres) or run with --databases sqlite."
        )
        return 2

    console.print(
        f"Machine: {machine.cpu}, {machine.cores} cores, {machine.ram_gib} GiB RAM, {machine.os}"
    )
    console.print(f"Python {machine.python}, SQLite {machine.sqlite}, {postgres_line(machine)}")

    measurements: list[Measurement] = []
    feeds: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as temporary:
        workdir = Path(temporary)
        for lines in args.size_list:
            feed = workdir / f"feed-{lines}.jsonl"
            started = time.perf_counter()
            stats = write_feed(feed, lines, seed=args.seed)
            console.print(
                f"Generated {lines:,} lines ({feed.stat().st_size / 2**20:.1f} MiB, "
                f"{stats.children:,} children, {stats.repeat_lines:,} repeat an earlier NHS "
                f"number) in {time.perf_counter() - started:.1f} s"
            )
            feeds[lines] = {**asdict(stats), "bytes": feed.stat().st_size, "seed": args.seed}
            for database in args.database_list:
                measurements.extend(
                    measure_case(database, lines, feed, stats, workdir, args.pg_admin_url)
                )
                if database == "postgresql" and not args.no_reference:
                    measurements.extend(
                        measure_case(
                            database, lines, feed, stats, workdir, args.pg_admin_url, helper=False
                        )
                    )
                if database == "postgresql" and args.into is not None:
                    measurements.extend(
                        measure_case(
                            database,
                            lines,
                            feed,
                            stats,
                            workdir,
                            args.pg_admin_url,
                            into=args.into,
                            warm=args.warm,
                        )
                    )
            feed.unlink()

    console.print()
    console.print(results_table(machine, measurements))
    verdicts = target_verdicts(measurements)
    for m, met in verdicts:
        verdict = "[green]met[/green]" if met else "[red]NOT met[/red]"
        console.print(
            f"Target {TARGET_LINES_PER_SECOND:,.0f} lines/s on PostgreSQL "
            f"({m.lines:,} lines, {m.run}): {m.lines_per_second:,.0f} lines/s, {verdict}."
        )

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    write_results(
        RESULTS / f"ingest-{stamp}.json",
        machine,
        {
            "feeds": feeds,
            "target_lines_per_second_postgresql": TARGET_LINES_PER_SECOND,
            "target_met": all(met for m, met in verdicts if m.run == "first") if verdicts else None,
            "measurements": [asdict(m) for m in measurements],
        },
    )
    return 0


def write_results(out: Path, machine: Machine, payload: dict[str, Any]) -> None:
    """Every benchmark's JSON: when, on what machine, then its own figures."""
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": asdict(machine),
        **payload,
    }
    out.write_text(json.dumps(document, indent=2), encoding="utf-8")
    console.print(f"Results written to {out}")


def run_main(main: Callable[[], int]) -> None:
    """Exit with main's status; a failed benchmark says why, without a traceback."""
    try:
        sys.exit(main())
    except BenchmarkError as exc:
        console.print(f"[red]Benchmark failed:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    run_main(main)

"""Helpers for end-to-end tests of the ``contactpoint`` command line.

Every test here runs the installed console script as a separate process, with
its own data directory (and, for PostgreSQL, its own fresh database), so what
is tested is exactly what an operator runs. Every command's output is checked
for a Python traceback: none may ever reach the operator.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

CONTACTPOINT = Path(sys.executable).parent / "contactpoint"
TRACEBACK = "Traceback (most recent call last)"
REPORT_KEYS = {
    "accepted",
    "created",
    "linked",
    "updated",
    "ended",
    "queued_for_review",
    "rejected",
    "rejections",
}
COUNT_KEYS = REPORT_KEYS - {"rejections"}
DEFAULT_SOURCE = "school-census"
PERSISTENT_TABLES = ("children", "source_records", "blind_index")


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (
            f"contactpoint {' '.join(self.args)} -> exit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def clean_environment() -> dict[str, str]:
    """The test runner's environment without any ContactPoint settings of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTPOINT_")}
    # Wide, plain output: messages are not wrapped mid-phrase or coloured.
    env.update({"COLUMNS": "1000", "NO_COLOR": "1", "TERM": "dumb"})
    return env


def assert_no_traceback(result: Result) -> None:
    assert TRACEBACK not in result.output, result.describe()
    assert "Internal error" not in result.output, result.describe()


@dataclass
class Installation:
    """One ContactPoint installation: a data directory and its database."""

    home: Path
    backend: str
    database_url: str | None = None
    workdir: Path = field(init=False)
    calls: list[Result] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = self.home.parent / f"{self.home.name}-work"
        self.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = clean_environment()
        env["CONTACTPOINT_HOME"] = str(self.home)
        if self.database_url is not None:
            env["CONTACTPOINT_DATABASE_URL"] = self.database_url
        return env

    @property
    def key_file(self) -> Path:
        return self.home / "keys" / "keyring.json"

    @property
    def sqlite_file(self) -> Path:
        return self.home / "contactpoint.db"

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        completed = subprocess.run(
            [str(CONTACTPOINT), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self.env,
            cwd=self.workdir,
            timeout=timeout,
            check=False,
        )
        result = Result(tuple(args), completed.returncode, completed.stdout, completed.stderr)
        self.calls.append(result)
        assert_no_traceback(result)
        return result

    def ok(self, *args: str, stdin: str | None = None) -> Result:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, result.describe()
        return result

    def init(self) -> Result:
        return self.ok("init")

    def ingest(
        self, feed: Path, source: str = DEFAULT_SOURCE, *, expect_ok: bool = True
    ) -> tuple[Result, dict[str, Any]]:
        report = self.workdir / f"report-{len(self.calls)}.json"
        result = self.run("ingest", "--source", source, str(feed), "--report", str(report))
        if not expect_ok:
            return result, {}
        assert result.returncode == 0, result.describe()
        return result, json.loads(report.read_text(encoding="utf-8"))

    def export_csv(self) -> str:
        out = self.workdir / f"linkage-{len(self.calls)}.csv"
        self.ok("linkage", "export", "--out", str(out))
        return out.read_text(encoding="utf-8")

    def export(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.export_csv())))

    def stored_ids(self) -> set[str]:
        return {row["source_record_id"] for row in self.export()}

    def snapshot(self) -> str:
        """A logical dump of the whole database, to show a command changed nothing."""
        if self.backend == "sqlite":
            connection = sqlite3.connect(self.sqlite_file)
            try:
                return "\n".join(connection.iterdump())
            finally:
                connection.close()
        return pg_dump(self.database_url_for_pg_dump(), "--inserts")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the database directly (as an attacker or an auditor with access could)."""
        if self.backend == "sqlite":
            connection = sqlite3.connect(self.sqlite_file)
            try:
                return [tuple(row) for row in connection.execute(sql).fetchall()]
            finally:
                connection.close()
        with psycopg.connect(self.database_url_for_pg_dump()) as connection:
            return [tuple(row) for row in connection.execute(sql.encode()).fetchall()]

    def table_rows(self, tables: Sequence[str] = PERSISTENT_TABLES) -> str:
        """The rows of the named tables as text: equal text means nothing in them changed."""
        return "\n".join(
            f"{table}: {sorted(self.query(f'SELECT * FROM {table}'), key=repr)!r}"
            for table in tables
        )

    def source_record_ids(self) -> set[str]:
        return {row[0] for row in self.query("SELECT source_record_id FROM source_records")}

    def database_url_for_pg_dump(self) -> str:
        assert self.database_url is not None
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def audit_rows(self) -> int:
        return int(self.query("SELECT count(*) FROM audit_log")[0][0])


PG_DUMP = "/usr/bin/pg_dump"


def pg_dump(url: str, *options: str) -> str:
    completed = subprocess.run(
        [PG_DUMP, "--no-owner", *options, "--dbname", url],
        capture_output=True,
        check=True,
        timeout=120,
    )
    # pg_dump 15.14+ fences its output with a random \\restrict key: not content.
    return "\n".join(
        row
        for row in completed.stdout.decode("utf-8").splitlines()
        if not row.startswith(("\\restrict ", "\\unrestrict "))
    )


# --- feed lines ----------------------------------------------------------------


def child(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "given_names": "Amelia Rose",
        "family_name": "Featherstonehaugh",
        "date_of_birth": "2014-03-07",
        "gender": "female",
        "nhs_number": "9434765919",
        "address": {"lines": ["12 High Street"], "town": "Leeds", "postcode": "LS1 4AB"},
    }
    value.update(overrides)
    return value


_GIVEN = ("Amelia", "Oliver", "Isla", "Noah", "Freya", "Theo", "Zara", "Kwame", "Mei", "Tomasz")
_SYLLABLE = ("ba", "ke", "di", "mo", "lu", "ra", "se", "ti", "vo", "nu")


def distinct_child(n: int, **overrides: Any) -> dict[str, Any]:
    """Child ``n`` of a set that no matcher should take for one another.

    Given name, family name and date of birth all vary with ``n`` and no
    postcode is shared, so no two agree on enough to be linked or queued.
    """
    born = date(2009, 1, 1) + timedelta(days=37 * (n % 100) + n // 100)
    family = "".join(_SYLLABLE[int(d)] for d in f"{n:04d}").capitalize()
    values: dict[str, Any] = {
        "given_names": _GIVEN[n % len(_GIVEN)],
        "family_name": family,
        "date_of_birth": born.isoformat(),
        "nhs_number": nhs_number(n),
        "address": None,
    }
    values.update(overrides)
    return child(**values)


def line(source_record_id: str, child_value: dict[str, Any] | None = None, **extra: Any) -> str:
    value: dict[str, Any] = {
        "source_record_id": source_record_id,
        "child": child_value if child_value is not None else child(),
    }
    value.update(extra)
    return json.dumps(value, ensure_ascii=False)


def end_line(source_record_id: str) -> str:
    return json.dumps({"source_record_id": source_record_id, "action": "end"})


def write_feed(path: Path, lines: Iterable[str | bytes], *, final_newline: bool = True) -> Path:
    encoded = [ln.encode("utf-8") if isinstance(ln, str) else ln for ln in lines]
    data = b"\n".join(encoded) + (b"\n" if final_newline and encoded else b"")
    path.write_bytes(data)
    return path


def rejection_reasons(report: dict[str, Any]) -> dict[int, str]:
    return {r["line"]: r["reason"] for r in report["rejections"]}


def counts(report: dict[str, Any]) -> dict[str, int]:
    return {key: report[key] for key in sorted(COUNT_KEYS)}


def nhs_number(n: int) -> str:
    """A distinct valid NHS number for each n (a leading 9, then n, then the check digit)."""
    weights = (10, 9, 8, 7, 6, 5, 4, 3, 2)
    for last in range(10):
        first_nine = f"9{n:07d}{last}"
        remainder = 11 - sum(int(d) * w for d, w in zip(first_nine, weights, strict=True)) % 11
        if remainder != 10:
            return first_nine + str(0 if remainder == 11 else remainder)
    raise AssertionError(f"no valid NHS number for {n}")  # pragma: no cover


# --- installations and their templates ------------------------------------------------

BACKENDS = ("sqlite", "postgresql")
NHS_A = "9434765919"
NHS_B = "4010232137"


def make_installation(
    backend: str, base: Path, request: pytest.FixtureRequest, name: str = "home"
) -> Installation:
    if backend == "sqlite":
        return Installation(base / name, "sqlite")
    databases = request.getfixturevalue("pg_databases")
    return Installation(base / name, "postgresql", databases.create())


def build_initialised(install: Installation) -> None:
    install.init()


def build_with_data(install: Installation) -> None:
    """Two children already held: SC-0001 (NHS_A) and SC-0002 (NHS_B)."""
    install.init()
    feed = write_feed(
        install.workdir / "first.jsonl",
        [
            line("SC-0001", child(nhs_number=NHS_A)),
            line("SC-0002", child(nhs_number=NHS_B, given_names="Oliver", gender="male")),
        ],
    )
    _, report = install.ingest(feed)
    assert report["created"] == 2


def good_lines() -> list[str]:
    """Three children from one source; one of them is also described by a second record."""
    return [
        line("SC-0001", child(nhs_number=NHS_A)),
        line(
            "SC-0002",
            child(
                given_names="Oliver",
                family_name="Okafor",
                date_of_birth="2012-11-30",
                gender="male",
                nhs_number=NHS_B,
                address={"lines": ["3 Mill Lane"], "town": "Bristol", "postcode": "BS7 8AA"},
            ),
            carers=[{"name": "Ngozi Okafor", "relationship": "mother", "phone": "0117 496 0000"}],
            services=[
                {
                    "type": "school",
                    "organisation": "Bristol Park Primary",
                    "start_date": "2017-09-01",
                }
            ],
        ),
        line(
            "SC-0003",
            child(
                given_names="Isla",
                family_name="Nowak",
                date_of_birth="2019-01-15",
                nhs_number=None,
                address=None,
                no_fixed_abode=True,
            ),
        ),
        # Another record about SC-0001's child (a GP registration, say): linked, not created.
        line(
            "GP-0001",
            child(nhs_number=NHS_A, address=None),
            services=[{"type": "gp", "organisation": "Leeds Central Surgery"}],
        ),
    ]


def build_with_good_data(install: Installation) -> None:
    """The four records of :func:`good_lines`: SC-0001..3 and GP-0001 (linked to SC-0001)."""
    install.init()
    _, report = install.ingest(write_feed(install.workdir / "good.jsonl", good_lines()))
    assert (report["created"], report["linked"]) == (3, 1)


def build_workload(install: Installation) -> None:
    """A mixed workload: every command that writes to the audit log."""
    install.init()
    install.init()
    first = write_feed(
        install.workdir / "first.jsonl",
        [line("SC-0001"), line("SC-0002", child(given_names="Oliver", nhs_number=None))],
    )
    install.ingest(first)
    install.ingest(first)
    install.ok(
        "users",
        "add",
        "--username",
        "amelia.patel",
        "--role",
        "practitioner",
        "--organisation",
        "Leeds Park Primary School",
        stdin="correct horse battery staple\n",
    )
    install.ok("keys", "rotate")
    _, report = install.ingest(write_feed(install.workdir / "second.jsonl", [line("GP-0001")]))
    assert report["linked"] == 1
    install.export()


BUILDERS = {
    "initialised": build_initialised,
    "with-data": build_with_data,
    "with-good-data": build_with_good_data,
    "workload": build_workload,
}


class Templates:
    """Installations built once per test process, then copied for each test.

    Copying (the data directory; for PostgreSQL ``CREATE DATABASE ... TEMPLATE``)
    takes milliseconds where building takes several command runs.
    """

    def __init__(self, base: Path, request: pytest.FixtureRequest) -> None:
        self._base = base
        self._request = request
        self._built: dict[tuple[str, str], Installation] = {}

    def get(self, kind: str, backend: str) -> Installation:
        key = (kind, backend)
        if key not in self._built:
            install = make_installation(backend, self._base, self._request, f"{kind}-{backend}")
            BUILDERS[kind](install)
            self._built[key] = install
        return self._built[key]

    def copy(self, kind: str, backend: str, base: Path, name: str = "home") -> Installation:
        template = self.get(kind, backend)
        home = base / name
        shutil.copytree(template.home, home)
        if backend == "sqlite":
            return Installation(home, "sqlite")
        databases = self._request.getfixturevalue("pg_databases")
        assert template.database_url is not None
        source = make_url(template.database_url)
        target = f"cp_test_{secrets.token_hex(6)}"
        admin_url = source.set(drivername="postgresql", database="postgres")
        with psycopg.connect(admin_url.render_as_string(hide_password=False)) as admin:
            admin.autocommit = True
            for attempt in range(50):
                try:
                    admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source.database}"')
                    break
                except psycopg.errors.ObjectInUse:
                    # The last command's backend may still be closing.
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
        databases.created.append(target)
        return Installation(
            home, "postgresql", source.set(database=target).render_as_string(hide_password=False)
        )


@pytest.fixture(scope="session")
def templates(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Templates:
    return Templates(tmp_path_factory.mktemp("templates"), request)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def install(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Installation:
    """A not-yet-initialised installation on each backend."""
    return make_installation(backend, tmp_path, request)


@pytest.fixture
def initialised(backend: str, tmp_path: Path, templates: Templates) -> Installation:
    return templates.copy("initialised", backend, tmp_path)


@pytest.fixture
def with_data(backend: str, tmp_path: Path, templates: Templates) -> Installation:
    return templates.copy("with-data", backend, tmp_path)


@pytest.fixture
def with_good_data(backend: str, tmp_path: Path, templates: Templates) -> Installation:
    return templates.copy("with-good-data", backend, tmp_path)


@pytest.fixture
def sqlite_install(tmp_path: Path) -> Installation:
    return Installation(tmp_path / "home", "sqlite")


@pytest.fixture
def sqlite_initialised(tmp_path: Path, templates: Templates) -> Installation:
    return templates.copy("initialised", "sqlite", tmp_path)


@pytest.fixture
def sqlite_with_data(tmp_path: Path, templates: Templates) -> Installation:
    return templates.copy("with-data", "sqlite", tmp_path)


@pytest.fixture
def pg_initialised(tmp_path: Path, templates: Templates) -> Installation:
    return templates.copy("initialised", "postgresql", tmp_path)


@pytest.fixture(scope="session")
def other_keyring(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The keyring of another installation (made by its own ``contactpoint init``)."""
    other = Installation(tmp_path_factory.mktemp("other") / "home", "sqlite")
    other.init()
    return other.key_file.read_bytes()

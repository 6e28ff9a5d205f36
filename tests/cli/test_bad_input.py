"""Bad feed lines: each rejected whole with a clear reason, the lines around it go on.

One feed file holds every kind of bad line, each after a good line, and is
ingested once per database; the tests then look at what happened to each line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    BACKENDS,
    Installation,
    Result,
    Templates,
    child,
    distinct_child,
    line,
    nhs_number,
    rejection_reasons,
    write_feed,
)

TEN_MB = 10 * 1024 * 1024
BAD_NHS_NUMBER = "9434765918"  # 9434765919 with the wrong check digit


@dataclass(frozen=True)
class Bad:
    name: str
    content: bytes
    expect: tuple[str, ...]
    """Substrings the rejection reason must contain (case-insensitive)."""
    secret: str | None = None
    """A value on the line that must not be repeated in the report or the output."""


def _bad_line(srid: str, **child_overrides: Any) -> bytes:
    return line(srid, child(**child_overrides)).encode("utf-8")


BAD_LINES = (
    Bad(
        "malformed-json",
        b'{"source_record_id": "BAD-MALFORMED", "child": {"given_names": "Ann",, }}',
        ("not valid json",),
    ),
    Bad(
        "not-an-object",
        b'["BAD-ARRAY", {"given_names": "Ann"}]',
        ("not a json object",),
    ),
    Bad(
        "ten-megabyte-line",
        b'{"source_record_id": "BAD-HUGE", "child": {"given_names": "'
        + b"A" * TEN_MB
        + b'", "family_name": "Huge", "date_of_birth": "2014-03-07", "gender": "female"}}',
        ("bytes", "over the limit"),
    ),
    Bad(
        "date-as-number",
        _bad_line("BAD-DOB-TYPE", date_of_birth=20140307),
        ("child.date_of_birth", "valid date"),
    ),
    Bad(
        "name-as-number",
        _bad_line("BAD-NAME-TYPE", given_names=42),
        ("child.given_names", "valid string"),
    ),
    Bad(
        "boolean-as-string",
        _bad_line("BAD-BOOL-TYPE", no_fixed_abode="yes", address=None),
        ("child.no_fixed_abode", "boolean"),
    ),
    Bad(
        "services-as-object",
        line(
            "BAD-SERVICES-TYPE",
            child(),
            services={"type": "school", "organisation": "Leeds Park Primary"},
        ).encode("utf-8"),
        ("services", "array"),
    ),
    Bad(
        "gender-not-in-vocabulary",
        _bad_line("BAD-GENDER", gender="F"),
        ("child.gender", "female", "male"),
    ),
    Bad(
        "unknown-top-level-key",
        line("BAD-UNKNOWN-TOP", child(), favourite_colour="blue").encode("utf-8"),
        ("favourite_colour", "not a field"),
    ),
    Bad(
        "unknown-nested-key",
        _bad_line(
            "BAD-UNKNOWN-NESTED",
            address={"lines": ["1 Mill Lane"], "county": "West Yorkshire", "postcode": "LS1 4AB"},
        ),
        ("child.address.county", "not a field"),
    ),
    Bad(
        "invalid-nhs-number",
        _bad_line("BAD-NHS", nhs_number=BAD_NHS_NUMBER),
        ("child.nhs_number", "not a valid nhs number", "check digit"),
        secret=BAD_NHS_NUMBER,
    ),
    Bad(
        "future-date-of-birth",
        _bad_line("BAD-FUTURE", date_of_birth="2099-04-01"),
        ("child.date_of_birth", "future"),
        secret="2099-04-01",
    ),
    Bad(
        "malformed-postcode",
        _bad_line("BAD-POSTCODE", address={"lines": [], "postcode": "ZZ99 9ZZZ"}),
        ("child.address.postcode", "postcode"),
        secret="ZZ99 9ZZZ",
    ),
    Bad(
        "child-photo",
        _bad_line("BAD-PHOTO", photo="data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"),
        ("child.photo", "photograph", "never"),
        secret="/9j/4AAQSkZJRgABAQ",
    ),
    Bad(
        "child-phone",
        _bad_line("BAD-PHONE", phone="07700 900123"),
        ("child.phone", "telephone", "never"),
        secret="07700 900123",
    ),
    Bad(
        "child-photo-and-phone-among-other-errors",
        _bad_line("BAD-PHOTO-2", mobile="07700 900456", image="x.jpg", gender="F"),
        ("telephone", "photograph", "never"),
        secret="07700 900456",
    ),
    Bad(
        "control-character-in-name",
        _bad_line("BAD-CONTROL", family_name="Smith\u0007"),
        ("child.family_name", "control characters"),
    ),
    Bad(
        "not-utf8",
        b'{"source_record_id": "BAD-LATIN1", "child": {"given_names": "Zo\xeb", '
        b'"family_name": "Smith", "date_of_birth": "2014-03-07", "gender": "female"}}',
        ("not valid json",),
    ),
    Bad(
        "upsert-without-child",
        b'{"source_record_id": "BAD-NO-CHILD"}',
        ("child",),
    ),
    Bad(
        "missing-required-field",
        json.dumps(
            {
                "source_record_id": "BAD-MISSING",
                "child": {"given_names": "Ann", "family_name": "Lee", "gender": "female"},
            }
        ).encode("utf-8"),
        ("child.date_of_birth", "required"),
    ),
    Bad(
        "end-of-a-record-never-sent",
        b'{"source_record_id": "BAD-END", "action": "end"}',
        ("never sent", "BAD-END"),
    ),
)
TRUNCATED = Bad(
    "truncated-last-line",
    b'{"source_record_id": "BAD-TRUNCATED", "child": {"given_names": "Amel',
    ("truncated",),
)
ALL_BAD = (*BAD_LINES, TRUNCATED)


@dataclass
class MixedIngest:
    install: Installation
    result: Result
    report: dict[str, Any]
    stored: set[str]
    good_ids: list[str]
    line_of: dict[str, int]
    """Bad case name -> its line number in the file."""


def build_mixed_feed(path: Path) -> tuple[list[str], dict[str, int]]:
    """Good line, bad line, good line, bad line, ... and the truncated line last."""
    contents: list[bytes] = []
    good_ids: list[str] = []
    line_of: dict[str, int] = {}
    for number, bad in enumerate(ALL_BAD):
        srid = f"GOOD-{number:03d}"
        good_ids.append(srid)
        contents.append(line(srid, distinct_child(number)).encode("utf-8"))
        contents.append(bad.content)
        line_of[bad.name] = len(contents)
    assert ALL_BAD[-1] is TRUNCATED
    write_feed(path, contents, final_newline=False)
    return good_ids, line_of


@pytest.fixture(scope="module", params=BACKENDS)
def mixed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    templates: Templates,
) -> MixedIngest:
    base = tmp_path_factory.mktemp(f"mixed-{request.param}")
    install = templates.copy("initialised", request.param, base)
    feed = base / "mixed.jsonl"
    good_ids, line_of = build_mixed_feed(feed)
    result, report = install.ingest(feed)
    return MixedIngest(install, result, report, install.stored_ids(), good_ids, line_of)


@pytest.mark.parametrize("bad", ALL_BAD, ids=lambda b: b.name)
def test_bad_line_is_rejected_with_a_clear_reason(mixed: MixedIngest, bad: Bad) -> None:
    reasons = rejection_reasons(mixed.report)
    number = mixed.line_of[bad.name]
    assert number in reasons, f"line {number} ({bad.name}) was not rejected: {mixed.report}"
    reason = reasons[number].lower()
    for expected in bad.expect:
        assert expected.lower() in reason, f"{bad.name}: {reasons[number]!r} lacks {expected!r}"


@pytest.mark.parametrize("bad", ALL_BAD, ids=lambda b: b.name)
def test_nothing_of_a_bad_line_is_stored(mixed: MixedIngest, bad: Bad) -> None:
    assert not {srid for srid in mixed.stored if srid.startswith("BAD-")}
    # The good line just before each bad line was stored: the file went on.
    number = mixed.line_of[bad.name]
    assert mixed.good_ids[(number - 2) // 2] in mixed.stored


def test_good_lines_around_bad_lines_all_go_in(mixed: MixedIngest) -> None:
    assert mixed.result.returncode == 0
    assert mixed.stored == set(mixed.good_ids)
    assert mixed.report["accepted"] == len(mixed.good_ids)
    assert mixed.report["created"] == len(mixed.good_ids)
    assert mixed.report["rejected"] == len(ALL_BAD)
    assert [r["line"] for r in mixed.report["rejections"]] == sorted(mixed.line_of.values())
    assert f"rejected {len(ALL_BAD)}" in mixed.result.stdout


@pytest.mark.parametrize("bad", [b for b in ALL_BAD if b.secret], ids=lambda b: b.name)
def test_reasons_do_not_repeat_the_rejected_value(mixed: MixedIngest, bad: Bad) -> None:
    """Reports get shared: a reason names the field, never the (personal) value."""
    assert bad.secret is not None
    assert bad.secret not in json.dumps(mixed.report, ensure_ascii=False)
    assert bad.secret not in mixed.result.output


def test_huge_line_does_not_cost_the_memory_of_the_process(mixed: MixedIngest) -> None:
    # Nothing to measure from outside but the outcome: a clear rejection, and the
    # good line right after it (the next case's good line) still went in.
    number = mixed.line_of["ten-megabyte-line"]
    assert f"{TEN_MB:,}"[:4] in rejection_reasons(mixed.report)[number]
    assert mixed.good_ids[(number + 1) // 2] in mixed.stored


# --- unusual but valid names ---------------------------------------------------------

SQL_LOOKING_NAMES = (
    "Robert'); DROP TABLE children;--",
    "x' OR '1'='1",
    '"; DELETE FROM source_records; --',
    "O'Brien-Smith",
    "100% _underscore_ \\backslash",
)
NON_LATIN_AND_DIACRITIC_NAMES = (
    "李小龍",
    "Алёна Шевченко",
    "محمد",
    "Ελένη",
    "नेहा",
    "Zoë Siobhán",
    "Zoe\u0308 Nun\u0303ez",  # decomposed (NFD) diacritics
    "Łucja Żółć",
    "Ó Súilleabháin",
)


def _name_lines() -> list[str]:
    lines = []
    for number, name in enumerate(SQL_LOOKING_NAMES + NON_LATIN_AND_DIACRITIC_NAMES):
        lines.append(
            line(
                f"NAME-{number:03d}",
                child(
                    given_names=name,
                    family_name=name,
                    preferred_name=name,
                    former_family_names=[name],
                    nhs_number=nhs_number(1000 + number),
                    date_of_birth=(date(2009, 1, 1) + timedelta(days=37 * number)).isoformat(),
                ),
                carers=[{"name": name, "relationship": "mother"}],
            )
        )
    return lines


def test_sql_looking_and_non_latin_names_are_accepted(initialised: Installation) -> None:
    install = initialised
    lines = _name_lines()
    feed = write_feed(install.workdir / "names.jsonl", lines)

    _, report = install.ingest(feed)

    assert report["rejections"] == []
    assert report["accepted"] == report["created"] == len(lines)

    # The tables are all still there, and a later ingest still works.
    tables = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if install.backend == "sqlite"
        else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    assert {"children", "source_records", "blind_index", "users", "audit_log"} <= {
        row[0] for row in install.query(tables)
    }
    later = write_feed(install.workdir / "later.jsonl", [line("LATER-1")])
    _, later_report = install.ingest(later)
    assert later_report["created"] == 1
    assert install.stored_ids() == {f"NAME-{n:03d}" for n in range(len(lines))} | {"LATER-1"}

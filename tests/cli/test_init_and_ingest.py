"""``contactpoint init`` and ``contactpoint ingest`` on good files, end to end."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import (
    COUNT_KEYS,
    NHS_A,
    REPORT_KEYS,
    Installation,
    child,
    counts,
    end_line,
    good_lines,
    line,
    nhs_number,
    write_feed,
)

NHS_C = nhs_number(123456)


def test_init_is_idempotent(install: Installation) -> None:
    first = install.init()
    assert "Created a new keyring" in first.stdout
    assert "Ready" in first.stdout
    keyring = install.key_file.read_bytes()
    assert install.key_file.stat().st_mode & 0o777 == 0o600
    tables = install.table_rows(("alembic_version", "data_keys", "users"))

    second = install.init()
    assert "Created a new keyring" not in second.output
    assert "Ready" in second.stdout
    assert install.key_file.read_bytes() == keyring
    assert install.table_rows(("alembic_version", "data_keys", "users")) == tables

    # And again over data: nothing the ingest stored is touched.
    _, report = install.ingest(write_feed(install.workdir / "good.jsonl", good_lines()))
    assert report["created"] == 3
    before = install.table_rows()
    install.init()
    assert install.key_file.read_bytes() == keyring
    assert install.table_rows() == before


def test_ingest_before_init_says_to_run_init(sqlite_install: Installation) -> None:
    feed = write_feed(sqlite_install.workdir / "good.jsonl", good_lines())
    result, _ = sqlite_install.ingest(feed, expect_ok=False)
    assert result.returncode != 0
    assert "contactpoint init" in result.stderr


def test_good_file_gives_the_contract_report(initialised: Installation) -> None:
    install = initialised
    feed = write_feed(install.workdir / "good.jsonl", good_lines())

    result, report = install.ingest(feed)

    assert set(report) >= REPORT_KEYS, f"report lacks {REPORT_KEYS - set(report)}"
    for key in COUNT_KEYS:
        assert isinstance(report[key], int), key
    assert report["rejections"] == []
    assert counts(report) == {
        "accepted": 4,
        "created": 3,
        "linked": 1,
        "updated": 0,
        "ended": 0,
        "queued_for_review": 0,
        "rejected": 0,
    }
    assert "accepted 4" in result.stdout
    assert "rejected 0" in result.stdout

    rows = install.export()
    assert {(r["source"], r["source_record_id"]) for r in rows} == {
        ("school-census", "SC-0001"),
        ("school-census", "SC-0002"),
        ("school-census", "SC-0003"),
        ("school-census", "GP-0001"),
    }
    child_of = {r["source_record_id"]: r["child_id"] for r in rows}
    assert child_of["GP-0001"] == child_of["SC-0001"]
    assert len({child_of["SC-0001"], child_of["SC-0002"], child_of["SC-0003"]}) == 3


def test_reingesting_the_same_file_changes_nothing(with_good_data: Installation) -> None:
    install = with_good_data
    feed = write_feed(install.workdir / "good.jsonl", good_lines())
    rows_before = install.table_rows()
    export_before = install.export_csv()

    _, report = install.ingest(feed)

    assert counts(report) == {
        "accepted": 4,
        "created": 0,
        "linked": 0,
        "updated": 0,
        "ended": 0,
        "queued_for_review": 0,
        "rejected": 0,
    }
    assert report["unchanged"] == 4
    assert install.table_rows() == rows_before
    assert install.export_csv() == export_before
    assert export_before.count("\n") == 5  # header and the four records


def test_updates_and_ends_then_their_reingest_is_a_no_op(with_good_data: Installation) -> None:
    install = with_good_data

    moved = child(
        nhs_number=NHS_A,
        address={"lines": ["1 New Road"], "town": "Leeds", "postcode": "LS6 2AA"},
    )
    changes = write_feed(
        install.workdir / "changes.jsonl", [line("SC-0001", moved), end_line("SC-0003")]
    )
    _, report = install.ingest(changes)
    assert counts(report) == {
        "accepted": 2,
        "created": 0,
        "linked": 0,
        "updated": 1,
        "ended": 1,
        "queued_for_review": 0,
        "rejected": 0,
    }
    rows_after_changes = install.table_rows()

    _, again = install.ingest(changes)
    assert again["unchanged"] == 2
    assert again["updated"] == again["ended"] == again["created"] == 0
    assert install.table_rows() == rows_after_changes
    # An ended record is still listed (linkage is about what was ever linked).
    assert {r["source_record_id"] for r in install.export()} == {
        "SC-0001",
        "SC-0002",
        "SC-0003",
        "GP-0001",
    }


def test_reingesting_a_file_with_a_record_sent_then_ended_changes_nothing(
    sqlite_initialised: Installation,
) -> None:
    install = sqlite_initialised
    feed = write_feed(
        install.workdir / "send-then-end.jsonl",
        [
            line("SC-0001", child(nhs_number=NHS_A)),
            line("SC-0002", child(given_names="Oliver", nhs_number=NHS_C)),
            line("SC-0002", child(given_names="Oliver James", nhs_number=NHS_C)),
            end_line("SC-0001"),
        ],
    )
    install.ingest(feed)
    rows_before = install.table_rows()

    _, report = install.ingest(feed)

    assert report["unchanged"] == report["accepted"] == 4
    assert install.table_rows() == rows_before


def test_empty_file_is_processed_with_zero_counts(sqlite_initialised: Installation) -> None:
    sqlite_install = sqlite_initialised
    empty = sqlite_install.workdir / "empty.jsonl"
    empty.write_bytes(b"")

    result, report = sqlite_install.ingest(empty)

    assert result.returncode == 0
    assert all(report[key] == 0 for key in COUNT_KEYS), report
    assert report["rejections"] == []
    assert sqlite_install.source_record_ids() == set()


def test_blank_lines_are_neither_accepted_nor_rejected(sqlite_initialised: Installation) -> None:
    sqlite_install = sqlite_initialised
    feed = write_feed(sqlite_install.workdir / "blank.jsonl", ["", line("SC-0001"), "   ", ""])

    _, report = sqlite_install.ingest(feed)

    assert report["accepted"] == 1
    assert report["rejected"] == 0
    assert sqlite_install.source_record_ids() == {"SC-0001"}


def test_missing_file_is_a_clear_error(sqlite_initialised: Installation) -> None:
    sqlite_install = sqlite_initialised
    missing = sqlite_install.workdir / "no-such-dir" / "feed-2026-11-24.jsonl"
    report = sqlite_install.workdir / "report.json"

    result = sqlite_install.run(
        "ingest", "--source", "school-census", str(missing), "--report", str(report)
    )

    assert result.returncode != 0
    assert str(missing) in result.stderr
    assert not report.exists()
    assert sqlite_install.source_record_ids() == set()


def test_directory_instead_of_a_file_is_a_clear_error(sqlite_initialised: Installation) -> None:
    sqlite_install = sqlite_initialised
    directory = sqlite_install.workdir / "feeds"
    directory.mkdir()

    result = sqlite_install.run("ingest", "--source", "school-census", str(directory))

    assert result.returncode != 0
    assert str(directory) in result.stderr
    assert "not a file" in result.stderr
    assert sqlite_install.source_record_ids() == set()


@pytest.mark.parametrize("source", ["School Census", "census;drop", "", "x" * 65])
def test_bad_source_name_is_refused(sqlite_initialised: Installation, source: str) -> None:
    sqlite_install = sqlite_initialised
    feed = write_feed(sqlite_install.workdir / "good.jsonl", good_lines())

    result, _ = sqlite_install.ingest(feed, source=source, expect_ok=False)

    assert result.returncode != 0
    assert "source name" in result.stderr
    assert sqlite_install.source_record_ids() == set()


def test_report_is_valid_json_even_with_many_rejections(sqlite_initialised: Installation) -> None:
    sqlite_install = sqlite_initialised
    feed = write_feed(
        sqlite_install.workdir / "many.jsonl",
        [line(f"SC-{n:04d}", child(nhs_number="1234567890")) for n in range(25)]
        + [line("SC-9999")],
    )

    result, report = sqlite_install.ingest(feed)

    assert report["rejected"] == 25
    assert [r["line"] for r in report["rejections"]] == list(range(1, 26))
    assert report["accepted"] == 1
    assert "and 15 more" in result.stdout
    assert json.loads(json.dumps(report)) == report
    assert sqlite_install.source_record_ids() == {"SC-9999"}

"""A batch's candidates read ahead, outside the identity lock, give the decisions a
read under the lock gives: brought up to date with this ingest's own batches written
since, and read again when another writer came between.

The read ahead is made on a second connection, so these tests need committed
databases of their own (``CommittedIndex``), on PostgreSQL.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from contactpoint.audit.trail import Actor
from contactpoint.feeds.reader import read_lines
from contactpoint.services.ingest import FeedIngestor, LinePreparation, PreparedLine, Work
from contactpoint.store.tables import ReviewItem
from contactpoint.synth import write_synthetic_feeds
from contactpoint.vault.keyring import Keyring
from tests.conftest import PgDatabases
from tests.feeds.lines import dumps, line
from tests.services.committed_index import CommittedIndex

SOURCES = ("nhs-pds", "child-benefit", "school-census", "local-authority")


def child(srid: str, given: str, family: str, born: str, postcode: str) -> dict[str, Any]:
    return line(
        _source_record_id=srid,
        given_names=given,
        family_name=family,
        former_family_names=[],
        preferred_name=None,
        date_of_birth=born,
        nhs_number=None,
        upn=None,
        address={"lines": ["3 Mill Lane"], "town": "York", "postcode": postcode},
    )


SETUP = [child("S3", "Lily", "Jones", "2013-02-02", "YO1 7HH")]
FIRST = [
    child("S1", "Noah", "Brown", "2016-05-05", "YO10 3DD"),
    child("S3", "Lily", "Evans", "2013-04-04", "LS6 2AA"),
]
"""A new child, and the setup's only record changed: its old tokens are gone."""
SECOND = [
    child("P1", "Noah", "Brown", "2016-05-05", "YO10 3DD"),
    child("P3", "Lily", "Evans", "2013-04-04", "LS6 2AA"),
    child("P4", "Lily", "Jones", "2013-02-02", "YO1 7HH"),
]
"""Each line is decided by what the first batch wrote: the first two find a child only
through it, and the last finds none once it is written (it had the changed record's
old name, date of birth and postcode)."""


def prepared(index: CommittedIndex, source: str, lines: list[dict[str, Any]]) -> list[PreparedLine]:
    preparation = LinePreparation(index.vault, index.tools.indexer, index.tools.digester)
    done = preparation.chunk(
        source, list(read_lines(io.BytesIO(dumps(*lines)))), date(2026, 6, 1), work=Work.ENCRYPT
    )
    assert all(isinstance(item, PreparedLine) for item in done)
    return [item for item in done if isinstance(item, PreparedLine)]


def ingest_file(
    ingestor: FeedIngestor, source: str, lines: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / f"{source}-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_bytes(dumps(*lines))
    assert not ingestor.ingest(source, path).rejections


@pytest.fixture
def serial(
    pg_databases: PgDatabases,
    fresh_engines: list[Engine],
    keyring: Keyring,
    actor: Actor,
    tmp_path: Path,
) -> CommittedIndex:
    """The index each batch makes when read under the identity lock, in turn."""
    index = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    ingestor = index.ingestor(helper=False, read_ahead=False)
    for source, lines in (("school-census", SETUP), ("school-census", FIRST), ("nhs-pds", SECOND)):
        ingest_file(ingestor, source, lines, tmp_path)
    return index


def together(index: CommittedIndex, *srids: str) -> bool:
    groups = [{srid for _, srid in group} for group in index.partition()]
    return any(set(srids) <= group for group in groups)


@pytest.fixture
def index(
    pg_databases: PgDatabases,
    fresh_engines: list[Engine],
    keyring: Keyring,
    actor: Actor,
    tmp_path: Path,
) -> CommittedIndex:
    """An index holding the setup's record, for the batches to be read and written into."""
    made = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    ingest_file(made.ingestor(helper=False), "school-census", SETUP, tmp_path)
    return made


def test_a_read_made_before_the_batch_before_it_is_brought_up_to_date(
    index: CommittedIndex, serial: CommittedIndex
) -> None:
    ingestor = index.ingestor(helper=False)
    first = prepared(index, "school-census", FIRST)
    second = prepared(index, "nhs-pds", SECOND)

    read = ingestor.read_ahead("nhs-pds", second)
    ingestor.apply_batch("school-census", first)
    ingestor.apply_batch("nhs-pds", second, read)

    assert ingestor.reads == {"under_lock": 1, "brought_up_to_date": 1}
    assert index.partition() == serial.partition()
    assert together(serial, "S1", "P1")
    assert together(serial, "S3", "P3")
    assert not together(serial, "S3", "P4")


def test_a_read_brought_up_to_date_finds_what_a_read_made_now_finds(index: CommittedIndex) -> None:
    """Record by record and token by token, not only in the decisions they lead to: a
    token the changed record no longer holds must not still lead to its child."""
    ingestor = index.ingestor(helper=False)
    second = prepared(index, "nhs-pds", SECOND)
    stale = ingestor.read_ahead("nhs-pds", second)
    ingestor.apply_batch("school-census", prepared(index, "school-census", FIRST))
    now = ingestor.read_ahead("nhs-pds", second)
    assert stale is not None
    assert now is not None
    assert stale.child_of, "the read ahead found the record the first batch changes"

    changed = stale.apply(ingestor.written[-1:])

    def held(mapping: dict[Any, set[Any]]) -> dict[Any, set[Any]]:
        return {key: value for key, value in mapping.items() if value}

    assert held(stale.by_token) == held(now.by_token)
    assert held(stale.token_records) == held(now.token_records)
    assert held(stale.found_of_child) == held(now.found_of_child)
    assert stale.child_of == now.child_of
    assert {r: stale.features[r] for r in now.child_of} == {
        r: now.features[r] for r in now.child_of
    }
    assert len(changed) == 2


def test_a_read_another_writer_came_after_is_made_again(
    index: CommittedIndex, tmp_path: Path, serial: CommittedIndex
) -> None:
    ingestor = index.ingestor(helper=False)
    second = prepared(index, "nhs-pds", SECOND)

    read = ingestor.read_ahead("nhs-pds", second)
    ingest_file(index.ingestor(helper=False), "school-census", FIRST, tmp_path)
    ingestor.apply_batch("nhs-pds", second, read)

    assert ingestor.reads == {"read_again": 1}
    assert index.partition() == serial.partition()


def test_a_read_nothing_came_after_is_used_as_it_is(
    index: CommittedIndex, tmp_path: Path, serial: CommittedIndex
) -> None:
    ingest_file(index.ingestor(helper=False), "school-census", FIRST, tmp_path)
    ingestor = index.ingestor(helper=False)
    second = prepared(index, "nhs-pds", SECOND)

    ingestor.apply_batch("nhs-pds", second, ingestor.read_ahead("nhs-pds", second))

    assert ingestor.reads == {"current": 1}
    assert index.partition() == serial.partition()


def test_whole_feeds_read_ahead_build_the_index_reading_under_the_lock_builds(
    pg_databases: PgDatabases,
    fresh_engines: list[Engine],
    keyring: Keyring,
    actor: Actor,
    tmp_path: Path,
) -> None:
    write_synthetic_feeds(tmp_path, 400, seed=11, as_of=date(2026, 6, 1), workers=1)
    under_lock = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    ahead = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    outcomes: dict[str, int] = {}
    for source in SOURCES:
        path = tmp_path / f"{source}.jsonl"
        alone = under_lock.ingestor(helper=False, read_ahead=False).ingest(source, path)
        ingestor = ahead.ingestor(helper=False)
        report = ingestor.ingest(source, path)
        assert report.to_json() == alone.to_json()
        for outcome, count in ingestor.reads.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count

    assert ahead.partition() == under_lock.partition()
    assert ahead.count(ReviewItem) == under_lock.count(ReviewItem)
    assert outcomes.get("brought_up_to_date", 0) > 0
    assert "read_again" not in outcomes
    assert "under_lock" not in outcomes


def test_a_read_made_before_two_batches_is_brought_up_to_date_with_both(
    index: CommittedIndex, serial: CommittedIndex
) -> None:
    """Ingest reads ``READS_AHEAD`` batches ahead, so a read may have missed more than one
    of this ingest's batches: here the new child and the changed record come in two."""
    ingestor = index.ingestor(helper=False)
    new_child, changed = (prepared(index, "school-census", [one]) for one in FIRST)
    second = prepared(index, "nhs-pds", SECOND)

    read = ingestor.read_ahead("nhs-pds", second)
    ingestor.apply_batch("school-census", new_child)
    ingestor.apply_batch("school-census", changed)
    ingestor.apply_batch("nhs-pds", second, read)

    assert ingestor.reads == {"under_lock": 2, "brought_up_to_date": 1}
    assert index.partition() == serial.partition()

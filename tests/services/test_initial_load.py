"""The bulk initial load builds the index incremental ingest would have built."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.errors import ContactPointError
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import FeedIngestor
from contactpoint.services.initial_load import InitialLoader
from contactpoint.store.data_keys import SqlDataKeyStore
from contactpoint.store.tables import AuditEntry, ReviewItem
from contactpoint.synth import write_synthetic_feeds
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.services.helpers import links

SOURCES = ("nhs-pds", "child-benefit", "school-census", "local-authority")
Partition = set[frozenset[tuple[str, str]]]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("synthetic")
    write_synthetic_feeds(directory, 400, seed=11, as_of=date(2026, 6, 1), workers=1)
    return [(source, directory / f"{source}.jsonl") for source in SOURCES]


def partition(connection: Connection) -> Partition:
    groups: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for key, child_id in links(connection).items():
        groups[child_id].add(key)
    return {frozenset(group) for group in groups.values()}


class Parts:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        connection: Connection,
        keyring: Keyring,
        clock: FixedClock,
        actor: Actor,
    ) -> None:
        self.sessions = sessions
        self.connection = connection
        self.keyring = keyring
        self.clock = clock
        self.actor = actor
        self.linker = ProbabilisticLinker(load_model().for_population(400))

    def tools(self) -> FeedTools:
        return FeedTools(
            self.sessions,
            vault=Vault(self.keyring, SqlDataKeyStore(self.connection, self.clock)),
            indexer=BlindIndexer(self.keyring),
            digester=ContentDigester(self.keyring),
            linker=self.linker,
            clock=self.clock,
            audit_key=self.keyring.audit_key,
            actor=self.actor,
        )

    def loader(self, chunk: int = 300) -> InitialLoader:
        return InitialLoader(self.tools(), chunk=chunk)

    def ingestor(self) -> FeedIngestor:
        return FeedIngestor(self.tools())


@pytest.fixture
def parts(
    sessions: sessionmaker[Session],
    connection: Connection,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> Parts:
    return Parts(sessions, connection, keyring, clock, actor)


def test_bulk_load_links_exactly_as_incremental_ingest(
    parts: Parts, connection: Connection, feeds: list[tuple[str, Path]]
) -> None:
    incremental_transaction = connection.begin_nested()
    ingestor = parts.ingestor()
    for source, path in feeds:
        ingestor.ingest(source, path)
    incremental = partition(connection)
    incremental_reviews = connection.execute(
        select(func.count()).select_from(ReviewItem)
    ).scalar_one()
    incremental_transaction.rollback()

    report = parts.loader().load(feeds)

    assert partition(connection) == incremental
    assert report.records == sum(len(group) for group in incremental)
    assert report.children == len(incremental)
    reviews = connection.execute(select(func.count()).select_from(ReviewItem)).scalar_one()
    assert reviews == incremental_reviews
    assert sum(r.counts.queued_for_review for r in report.feeds) == reviews


def test_loaded_files_are_not_applied_again(
    parts: Parts, connection: Connection, feeds: list[tuple[str, Path]], session: Session
) -> None:
    parts.loader().load(feeds)
    before = links(connection)
    for source, path in feeds:
        again = parts.ingestor().ingest(source, path)
        assert again.counts.unchanged == again.counts.accepted
        assert again.counts.created == again.counts.linked == 0
    assert links(connection) == before
    actions = session.execute(select(AuditEntry.action)).scalars().all()
    assert "load.batch" in actions
    assert actions.count("load.file") == len(feeds)
    assert verify_audit(session, parts.keyring.audit_key).ok


def test_an_index_already_holding_records_is_refused(
    parts: Parts, connection: Connection, feeds: list[tuple[str, Path]]
) -> None:
    parts.ingestor().ingest(*feeds[0])
    before = links(connection)
    with pytest.raises(ContactPointError, match="empty index"):
        parts.loader().load(feeds[1:])
    assert links(connection) == before


def test_bad_lines_are_reported_and_the_rest_loaded(
    parts: Parts, connection: Connection, tmp_path: Path, feeds: list[tuple[str, Path]]
) -> None:
    source, path = feeds[-1]
    lines = path.read_bytes().splitlines()
    broken = tmp_path / f"{source}.jsonl"
    broken.write_bytes(b"\n".join([lines[0], b'{"source_record_id": "X"}', *lines[1:]]) + b"\n")
    report = parts.loader().load([(source, broken)])
    (feed,) = report.feeds
    assert [r.line_number for r in feed.rejections] == [2]
    assert feed.counts.accepted == len(lines)
    assert len(links(connection)) == len(lines)


def test_each_file_is_read_once(
    parts: Parts, connection: Connection, tmp_path: Path, feeds: list[tuple[str, Path]]
) -> None:
    """A file changed after its reading changes nothing: what was read is what is written."""
    source, path = feeds[-1]
    lines = path.read_bytes().splitlines()
    changing = tmp_path / f"{source}.jsonl"
    changing.write_bytes(b"\n".join(lines) + b"\n")

    class ChangingLoader(InitialLoader):
        def _read(self, *args: Any, **kwargs: Any) -> Any:
            read = super()._read(*args, **kwargs)
            changing.write_bytes(b"\n".join([b'{"source_record_id": "X"}', *lines[1:]]) + b"\n")
            return read

    report = ChangingLoader(parts.tools(), chunk=300).load([(source, changing)])
    assert report.feeds[0].rejections == []
    first = json.loads(lines[0])["source_record_id"]
    assert (source, first) in links(connection)
    assert len(links(connection)) == len(lines)


def long_family_names(path: Path) -> set[bytes]:
    """Names long enough (six bytes or more) not to turn up in random bytes by chance."""
    children = (json.loads(line).get("child") for line in path.read_bytes().splitlines())
    names = (child["family_name"].encode() for child in children if child)
    return {name for name in names if len(name) >= 6}


def test_records_wait_on_disk_only_encrypted_and_are_removed(
    parts: Parts, connection: Connection, tmp_path: Path, feeds: list[tuple[str, Path]]
) -> None:
    seen: list[bytes] = []

    class WatchedLoader(InitialLoader):
        def _write(self, chunks: Any, *args: Any, **kwargs: Any) -> Any:
            seen.extend(path.read_bytes() for _, path in chunks)
            return super()._write(chunks, *args, **kwargs)

    spill = tmp_path / "spill"
    spill.mkdir()
    WatchedLoader(parts.tools(), chunk=300, spill_dir=spill).load(feeds)

    assert len(seen) >= len(feeds)
    names = set().union(*(long_family_names(path) for _, path in feeds))
    assert len(names) > 50
    assert not [name for name in names for chunk in seen if name in chunk]
    assert list(spill.iterdir()) == []


def test_a_failed_load_leaves_no_records_waiting_on_disk(
    parts: Parts, tmp_path: Path, feeds: list[tuple[str, Path]]
) -> None:
    class FailingLoader(InitialLoader):
        def _store_chunk(self, rows: Any) -> None:
            raise RuntimeError("the database went away")

    spill = tmp_path / "spill"
    spill.mkdir()
    with pytest.raises(RuntimeError, match="went away"):
        FailingLoader(parts.tools(), chunk=300, spill_dir=spill).load(feeds)
    assert list(spill.iterdir()) == []


def secondary_structure(connection: Connection) -> dict[str, Any]:
    """The load's tables' secondary indexes (unique ones stay throughout) and foreign
    keys, as the database has them."""
    inspector = inspect(connection)
    return {
        table: (
            sorted(
                (i["name"] or "", tuple(i["column_names"]))
                for i in inspector.get_indexes(table)
                if not i["unique"]
            ),
            sorted(
                (k["name"] or "", tuple(k["constrained_columns"]), k["referred_table"])
                for k in inspector.get_foreign_keys(table)
            ),
        )
        for table in ("source_records", "blind_index")
    }


def test_indexes_and_foreign_keys_are_built_after_the_rows_and_come_back_the_same(
    parts: Parts, connection: Connection, feeds: list[tuple[str, Path]]
) -> None:
    before = secondary_structure(connection)
    during: list[dict[str, Any]] = []

    class WatchedLoader(InitialLoader):
        def _write(self, *args: Any, **kwargs: Any) -> Any:
            during.append(secondary_structure(connection))
            return super()._write(*args, **kwargs)

    WatchedLoader(parts.tools(), chunk=300).load(feeds)

    assert secondary_structure(connection) == before
    assert all(indexes for indexes, _ in before.values())
    assert before["source_records"][1], "the records' key to their child"
    if connection.dialect.name == "postgresql":
        assert all(not i and not k for i, k in during[0].values()), "set aside while loading"
    else:
        assert during[0] == before


def test_a_failed_load_puts_the_indexes_and_foreign_keys_back(
    parts: Parts, connection: Connection, feeds: list[tuple[str, Path]]
) -> None:
    before = secondary_structure(connection)

    class FailingLoader(InitialLoader):
        def _store_chunk(self, rows: Any) -> None:
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        FailingLoader(parts.tools(), chunk=300).load(feeds)
    assert secondary_structure(connection) == before


def test_the_loaded_tables_are_vacuumed_or_analysed_when_the_load_ends(
    parts: Parts, feeds: list[tuple[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vacuumed where the sessions allow it (an engine on PostgreSQL); the tests'
    sessions are in a transaction, so here the tables are analysed instead."""
    from contactpoint.services import initial_load

    asked: list[tuple[str, ...]] = []
    analysed: list[tuple[str, ...]] = []

    def vacuum(sessions: Any, tables: tuple[str, ...]) -> bool:
        asked.append(tables)
        return False

    monkeypatch.setattr(initial_load, "vacuum_after_load", vacuum)
    monkeypatch.setattr(
        initial_load, "refresh_statistics", lambda session, tables: analysed.append(tables)
    )
    parts.loader().load(feeds)
    expected = ("source_records", "blind_index", "children", "review_items")
    assert asked == [expected]
    assert analysed == [expected]

"""The bulk initial load builds the index incremental ingest would have built."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
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


def test_a_file_changed_between_the_two_readings_stops_the_load_with_advice(
    parts: Parts, connection: Connection, tmp_path: Path, feeds: list[tuple[str, Path]]
) -> None:
    source, path = feeds[-1]
    lines = path.read_bytes().splitlines()
    changing = tmp_path / f"{source}.jsonl"
    changing.write_bytes(b"\n".join(lines) + b"\n")

    class ChangingLoader(InitialLoader):
        def _read(self, *args: Any, **kwargs: Any) -> Any:
            entries = super()._read(*args, **kwargs)
            changing.write_bytes(b"\n".join([b'{"source_record_id": "X"}', *lines[1:]]) + b"\n")
            return entries

    with pytest.raises(ContactPointError, match=r"line 1 .*changed during the load"):
        ChangingLoader(parts.tools(), chunk=300).load([(source, changing)])
    assert links(connection) == {}

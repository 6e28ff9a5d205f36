"""Ingest with its helper process builds the index ingest alone would have built,
and the initial load with its helpers the index it builds alone.

The helper prepares and encrypts lines in another process under a data key of
its own, so these tests need databases the helper can see: committed ones, not
the rolled-back transaction the other tests run in. PostgreSQL only, as the
helper is.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import HANDOFF_SECONDS, FeedIngestor, quick_handoffs
from contactpoint.services.initial_load import InitialLoader
from contactpoint.store import migrate
from contactpoint.store.data_keys import SqlDataKeyStore
from contactpoint.store.database import make_engine, session_factory
from contactpoint.store.tables import DataKey, ReviewItem
from contactpoint.synth import write_synthetic_feeds
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.conftest import PgDatabases
from tests.services.committed_index import CommittedIndex

SOURCES = ("nhs-pds", "child-benefit", "school-census", "local-authority")


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("synthetic")
    write_synthetic_feeds(directory, 300, seed=5, as_of=date(2026, 6, 1), workers=1)
    return [(source, directory / f"{source}.jsonl") for source in SOURCES]


def test_the_helper_builds_the_index_ingest_alone_builds(
    pg_databases: PgDatabases,
    fresh_engines: list[Engine],
    keyring: Keyring,
    actor: Actor,
    feeds: list[tuple[str, Path]],
) -> None:
    alone = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    helped = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    for source, path in feeds:
        alone.ingestor(helper=False).ingest(source, path)
        ingestor = helped.ingestor(helper=True)
        report = ingestor.ingest(source, path)
        assert ingestor.helped_lines == report.counts.accepted + len(report.rejections) > 0

    assert helped.partition() == alone.partition()
    assert helped.count(ReviewItem) == alone.count(ReviewItem)
    assert helped.family_names() == alone.family_names()
    assert helped.count(DataKey) > alone.count(DataKey), "the helper used a data key of its own"
    with sessionmaker(helped.engine)() as session:
        assert verify_audit(session, keyring.audit_key).ok


def test_a_helped_update_is_encrypted_under_the_records_own_id(
    pg_databases: PgDatabases,
    fresh_engines: list[Engine],
    keyring: Keyring,
    actor: Actor,
    feeds: list[tuple[str, Path]],
    tmp_path: Path,
) -> None:
    index = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    source, path = feeds[0]
    index.ingestor(helper=False).ingest(source, path)

    changed = []
    for raw in path.read_bytes().splitlines():
        line = json.loads(raw)
        line["child"]["family_name"] = "Helperton"
        changed.append(json.dumps(line))
    update = tmp_path / "update.jsonl"
    update.write_text("\n".join(changed) + "\n", encoding="utf-8")

    ingestor = index.ingestor(helper=True)
    report = ingestor.ingest(source, update)

    assert report.counts.updated == len(changed)
    assert ingestor.helped_lines == len(changed)
    names = index.family_names()
    assert len(names) == len(changed)
    assert set(names.values()) == {"Helperton"}


def test_a_small_feed_on_sqlite_or_in_a_transaction_needs_no_helper(
    tmp_path: Path, keyring: Keyring, actor: Actor, feeds: list[tuple[str, Path]]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cp.db'}")
    migrate.upgrade(engine)
    clock = FixedClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    tools = FeedTools(
        session_factory(engine),
        vault=Vault(keyring, SqlDataKeyStore(engine, clock)),
        indexer=BlindIndexer(keyring),
        digester=ContentDigester(keyring),
        linker=ProbabilisticLinker(load_model().for_population(300)),
        clock=clock,
        audit_key=keyring.audit_key,
        actor=actor,
    )
    ingestor = FeedIngestor(tools, helper=True)
    source, path = feeds[0]
    report = ingestor.ingest(source, path)
    assert report.counts.accepted > 0
    assert ingestor.helped_lines == 0
    engine.dispose()


def test_the_loads_helpers_build_the_index_the_load_alone_builds(
    pg_databases: PgDatabases,
    fresh_engines: list[Engine],
    keyring: Keyring,
    actor: Actor,
    feeds: list[tuple[str, Path]],
) -> None:
    alone = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    helped = CommittedIndex(pg_databases, fresh_engines, keyring, actor)
    alone_report = InitialLoader(alone.tools, chunk=97, helpers=0).load(feeds)
    loader = InitialLoader(helped.tools, chunk=97, helpers=2)
    report = loader.load(feeds)

    assert loader.helped_lines == sum(r.lines for r in report.feeds), "each line read once"
    assert report.to_json() == alone_report.to_json()
    assert helped.partition() == alone.partition()
    assert helped.count(ReviewItem) == alone.count(ReviewItem)
    assert helped.family_names() == alone.family_names()
    assert alone.count(DataKey) == 1
    assert helped.count(DataKey) == 2, "a data key for each helper, none for the loader"
    with sessionmaker(helped.engine)() as session:
        assert verify_audit(session, keyring.audit_key).ok
    for source, path in feeds:
        again = FeedIngestor(helped.tools).ingest(source, path).counts
        assert again.unchanged == again.accepted > 0
        assert again.created == again.linked == again.updated == 0


def test_turns_at_the_interpreter_lock_are_short_only_while_helpers_run() -> None:
    before = sys.getswitchinterval()
    with quick_handoffs():
        assert sys.getswitchinterval() == pytest.approx(HANDOFF_SECONDS)
    assert sys.getswitchinterval() == before
    with pytest.raises(RuntimeError), quick_handoffs():
        raise RuntimeError("a failed ingest")
    assert sys.getswitchinterval() == before

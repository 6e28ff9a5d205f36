"""Running ingest inside the test transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import Clock
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import FeedIngestor, IngestReport
from contactpoint.store.tables import BlindIndexEntry, Child, SourceRecord
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.feeds.lines import dumps


class Ingest:
    def __init__(
        self,
        tmp_path: Path,
        sessions: sessionmaker[Session],
        vault: Vault,
        keyring: Keyring,
        clock: Clock,
        actor: Actor,
        batch_size: int = 500,
    ) -> None:
        self.tmp_path = tmp_path
        self.ingestor = FeedIngestor(
            FeedTools(
                sessions,
                vault=vault,
                indexer=BlindIndexer(keyring),
                digester=ContentDigester(keyring),
                linker=ProbabilisticLinker(load_model()),
                clock=clock,
                audit_key=keyring.audit_key,
                actor=actor,
            ),
            batch_size=batch_size,
        )
        self.files = 0

    def __call__(
        self, source: str, *lines: dict[str, Any], raw: bytes | None = None
    ) -> IngestReport:
        self.files += 1
        path = self.tmp_path / f"feed{self.files}.jsonl"
        path.write_bytes(dumps(*lines) if raw is None else raw)
        return self.ingestor.ingest(source, path)


def counts(connection: Connection) -> dict[str, int]:
    return {
        name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in (
            ("children", Child),
            ("records", SourceRecord),
            ("tokens", BlindIndexEntry),
        )
    }


def links(connection: Connection) -> dict[tuple[str, str], str]:
    rows = connection.execute(
        select(SourceRecord.source, SourceRecord.source_record_id, SourceRecord.child_id)
    ).all()
    return {(r.source, r.source_record_id): r.child_id for r in rows}

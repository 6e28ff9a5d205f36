"""A committed PostgreSQL index of a test's own, for what the rolled-back transaction
the other tests run in cannot show: a helper process, a second connection."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import FeedIngestor
from contactpoint.store import migrate
from contactpoint.store.data_keys import SqlDataKeyStore
from contactpoint.store.database import make_engine, session_factory
from contactpoint.store.tables import DataKey, ReviewItem, SourceRecord
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from contactpoint.vault.record_cipher import decrypt_field
from tests.conftest import PgDatabases

Partition = set[frozenset[tuple[str, str]]]


class CommittedIndex:
    """One committed PostgreSQL index and an ingestor for it."""

    def __init__(
        self, pg_databases: PgDatabases, engines: list[Engine], keyring: Keyring, actor: Actor
    ) -> None:
        self.engine = make_engine(pg_databases.create())
        engines.append(self.engine)
        migrate.upgrade(self.engine)
        self.keyring = keyring
        self.clock = FixedClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
        self.vault = Vault(keyring, SqlDataKeyStore(self.engine, self.clock))
        self.tools = FeedTools(
            session_factory(self.engine),
            vault=self.vault,
            indexer=BlindIndexer(keyring),
            digester=ContentDigester(keyring),
            linker=ProbabilisticLinker(load_model().for_population(300)),
            clock=self.clock,
            audit_key=keyring.audit_key,
            actor=actor,
        )

    def ingestor(self, *, helper: bool, read_ahead: bool = True) -> FeedIngestor:
        return FeedIngestor(
            self.tools,
            batch_size=97,
            helper=helper,
            prepare_while_helper_starts=False,
            read_ahead=read_ahead,
        )

    def partition(self) -> Partition:
        groups: dict[str, set[tuple[str, str]]] = defaultdict(set)
        with self.engine.connect() as connection:
            for source, srid, child_id in connection.execute(
                select(SourceRecord.source, SourceRecord.source_record_id, SourceRecord.child_id)
            ):
                groups[child_id].add((source, srid))
        return {frozenset(group) for group in groups.values()}

    def count(self, table: type[ReviewItem] | type[DataKey]) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()

    def family_names(self) -> dict[tuple[str, str], str]:
        """Every record's family name, decrypted by this process's vault."""
        names: dict[tuple[str, str], str] = {}
        with sessionmaker(self.engine)() as session:
            rows = session.execute(
                select(
                    SourceRecord.id,
                    SourceRecord.source,
                    SourceRecord.source_record_id,
                    SourceRecord.family_name_enc,
                )
            )
            for row in rows:
                names[(row.source, row.source_record_id)] = decrypt_field(
                    self.vault, row.id, "family_name", row.family_name_enc
                )
        return names

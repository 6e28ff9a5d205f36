"""Upgrading the blind index: records under a retired kind get this release's tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.identity.features import MatchFeatures
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.reindex import ReindexTools, reindex_retired_kinds
from contactpoint.store.tables import AuditEntry, BlindIndexEntry, SourceRecord
from contactpoint.vault.blind_index import BlindIndexer, IndexKind
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from contactpoint.vault.record_cipher import decrypt_field
from tests.feeds.lines import line
from tests.services.helpers import Ingest

NEW_PAIR_KINDS = (int(IndexKind.NAME_PAIR_YEAR), int(IndexKind.NAME_PAIR_DAY))
Tokens = set[tuple[int, int, str, str]]


def tokens(connection: Connection) -> Tokens:
    return {
        (row.kind, row.token, str(row.record_id), row.child_id)
        for row in connection.execute(select(BlindIndexEntry))
    }


def as_an_old_release_left_them(
    connection: Connection, vault: Vault, indexer: BlindIndexer
) -> None:
    """Each record's name-pair tokens replaced by the one retired token it had then."""
    connection.execute(delete(BlindIndexEntry).where(BlindIndexEntry.kind.in_(NEW_PAIR_KINDS)))
    for row in connection.execute(
        select(SourceRecord.id, SourceRecord.child_id, SourceRecord.match_enc)
    ).all():
        features = MatchFeatures.from_json(decrypt_field(vault, row.id, "match", row.match_enc))
        pair = "|".join(sorted((features.first, features.family)))
        connection.execute(
            BlindIndexEntry.__table__.insert().values(
                kind=int(IndexKind.NAME_PAIR),
                token=indexer.token(IndexKind.NAME_PAIR, pair),
                record_id=row.id,
                child_id=row.child_id,
            )
        )


@pytest.fixture
def tools(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> ReindexTools:
    return ReindexTools(
        sessions,
        vault=vault,
        indexer=BlindIndexer(keyring),
        clock=clock,
        audit_key=keyring.audit_key,
        actor=actor,
    )


def test_retired_tokens_are_replaced_by_exactly_what_ingest_makes_now(
    ingest: Ingest, connection: Connection, tools: ReindexTools, session: Session
) -> None:
    ingest(
        "school-census",
        *(
            line(_source_record_id=f"SC-{n}", given_names=name, nhs_number=None, upn=None)
            for n, name in enumerate(("Amelia", "Oliver", "Zoë", "Siobhán", "Jack"))
        ),
    )
    current = tokens(connection)
    as_an_old_release_left_them(connection, tools.vault, tools.indexer)
    assert tokens(connection) != current

    assert reindex_retired_kinds(tools, chunk=2) == 5
    assert tokens(connection) == current
    assert reindex_retired_kinds(tools) == 0, "a second run finds nothing to do"
    actions = session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("system.reindex") == 3
    assert verify_audit(session, tools.audit_key).ok


def test_a_record_without_match_features_loses_only_its_retired_tokens(
    ingest: Ingest, connection: Connection, tools: ReindexTools
) -> None:
    ingest("school-census", line())
    as_an_old_release_left_them(connection, tools.vault, tools.indexer)
    connection.execute(update(SourceRecord).values(match_enc=None))
    kept = {t for t in tokens(connection) if t[0] != int(IndexKind.NAME_PAIR)}

    assert reindex_retired_kinds(tools) == 1
    assert tokens(connection) == kept

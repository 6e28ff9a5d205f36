"""Indexing records again under the blocking keys of this release.

Tokens are keyed, so a schema migration cannot make them: when a release
changes the blocking keys (:data:`~contactpoint.vault.blind_index.RETIRED_KINDS`),
``contactpoint init`` finds every record still indexed under a retired kind,
decrypts its match features, and replaces all its tokens with this release's.
Each chunk is one transaction with its audit entry, so an upgrade that is
stopped part way resumes where it stopped, and a record is never left with
only some of its tokens. Until it has run, searches and ingest would miss
the records it has not reached: run ``contactpoint init`` before serving. A
chunk holds the identity lock, as every writer of tokens does, so an ingest
running beside it sees its changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.identity.blocking import blocking_keys
from contactpoint.identity.features import MatchFeatures
from contactpoint.store import source_records as store
from contactpoint.store.identity import lock_identity
from contactpoint.vault.blind_index import RETIRED_KINDS, BlindIndexer
from contactpoint.vault.envelope import Vault
from contactpoint.vault.record_cipher import decrypt_field

CHUNK = 2_000


@dataclass(frozen=True)
class ReindexTools:
    sessions: sessionmaker[Session]
    vault: Vault
    indexer: BlindIndexer
    clock: Clock
    audit_key: bytes
    actor: Actor


def reindex_retired_kinds(
    tools: ReindexTools, *, chunk: int = CHUNK, progress: Callable[[int], None] | None = None
) -> int:
    """Index every record still under a retired kind again; the number of records done."""
    retired = {int(kind) for kind in RETIRED_KINDS}
    done = 0
    while True:
        with tools.sessions.begin() as session:
            lock_identity(session)
            rows = store.records_indexed_under(session, retired, chunk)
            if not rows:
                return done
            tokens: list[dict[str, Any]] = []
            without_features = []
            for row in rows:
                if row["match_enc"] is None:
                    # Written before match features were kept (migration 0003): such a
                    # record is indexed again only when its feed re-sends it.
                    without_features.append(row["id"])
                    continue
                features = MatchFeatures.from_json(
                    decrypt_field(tools.vault, row["id"], "match", row["match_enc"])
                )
                tokens.extend(
                    {
                        "kind": int(kind),
                        "token": tools.indexer.token(kind, value),
                        "record_id": row["id"],
                        "child_id": row["child_id"],
                    }
                    for kind, value in blocking_keys(features)
                )
            with_features = [row["id"] for row in rows if row["match_enc"] is not None]
            store.replace_tokens(session, with_features, tokens)
            store.drop_tokens(session, without_features, retired)
            record(
                session,
                key=tools.audit_key,
                clock=tools.clock,
                actor=tools.actor,
                action="system.reindex",
                details={"records": len(rows), "retired_kinds": sorted(retired)},
            )
        done += len(rows)
        if progress is not None:
            progress(len(rows))

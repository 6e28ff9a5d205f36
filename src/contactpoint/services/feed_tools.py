"""What putting feed lines into the index needs, whichever way it is done.

Incremental ingest and the bulk initial load use the same sessions, keys,
linker, clock and audit identity; one object carries them so both are built
the same way and cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import Clock
from contactpoint.identity.linker import Linker
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault


@dataclass(frozen=True)
class FeedTools:
    sessions: sessionmaker[Session]
    vault: Vault
    indexer: BlindIndexer
    digester: ContentDigester
    linker: Linker
    clock: Clock
    audit_key: bytes
    actor: Actor

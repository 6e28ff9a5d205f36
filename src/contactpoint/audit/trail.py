"""Writing an audit entry inside the caller's transaction.

Every state change and every read calls :func:`record` in the same transaction
as the work it records, so either both happen or neither does. Details are
identifiers and counts, never personal data in plain text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy.orm import Session

from contactpoint.audit.chain import EntryContent, chain_hash
from contactpoint.clock import Clock
from contactpoint.store import audit as audit_store


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a signed-in user, or an operator at the command line."""

    name: str
    role: str | None = None
    organisation: str | None = None


def record(
    session: Session,
    *,
    key: bytes,
    clock: Clock,
    actor: Actor,
    action: str,
    outcome: str = "ok",
    child_id: str | None = None,
    reason_code: str | None = None,
    details: dict[str, object] | None = None,
) -> int:
    last_seq, last_hash = audit_store.lock_chain_head(session)
    content = EntryContent(
        seq=last_seq + 1,
        at=clock.now().astimezone(UTC),
        actor=actor.name,
        role=actor.role,
        organisation=actor.organisation,
        action=action,
        outcome=outcome,
        child_id=child_id,
        reason_code=reason_code,
        details=json.dumps(details or {}, sort_keys=True, separators=(",", ":")),
    )
    audit_store.insert_entry(session, content, last_hash, chain_hash(key, last_hash, content))
    return content.seq

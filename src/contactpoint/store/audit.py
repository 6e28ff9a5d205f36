"""Appending to and reading the audit log; there is no update or delete here."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from contactpoint.audit.chain import GENESIS, EntryContent, StoredEntry
from contactpoint.store.tables import AuditEntry

_AUDIT_LOCK = 0x436F6E74  # any constant; names the audit chain's advisory lock


def lock_chain_head(session: Session) -> tuple[int, str]:
    """Serialise appends so the chain has one head; held until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK})
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if row is None:
        return 0, GENESIS
    return int(row.seq), str(row.hash)


def insert_entry(session: Session, content: EntryContent, prev_hash: str, entry_hash: str) -> None:
    session.execute(
        insert(AuditEntry).values(
            seq=content.seq,
            at=content.at,
            actor=content.actor,
            role=content.role,
            organisation=content.organisation,
            action=content.action,
            outcome=content.outcome,
            child_id=content.child_id,
            reason_code=content.reason_code,
            details=content.details,
            prev_hash=prev_hash,
            hash=entry_hash,
        )
    )


def iter_entries(session: Session, batch: int = 5000) -> Iterator[StoredEntry]:
    after = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield StoredEntry(
                content=EntryContent(
                    seq=row.seq,
                    at=row.at,
                    actor=row.actor,
                    role=row.role,
                    organisation=row.organisation,
                    action=row.action,
                    outcome=row.outcome,
                    child_id=row.child_id,
                    reason_code=row.reason_code,
                    details=row.details,
                ),
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        after = rows[-1].seq
        session.expunge_all()

"""The installation row and the record of files applied whole."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from contactpoint.store.tables import AuditEntry, IngestedFile, Installation


def get_installation(session: Session) -> Installation | None:
    return session.get(Installation, 1)


def create_installation(
    session: Session, at: datetime, index_key_check: str, audit_key_check: str
) -> None:
    session.execute(
        insert(Installation).values(
            id=1, created_at=at, index_key_check=index_key_check, audit_key_check=audit_key_check
        )
    )


def audit_entries_exist(session: Session) -> bool:
    return bool(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def file_already_ingested(session: Session, source: str, digest: bytes) -> bool:
    found = session.execute(
        select(IngestedFile.lines).where(
            IngestedFile.source == source, IngestedFile.file_digest == digest
        )
    ).first()
    return found is not None


def mark_file_ingested(
    session: Session, source: str, digest: bytes, at: datetime, lines: int
) -> None:
    session.execute(
        insert(IngestedFile).values(source=source, file_digest=digest, completed_at=at, lines=lines)
    )

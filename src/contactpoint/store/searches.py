"""What searching needs from the database beyond the index: counting a user's
searches, and raising alerts.

A user's searches are counted from the audit log itself, which already holds
one entry per search with its outcome, so the count cannot drift from the
record of what was done and needs no table of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from contactpoint.store.tables import Alert, AuditEntry


@dataclass(frozen=True, slots=True)
class WeightedCounts:
    last_minute: int
    last_day: int


def weighted_searches(
    session: Session,
    *,
    actor: str,
    actions: Collection[str],
    weights: dict[str, int],
    minute_start: datetime,
    day_start: datetime,
) -> WeightedCounts:
    """The actor's searches since each start, each counted by its outcome's weight
    (outcomes not in ``weights`` count nothing)."""
    weight = case(*((AuditEntry.outcome == outcome, w) for outcome, w in weights.items()), else_=0)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((AuditEntry.at >= minute_start, weight), else_=0)), 0),
            func.coalesce(func.sum(weight), 0),
        ).where(
            AuditEntry.actor == actor,
            AuditEntry.action.in_(list(actions)),
            AuditEntry.at >= day_start,
        )
    ).one()
    return WeightedCounts(int(row[0]), int(row[1]))


def alert_raised_since(session: Session, *, kind: str, actor: str, since: datetime) -> bool:
    return (
        session.execute(
            select(Alert.id)
            .where(Alert.actor == actor, Alert.kind == kind, Alert.raised_at >= since)
            .limit(1)
        ).first()
        is not None
    )


def insert_alert(
    session: Session,
    *,
    kind: str,
    raised_at: datetime,
    actor: str,
    child_id: str | None,
    details: dict[str, object],
) -> uuid.UUID:
    alert_id = uuid.uuid4()
    session.execute(
        insert(Alert).values(
            id=alert_id,
            kind=kind,
            raised_at=raised_at,
            actor=actor,
            child_id=child_id,
            details=json.dumps(details, sort_keys=True, separators=(",", ":")),
            status="open",
        )
    )
    return alert_id

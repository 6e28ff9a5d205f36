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
from typing import Any

from sqlalchemy import RowMapping, bindparam, exists, insert, or_, select, text
from sqlalchemy.orm import Session

from contactpoint.store.bulk import is_postgresql, member_of
from contactpoint.store.tables import (
    Alert,
    BlindIndexEntry,
    Child,
    ReviewItem,
    SourceRecord,
)
from contactpoint.store.types import UTCDateTime


@dataclass(frozen=True, slots=True)
class WeightedCounts:
    last_minute: int
    last_day: int


_CANDIDATES_BY_TOKEN = text(
    """
    WITH hits AS (
        SELECT DISTINCT b.child_id FROM blind_index b
        JOIN unnest(CAST(:kinds AS smallint[]), CAST(:tokens AS integer[])) AS q(kind, token)
          ON b.kind = q.kind AND b.token = q.token
    )
    SELECT sr.id, sr.child_id, sr.match_enc, c.shielded,
           EXISTS (SELECT 1 FROM review_items r
                   WHERE r.child_id = sr.child_id AND r.status = 'open') AS provisional
    FROM hits
    JOIN source_records sr ON sr.child_id = hits.child_id AND sr.ended_at IS NULL
    JOIN children c ON c.id = sr.child_id
    """
)


def _candidate_columns() -> list[Any]:
    provisional = exists().where(
        ReviewItem.child_id == SourceRecord.child_id, ReviewItem.status == "open"
    )
    return [
        SourceRecord.id,
        SourceRecord.child_id,
        SourceRecord.match_enc,
        Child.shielded,
        provisional.label("provisional"),
    ]


def candidates_by_tokens(session: Session, keys: Collection[tuple[int, int]]) -> list[RowMapping]:
    """Every active record (id, child, match features, shielded, provisional) of every
    child filed under any of these (kind, token) pairs: the whole candidate set of a
    search in one round trip, found only through the blind index."""
    if not keys:
        return []
    ordered = sorted(set(keys))
    if is_postgresql(session):
        return list(
            session.execute(
                _CANDIDATES_BY_TOKEN,
                {"kinds": [k for k, _ in ordered], "tokens": [t for _, t in ordered]},
            ).mappings()
        )
    by_kind: dict[int, list[int]] = {}
    for kind, token in ordered:
        by_kind.setdefault(kind, []).append(token)
    filed = (
        select(BlindIndexEntry.child_id)
        .where(
            or_(
                *(
                    (BlindIndexEntry.kind == kind) & BlindIndexEntry.token.in_(tokens)
                    for kind, tokens in by_kind.items()
                )
            )
        )
        .distinct()
    )
    return _active_records(session, SourceRecord.child_id.in_(filed))


def candidates_of_children(session: Session, child_ids: Collection[str]) -> list[RowMapping]:
    """The same rows for children named directly (a ContactPoint ID)."""
    if not child_ids:
        return []
    return _active_records(session, member_of(session, SourceRecord.child_id, sorted(child_ids)))


def _active_records(session: Session, which: Any) -> list[RowMapping]:
    return list(
        session.execute(
            select(*_candidate_columns())
            .join(Child, Child.id == SourceRecord.child_id)
            .where(which, SourceRecord.ended_at.is_(None))
        ).mappings()
    )


_WEIGHTED = text(
    """
    SELECT COALESCE(SUM(CASE WHEN at >= :minute_start THEN weight ELSE 0 END), 0),
           COALESCE(SUM(weight), 0)
    FROM (
        SELECT at, CASE outcome WHEN 'match' THEN :match_weight
                                WHEN 'no_unique_match' THEN :probe_weight
                                WHEN 'insufficient_detail' THEN :probe_weight
                                ELSE 0 END AS weight
        FROM audit_log
        WHERE actor = :actor AND action IN :actions AND at >= :day_start
    ) AS searches
    """
).bindparams(
    bindparam("actions", expanding=True),
    bindparam("minute_start", type_=UTCDateTime()),
    bindparam("day_start", type_=UTCDateTime()),
)


def weighted_searches(
    session: Session,
    *,
    actor: str,
    actions: Collection[str],
    match_weight: int,
    probe_weight: int,
    minute_start: datetime,
    day_start: datetime,
) -> WeightedCounts:
    """The actor's searches since each start: one that found its child counts
    ``match_weight``, one that found none or was refused for too little detail
    ``probe_weight``, any other (no reason, over the limit) nothing."""
    row = session.execute(
        _WEIGHTED,
        {
            "actor": actor,
            "actions": list(actions),
            "match_weight": match_weight,
            "probe_weight": probe_weight,
            "minute_start": minute_start,
            "day_start": day_start,
        },
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

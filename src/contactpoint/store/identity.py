"""Reading and writing identity changes, review items and where records are filed.

A record's child is written in three places (the record, its index tokens, and
an open review item about it) and every move here updates all three together,
so a look-up through the index always lands on the child that holds the record.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from contactpoint.domain.identity_change import Change, ChangeKind, ChildState, Move
from contactpoint.domain.review_item import ReviewCandidate, ReviewStatus, parse_candidates
from contactpoint.store.tables import (
    BlindIndexEntry,
    Child,
    IdentityChange,
    IdentityGeneration,
    ReviewItem,
    SourceRecord,
)

_IDENTITY_LOCK = 0x49644368  # any constant; names the identity changes' advisory lock


def lock_identity(session: Session) -> int:
    """Serialise identity changes so each one's checks still hold when it writes.

    Held until the transaction ends. On SQLite every writer already holds the
    database lock from ``BEGIN IMMEDIATE``. Returns the identity generation this
    holder advanced the count to: committed holders have consecutive generations,
    and one that rolls back leaves its number to the next (migration 0009).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IDENTITY_LOCK})
    return int(
        session.execute(
            update(IdentityGeneration)
            .where(IdentityGeneration.id == 1)
            .values(value=IdentityGeneration.value + 1)
            .returning(IdentityGeneration.value)
        ).scalar_one()
    )


def identity_generation(session: Session) -> int:
    """The count as this transaction's snapshot sees it (the last committed holder's)."""
    return int(
        session.execute(
            select(IdentityGeneration.value).where(IdentityGeneration.id == 1)
        ).scalar_one()
    )


# --- children and records ------------------------------------------------------------


def child_states(session: Session, child_ids: Collection[str]) -> dict[str, ChildState]:
    if not child_ids:
        return {}
    rows = session.execute(
        select(Child.id, Child.status, Child.merged_into, Child.shielded, Child.shield_origin)
        .where(Child.id.in_(sorted(child_ids)))
        .order_by(Child.id)
    ).all()
    return {
        r.id: ChildState.from_json(
            {
                "status": r.status,
                "merged_into": r.merged_into,
                "shielded": r.shielded,
                "shield_origin": r.shield_origin,
            }
        )
        for r in rows
    }


def insert_child(session: Session, child_id: str, state: ChildState, at: datetime) -> None:
    session.add(
        Child(
            id=child_id,
            status=state.status.value,
            merged_into=state.merged_into,
            shielded=state.shield.shielded,
            shield_origin=state.shield.origin.value if state.shield.origin else None,
            created_at=at,
            updated_at=at,
        )
    )
    session.flush()


def write_child_states(session: Session, states: Mapping[str, ChildState], at: datetime) -> None:
    for child_id, state in sorted(states.items()):
        session.execute(
            update(Child)
            .where(Child.id == child_id)
            .values(
                status=state.status.value,
                merged_into=state.merged_into,
                shielded=state.shield.shielded,
                shield_origin=state.shield.origin.value if state.shield.origin else None,
                updated_at=at,
            )
        )


def records_of_child(session: Session, child_id: str) -> list[uuid.UUID]:
    """Every record filed under the child, ended ones too: they move with it."""
    return list(
        session.execute(
            select(SourceRecord.id)
            .where(SourceRecord.child_id == child_id)
            .order_by(SourceRecord.received_at, SourceRecord.id)
        ).scalars()
    )


def placements(session: Session, record_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not record_ids:
        return {}
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.child_id).where(SourceRecord.id.in_(list(record_ids)))
    ).all()
    return {r.id: r.child_id for r in rows}


@dataclass(frozen=True, slots=True)
class RecordOrigin:
    source: str
    source_record_id: str
    child_id: str


def record_origin(session: Session, record_id: uuid.UUID) -> RecordOrigin | None:
    row = session.execute(
        select(SourceRecord.source, SourceRecord.source_record_id, SourceRecord.child_id).where(
            SourceRecord.id == record_id
        )
    ).first()
    return None if row is None else RecordOrigin(row.source, row.source_record_id, row.child_id)


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """A current record a child holds, by identifiers only: what a split names."""

    record_id: uuid.UUID
    source: str
    source_record_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "record_id": str(self.record_id),
            "source": self.source,
            "source_record_id": self.source_record_id,
        }


def held_records(session: Session, child_ids: Collection[str]) -> dict[str, list[HeldRecord]]:
    """Each child's current (not ended) records, oldest first; no ciphertext is read."""
    held: dict[str, list[HeldRecord]] = {c: [] for c in child_ids}
    if not child_ids:
        return held
    rows = session.execute(
        select(
            SourceRecord.id,
            SourceRecord.child_id,
            SourceRecord.source,
            SourceRecord.source_record_id,
        )
        .where(SourceRecord.child_id.in_(sorted(child_ids)), SourceRecord.ended_at.is_(None))
        .order_by(SourceRecord.received_at, SourceRecord.id)
    ).all()
    for r in rows:
        held[r.child_id].append(HeldRecord(r.id, r.source, r.source_record_id))
    return held


def record_sources(session: Session, record_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The feed each record came from."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.source).where(SourceRecord.id.in_(list(record_ids)))
    ).all()
    return {r.id: r.source for r in rows}


def move_records(session: Session, moves: Sequence[Move]) -> None:
    """File each record under its new child: the record, its tokens, its open items."""
    by_destination: dict[str, list[uuid.UUID]] = defaultdict(list)
    for move in moves:
        by_destination[move.to_child].append(move.record_id)
    for child_id, record_ids in sorted(by_destination.items()):
        session.execute(
            update(SourceRecord).where(SourceRecord.id.in_(record_ids)).values(child_id=child_id)
        )
        session.execute(
            update(BlindIndexEntry)
            .where(BlindIndexEntry.record_id.in_(record_ids))
            .values(child_id=child_id)
        )
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.record_id.in_(record_ids), ReviewItem.status == ReviewStatus.OPEN)
            .values(child_id=child_id)
        )


# --- review items --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: uuid.UUID
    record_id: uuid.UUID
    child_id: str
    reason: str
    candidates: tuple[ReviewCandidate, ...]
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    change_id: uuid.UUID | None


def _item(row: ReviewItem) -> StoredItem:
    return StoredItem(
        id=row.id,
        record_id=row.record_id,
        child_id=row.child_id,
        reason=row.reason,
        candidates=parse_candidates(row.candidates),
        status=row.status,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        change_id=row.change_id,
    )


def get_item(session: Session, item_id: uuid.UUID) -> StoredItem | None:
    row = session.execute(select(ReviewItem).where(ReviewItem.id == item_id)).scalar_one_or_none()
    return None if row is None else _item(row)


def open_items_of_children(session: Session, child_ids: Collection[str]) -> list[StoredItem]:
    if not child_ids:
        return []
    rows = session.execute(
        select(ReviewItem)
        .where(ReviewItem.child_id.in_(sorted(child_ids)), ReviewItem.status == ReviewStatus.OPEN)
        .order_by(ReviewItem.created_at, ReviewItem.id)
    ).scalars()
    return [_item(r) for r in rows]


def list_open_items(
    session: Session,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    reason: str | None = None,
) -> list[StoredItem]:
    """Oldest first, by (created_at, id) so pages never skip or repeat an item."""
    query = select(ReviewItem).where(ReviewItem.status == ReviewStatus.OPEN)
    if reason is not None:
        query = query.where(ReviewItem.reason == reason)
    if after is not None:
        at, item_id = after
        query = query.where(
            or_(
                ReviewItem.created_at > at,
                and_(ReviewItem.created_at == at, ReviewItem.id > item_id),
            )
        )
    rows = session.execute(
        query.order_by(ReviewItem.created_at, ReviewItem.id).limit(limit)
    ).scalars()
    return [_item(r) for r in rows]


def count_open_items(session: Session, reason: str | None = None) -> int:
    query = (
        select(func.count()).select_from(ReviewItem).where(ReviewItem.status == ReviewStatus.OPEN)
    )
    if reason is not None:
        query = query.where(ReviewItem.reason == reason)
    return int(session.execute(query).scalar_one())


def resolve_item(
    session: Session,
    item_id: uuid.UUID,
    *,
    status: ReviewStatus,
    at: datetime,
    by: str,
    change_id: uuid.UUID,
) -> None:
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item_id)
        .values(status=status.value, resolved_at=at, resolved_by=by, change_id=change_id)
    )


def reopen_items(session: Session, change_id: uuid.UUID) -> list[uuid.UUID]:
    """Put the items a change decided back in the queue, as they were before it."""
    ids = list(
        session.execute(
            select(ReviewItem.id).where(ReviewItem.change_id == change_id).order_by(ReviewItem.id)
        ).scalars()
    )
    if ids:
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.id.in_(ids))
            .values(
                status=ReviewStatus.OPEN.value, resolved_at=None, resolved_by=None, change_id=None
            )
        )
    return ids


def items_decided_by(session: Session, change_id: uuid.UUID) -> list[uuid.UUID]:
    """The review items a change resolved (none once it has been undone)."""
    return list(
        session.execute(
            select(ReviewItem.id).where(ReviewItem.change_id == change_id).order_by(ReviewItem.id)
        ).scalars()
    )


# --- identity changes ----------------------------------------------------------------


def _states_json(states: Mapping[str, ChildState | None]) -> str:
    return json.dumps(
        {c: (s.to_json() if s is not None else None) for c, s in sorted(states.items())},
        separators=(",", ":"),
    )


def _change(row: IdentityChange) -> Change:
    before = json.loads(row.children_before)
    after = json.loads(row.children_after)
    return Change(
        id=row.id,
        kind=ChangeKind(row.kind),
        at=row.at,
        moves=tuple(Move.from_json(m) for m in json.loads(row.moves)),
        before={c: (ChildState.from_json(s) if s is not None else None) for c, s in before.items()},
        after={c: ChildState.from_json(s) for c, s in after.items()},
        undoes=row.undoes,
        undone_by=row.undone_by,
    )


def insert_change(session: Session, change: Change, actor: str) -> None:
    session.add(
        IdentityChange(
            id=change.id,
            kind=change.kind.value,
            at=change.at,
            actor=actor[:64],
            moves=json.dumps([m.to_json() for m in change.moves], separators=(",", ":")),
            children_before=_states_json(change.before),
            children_after=_states_json(change.after),
            undoes=change.undoes,
            undone_by=None,
        )
    )
    session.flush()


def get_change(session: Session, change_id: uuid.UUID) -> Change | None:
    row = session.execute(
        select(IdentityChange).where(IdentityChange.id == change_id)
    ).scalar_one_or_none()
    return None if row is None else _change(row)


def last_change_at(session: Session) -> datetime | None:
    value: datetime | None = session.execute(select(func.max(IdentityChange.at))).scalar_one()
    return value


def changes_after(
    session: Session, at: datetime, child_ids: Iterable[str], record_ids: Iterable[uuid.UUID]
) -> list[Change]:
    """Changes stamped after ``at`` that may touch the children or records, oldest first.

    The text match only narrows the search (IDs are stored inside JSON); callers
    decide overlap on the parsed changes.
    """
    patterns = [IdentityChange.children_before.like(f'%"{c}"%') for c in sorted(child_ids)]
    patterns += [IdentityChange.moves.like(f'%"{r}"%') for r in sorted(map(str, record_ids))]
    if not patterns:
        return []
    rows = session.execute(
        select(IdentityChange)
        .where(IdentityChange.at > at, or_(*patterns))
        .order_by(IdentityChange.at, IdentityChange.id)
    ).scalars()
    return [_change(r) for r in rows]


def mark_undone(session: Session, change_id: uuid.UUID, undone_by: uuid.UUID) -> None:
    session.execute(
        update(IdentityChange).where(IdentityChange.id == change_id).values(undone_by=undone_by)
    )

"""Reading and writing source records, their children and their index tokens.

Writes take lists so ingest can do a batch of lines in a handful of round
trips instead of one per field.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.orm import Session

from contactpoint.store.bulk import (
    array_literal,
    bulk_insert,
    copy_rows,
    driver_rows,
    is_postgresql,
    member_of,
    text_array_literal,
)
from contactpoint.store.tables import (
    BlindIndexEntry,
    Child,
    ReviewItem,
    SourceRecord,
)

INDEX_TABLES: Final = ("source_records", "blind_index", "children", "review_items")
"""The tables ingest and the initial load fill, whose statistics they keep fresh."""

ENCRYPTED = [c for c in SourceRecord.__table__.columns if c.name.endswith("_enc")]
"""Every ciphertext column of a source record, as the table defines them."""


@dataclass(frozen=True, slots=True)
class KnownRecord:
    id: uuid.UUID
    child_id: str
    content_digest: bytes
    ended: bool


def find_by_source_ids(
    session: Session, source: str, source_record_ids: Collection[str]
) -> dict[str, KnownRecord]:
    if not source_record_ids:
        return {}
    rows = session.execute(
        select(
            SourceRecord.source_record_id,
            SourceRecord.id,
            SourceRecord.child_id,
            SourceRecord.content_digest,
            SourceRecord.ended_at,
        ).where(
            SourceRecord.source == source,
            member_of(session, SourceRecord.source_record_id, list(source_record_ids)),
        )
    ).all()
    return {
        r.source_record_id: KnownRecord(r.id, r.child_id, r.content_digest, r.ended_at is not None)
        for r in rows
    }


RecordKey = str
"""A record's id in its text form, as ingest's candidate reads key records: read as
text, a batch's tens of thousands of ids are plain strings, whose hashes Python
keeps, not ``UUID`` objects hashed in Python at every look-up."""


def records_by_token(
    session: Session, keys: Collection[tuple[int, int]]
) -> list[tuple[int, int, RecordKey, str]]:
    """The records (and their children) filed under each (kind, token), as plain
    ``(kind, token, record_id, child_id)`` tuples: one query on PostgreSQL, however
    many tokens. Into a large index a batch meets tens of thousands of rows, so they
    are read as the driver's tuples (``driver_rows``)."""
    if not keys:
        return []
    if is_postgresql(session):
        ordered = sorted(set(keys))
        return driver_rows(
            session,
            "SELECT b.kind, b.token, b.record_id::text, b.child_id FROM blind_index b "
            "JOIN unnest(%s::smallint[], %s::integer[]) AS q(kind, token) "
            "ON b.kind = q.kind AND b.token = q.token",
            (
                array_literal(k for k, _ in ordered),
                array_literal(t for _, t in ordered),
            ),
        )
    by_kind: dict[int, set[int]] = defaultdict(set)
    for kind, token in keys:
        by_kind[kind].add(token)
    hits: list[tuple[int, int, RecordKey, str]] = []
    for kind, tokens in sorted(by_kind.items()):
        rows = session.execute(
            select(
                BlindIndexEntry.token, BlindIndexEntry.record_id, BlindIndexEntry.child_id
            ).where(
                BlindIndexEntry.kind == kind,
                member_of(session, BlindIndexEntry.token, sorted(tokens)),
            )
        )
        hits.extend((kind, row.token, str(row.record_id), row.child_id) for row in rows)
    return hits


def match_ciphertexts(
    session: Session, record_ids: Collection[RecordKey]
) -> list[tuple[RecordKey, bytes | None]]:
    """Each record's match features, encrypted."""
    if not record_ids:
        return []
    if is_postgresql(session):
        return driver_rows(
            session,
            "SELECT id::text, match_enc FROM source_records WHERE id = ANY(%s::uuid[])",
            (array_literal(record_ids),),
        )
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.match_enc).where(
            member_of(session, SourceRecord.id, [uuid.UUID(r) for r in record_ids])
        )
    )
    return [(str(row.id), row.match_enc) for row in rows]


def records_of_children(session: Session, child_ids: Collection[str]) -> dict[RecordKey, str]:
    """Every active record of these children: record id to child."""
    if not child_ids:
        return {}
    if is_postgresql(session):
        rows = driver_rows(
            session,
            "SELECT id::text, child_id FROM source_records "
            "WHERE child_id = ANY(%s::varchar[]) AND ended_at IS NULL",
            (text_array_literal(sorted(child_ids)),),
        )
        return dict(rows)
    return {
        str(row.id): row.child_id
        for row in session.execute(
            select(SourceRecord.id, SourceRecord.child_id).where(
                member_of(session, SourceRecord.child_id, sorted(child_ids)),
                SourceRecord.ended_at.is_(None),
            )
        )
    }


def active_records_of_child(session: Session, child_id: str) -> list[RowMapping]:
    return list(
        session.execute(
            select(
                SourceRecord.id,
                SourceRecord.source,
                SourceRecord.source_record_id,
                SourceRecord.updated_at,
                *ENCRYPTED,
            )
            .where(SourceRecord.child_id == child_id, SourceRecord.ended_at.is_(None))
            .order_by(SourceRecord.updated_at, SourceRecord.source)
        ).mappings()
    )


@dataclass(frozen=True, slots=True)
class ChildFlags:
    shielded: bool
    provisional: bool
    """The child was made for a record waiting in the review queue."""


CHILD_FLAGS_QUERY = (
    "SELECT c.id, c.shielded, COALESCE(queue.waiting, false) "
    "FROM unnest(%s::varchar[]) AS wanted(id) JOIN children c ON c.id = wanted.id "
    "LEFT JOIN LATERAL (SELECT bool_or(r.status = 'open') AS waiting FROM review_items r "
    "WHERE r.child_id = c.id) AS queue ON true"
)
"""Each child's review items are read through ``ix_review_items_child_id`` and their
status tested on those few, as the search reads them (``store/searches.py``). Written
as ``EXISTS (... AND status = 'open')``, the planner, without statistics on the queue
(autovacuum off, or behind), gathered every open item for every child: 1.0 s of a
batch's 6,000 contenders at 1,000,000 children, against 0.05 s.

The children are joined from the list (``unnest``), each found through the primary
key, and asked for ``FLAGS_AT_ONCE`` at a time. Asked all at once as ``c.id =
ANY(...)``, the planner scanned the whole table, in parallel, for a list of more
than about 3,000 children at 1,000,000 (as a join from the list, above 5,000): 47–51
ms for 4,000 on three processes, against 37 ms on one. The table is read at random
places either way; the planner prices that as reading the disk."""
FLAGS_AT_ONCE = 2000


def child_flags(session: Session, child_ids: Collection[str]) -> dict[str, ChildFlags]:
    """Whether each child is shielded and whether it waits for review. On PostgreSQL as
    the driver's tuples: ingest asks for thousands of children a batch."""
    if not child_ids:
        return {}
    if is_postgresql(session):
        asked = sorted(child_ids)
        rows: Iterable[Sequence[Any]] = [
            row
            for start in range(0, len(asked), FLAGS_AT_ONCE)
            for row in driver_rows(
                session,
                CHILD_FLAGS_QUERY,
                (text_array_literal(asked[start : start + FLAGS_AT_ONCE]),),
            )
        ]
    else:
        waiting = (
            select(ReviewItem.id)
            .where(ReviewItem.child_id == Child.id, ReviewItem.status == "open")
            .exists()
        )
        rows = session.execute(
            select(Child.id, Child.shielded, waiting.label("waiting")).where(
                member_of(session, Child.id, sorted(child_ids))
            )
        )
    return {
        str(child_id): ChildFlags(bool(shielded), bool(waiting))
        for child_id, shielded, waiting in rows
    }


def insert_review_items(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(session, ReviewItem, rows)


def get_child(session: Session, child_id: str) -> Child | None:
    return session.get(Child, child_id)


def insert_children(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(session, Child, rows)


def touch_children(session: Session, child_ids: Collection[str], at: datetime) -> None:
    if child_ids:
        session.execute(
            update(Child).where(member_of(session, Child.id, list(child_ids))).values(updated_at=at)
        )


def insert_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    bulk_insert(session, SourceRecord, rows)


def copy_records(session: Session, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Records as rows of values in the order of ``columns`` (the initial load)."""
    copy_rows(session, SourceRecord, columns, rows)


TOKEN_COLUMNS: Final = ("kind", "token", "record_id", "child_id")


def copy_tokens(session: Session, rows: Iterable[Sequence[Any]]) -> None:
    """New records' tokens as rows of :data:`TOKEN_COLUMNS` (the initial load)."""
    copy_rows(session, BlindIndexEntry, TOKEN_COLUMNS, rows)


def update_records(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Rows carry ``id`` and the columns to set (an ORM bulk update by primary key)."""
    if rows:
        session.execute(update(SourceRecord), list(rows))


def replace_tokens(
    session: Session,
    record_ids: Collection[uuid.UUID],
    rows: Sequence[dict[str, Any]],
) -> None:
    if record_ids:
        session.execute(
            delete(BlindIndexEntry).where(BlindIndexEntry.record_id.in_(list(record_ids)))
        )
    bulk_insert(session, BlindIndexEntry, rows)


def all_record_links(session: Session) -> Iterable[tuple[str, str, str]]:
    """Identifiers only: (source, source_record_id, child_id), for linkage measurement."""
    result = session.execute(
        select(SourceRecord.source, SourceRecord.source_record_id, SourceRecord.child_id)
        .order_by(SourceRecord.source, SourceRecord.source_record_id)
        .execution_options(yield_per=10_000)
    )
    for row in result:
        yield row.source, row.source_record_id, row.child_id


def records_indexed_under(session: Session, kinds: Collection[int], limit: int) -> list[RowMapping]:
    """Up to ``limit`` records with a token of one of these kinds: id, child and the
    encrypted match features, to index them again."""
    indexed = (
        select(BlindIndexEntry.record_id)
        .where(BlindIndexEntry.kind.in_(sorted(kinds)))
        .distinct()
        .limit(limit)
        .subquery()
    )
    return list(
        session.execute(
            select(SourceRecord.id, SourceRecord.child_id, SourceRecord.match_enc).join(
                indexed, indexed.c.record_id == SourceRecord.id
            )
        ).mappings()
    )


def drop_tokens(
    session: Session, record_ids: Collection[uuid.UUID], kinds: Collection[int]
) -> None:
    """Remove these records' tokens of these kinds only."""
    if record_ids:
        session.execute(
            delete(BlindIndexEntry).where(
                BlindIndexEntry.record_id.in_(list(record_ids)),
                BlindIndexEntry.kind.in_(sorted(kinds)),
            )
        )

"""Appending to and reading the audit log; there is no update or delete here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import ColumnElement, TextClause, bindparam, or_, select, text
from sqlalchemy.orm import Session

from contactpoint.audit.chain import GENESIS, EntryContent, StoredEntry
from contactpoint.store.round_trips import Statement, run_together
from contactpoint.store.tables import AuditEntry
from contactpoint.store.types import UTCDateTime

_CHAIN_LOCKS = 0x436F6E74  # any constant; names the space of the chains' advisory locks
_LOCK = text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:chain AS integer))")
_HEAD = text("SELECT hash FROM audit_log WHERE chain = :chain ORDER BY seq DESC LIMIT 1")
_HEAD_AND_NUMBERS = text(
    "SELECT (SELECT hash FROM audit_log WHERE chain = :chain ORDER BY seq DESC LIMIT 1), "
    "ARRAY(SELECT nextval('audit_log_seq') AS seq "
    "FROM generate_series(1, CAST(:count AS integer)) ORDER BY seq)"
)
_LAST_NUMBER = text("SELECT COALESCE(MAX(seq), 0) FROM audit_log")


@dataclass(frozen=True, slots=True)
class NewEntry:
    content: EntryContent
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    hash: str
    """The hash of the chain's latest entry (GENESIS for an empty chain)."""
    numbers: list[int]
    """The sequence numbers the entries to append take, in order."""


def lock_chain_head(session: Session, chain: int, count: int) -> ChainHead:
    """Serialise appends to ``chain`` so it has one head; held until the transaction
    ends. Then the head, and ``count`` numbers for the new entries.

    On PostgreSQL the numbers come from the sequence ``audit_log_seq``, taken after the
    lock so that they rise along each chain; a rolled-back append leaves a gap. The lock
    and then the head with the numbers go in one round trip, two statements: in READ
    COMMITTED each statement takes its own snapshot, so the head is read only after the
    lock is granted and is the head every earlier holder committed. On SQLite every
    writer already holds the database lock from ``BEGIN IMMEDIATE``, and the numbers
    follow the highest so far.
    """
    if session.get_bind().dialect.name == "postgresql":
        _, ((head, numbers),) = run_together(
            session,
            [
                Statement(_LOCK, {"space": _CHAIN_LOCKS, "chain": chain}),
                Statement(_HEAD_AND_NUMBERS, {"chain": chain, "count": count}),
            ],
        )
        return ChainHead(GENESIS if head is None else str(head), [int(n) for n in numbers])
    found = session.execute(_HEAD, {"chain": chain}).scalar()
    last = int(session.execute(_LAST_NUMBER).scalar_one())
    taken = list(range(last + 1, last + 1 + count))
    return ChainHead(GENESIS if found is None else str(found), taken)


_COLUMNS = (
    "seq",
    "chain",
    "at",
    "actor",
    "role",
    "organisation",
    "action",
    "outcome",
    "child_id",
    "reason_code",
    "details",
    "prev_hash",
    "hash",
)


@cache
def _insert(rows: int) -> TextClause:
    """One INSERT of ``rows`` rows, written out once for each number of rows: a plain
    statement costs far less to run than one built each time, and one statement is one
    round trip without a pipeline."""
    values = ", ".join(
        "(" + ", ".join(f":{column}_{row}" for column in _COLUMNS) + ")" for row in range(rows)
    )
    columns = ", ".join(_COLUMNS)
    statement = text(f"INSERT INTO audit_log ({columns}) VALUES {values}")  # noqa: S608 (no values)
    return statement.bindparams(
        *(bindparam(f"at_{row}", type_=UTCDateTime()) for row in range(rows))
    )


_ROWS_PER_INSERT = 500
"""Far more than a search matches; keeps a statement's parameters within every database's
limit (13 a row)."""


def _values(entry: NewEntry) -> tuple[object, ...]:
    c = entry.content
    return (
        c.seq,
        c.chain,
        c.at,
        c.actor,
        c.role,
        c.organisation,
        c.action,
        c.outcome,
        c.child_id,
        c.reason_code,
        c.details,
        entry.prev_hash,
        entry.hash,
    )


def insert_entries(session: Session, entries: Sequence[NewEntry], *, commit: bool = False) -> None:
    """All of them in one statement (in the rare batch of more than 500, one per 500),
    under the lock taken above. Through :func:`run_together`, like the lock: on
    PostgreSQL it goes straight through the driver, compiled once, since every other
    writer to the chain waits from the lock to the commit. With ``commit``, the
    transaction ends with the last statement, in the same round trip where it can
    (:func:`run_together`)."""
    starts = range(0, len(entries), _ROWS_PER_INSERT)
    for start in starts:
        chunk = entries[start : start + _ROWS_PER_INSERT]
        parameters: dict[str, object] = {}
        for row, entry in enumerate(chunk):
            parameters.update(
                {f"{name}_{row}": v for name, v in zip(_COLUMNS, _values(entry), strict=True)}
            )
        run_together(
            session,
            [Statement(_insert(len(chunk)), parameters)],
            commit=commit and start == starts[-1],
        )


def insert_entry(session: Session, content: EntryContent, prev_hash: str, entry_hash: str) -> None:
    insert_entries(session, [NewEntry(content, prev_hash, entry_hash)])


def _content(row: AuditEntry) -> EntryContent:
    return EntryContent(
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
        chain=row.chain,
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
            yield StoredEntry(content=_content(row), prev_hash=row.prev_hash, hash=row.hash)
        after = rows[-1].seq
        session.expunge_all()


def search_entries(
    session: Session,
    *,
    actor: str | None = None,
    child_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    action: str | None = None,
    outcome: str | None = None,
    before_seq: int | None = None,
    limit: int,
) -> list[EntryContent]:
    """Entries meeting every criterion given, newest first, at most ``limit`` of them.

    ``start`` is inclusive and ``end`` exclusive. With an actor or a child the
    walk follows ``ix_audit_log_actor_at`` or ``ix_audit_log_child_id_at`` in
    time order (``seq`` breaking ties), so a page costs about its own rows however
    long that actor's history; with only a time range it walks the primary key
    down from the newest entry. ``before_seq`` continues, in the same order, after
    the entry with that number (the last one of the page before).
    """
    conditions: list[ColumnElement[bool]] = []
    if actor is not None:
        conditions.append(AuditEntry.actor == actor)
    if child_id is not None:
        conditions.append(AuditEntry.child_id == child_id)
    if start is not None:
        conditions.append(AuditEntry.at >= start)
    if end is not None:
        conditions.append(AuditEntry.at < end)
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if outcome is not None:
        conditions.append(AuditEntry.outcome == outcome)
    by_index = actor is not None or child_id is not None
    if before_seq is not None:
        before_at = (
            session.execute(select(AuditEntry.at).where(AuditEntry.seq == before_seq)).scalar()
            if by_index
            else None
        )
        if before_at is None:
            conditions.append(AuditEntry.seq < before_seq)
        else:
            conditions.append(AuditEntry.at <= before_at)
            conditions.append(or_(AuditEntry.at < before_at, AuditEntry.seq < before_seq))
    order = (AuditEntry.at.desc(), AuditEntry.seq.desc()) if by_index else (AuditEntry.seq.desc(),)
    rows = session.execute(select(AuditEntry).where(*conditions).order_by(*order).limit(limit))
    return [_content(row) for row in rows.scalars()]

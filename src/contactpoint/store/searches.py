"""What searching needs from the database beyond the index: counting a user's
searches, raising alerts, and reading the child a search (or a look-up) shows.

A user's searches are counted from the audit log itself: each counted search's
entry carries the user's running count (see :mod:`contactpoint.services.search`),
so the count needs no table of its own and cannot drift from the record of what
was done, and reading it costs three short index walks, not a day of entries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    Result,
    Text,
    TextClause,
    TextualSelect,
    bindparam,
    column,
    exists,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from contactpoint.domain.identity_change import ChildState, ChildStatus
from contactpoint.entropy import random_uuid
from contactpoint.store.bulk import is_postgresql, member_of
from contactpoint.store.round_trips import Statement, run_together
from contactpoint.store.tables import (
    Alert,
    BlindIndexEntry,
    Child,
    ReviewItem,
    SourceRecord,
)
from contactpoint.store.types import UTCDateTime, as_utc

SHOWN_CIPHERTEXTS = tuple(
    f"{name}_enc"
    for name in (
        "given_names",
        "family_name",
        "former_family_names",
        "preferred_name",
        "date_of_birth",
        "gender",
        "nhs_number",
        "upn",
        "address",
        "no_fixed_abode",
        "circumstances",
        "carers",
        "services",
    )
)
"""Every field's ciphertext but the match features'."""


@dataclass(frozen=True, slots=True)
class HeldChild:
    state: ChildState
    records: list[Mapping[str, Any]]
    """Its active records (id, source, source_record_id, updated_at and every field's
    ciphertext), oldest first; none for a child that is not active."""


_CHILD_WITH_RECORDS = text(
    """
    SELECT c.status, c.merged_into, c.shielded, c.shield_origin,
           sr.id, sr.source, sr.source_record_id, sr.updated_at,
           sr.given_names_enc, sr.family_name_enc, sr.former_family_names_enc,
           sr.preferred_name_enc, sr.date_of_birth_enc, sr.gender_enc, sr.nhs_number_enc,
           sr.upn_enc, sr.address_enc, sr.no_fixed_abode_enc, sr.circumstances_enc,
           sr.carers_enc, sr.services_enc
    FROM children c
    LEFT JOIN source_records sr
      ON sr.child_id = c.id AND sr.ended_at IS NULL AND c.status = :active
    WHERE c.id = :child_id
    ORDER BY sr.updated_at, sr.source
    """
).columns(
    Child.__table__.c.status,
    Child.__table__.c.merged_into,
    Child.__table__.c.shielded,
    Child.__table__.c.shield_origin,
    *(
        SourceRecord.__table__.c[name]
        for name in ("id", "source", "source_record_id", "updated_at", *SHOWN_CIPHERTEXTS)
    ),
)
"""Written out once: a plain statement costs far less to run again and again than one
built from the ORM, and the columns it names give the results the table's types (the
record id, the times, the flags) as the ORM would."""


_STATE_COLUMNS = ("status", "merged_into", "shielded", "shield_origin")
_RECORD_COLUMNS = ("id", "source", "source_record_id", "updated_at", *SHOWN_CIPHERTEXTS)


def child_with_records(session: Session, child_id: str) -> HeldChild | None:
    """A child's state and, if it is active, its active records: what showing the child
    needs, in one round trip. None for an ID that names no child.

    Read through :func:`~contactpoint.store.round_trips.run_together`, as the search's
    other statements are, past SQLAlchemy's execution and result machinery: in a profile
    of the search that machinery took most of this read's time."""
    (rows,) = run_together(
        session,
        [
            Statement(
                _CHILD_WITH_RECORDS, {"child_id": child_id, "active": ChildStatus.ACTIVE.value}
            )
        ],
    )
    if not rows:
        return None
    split = len(_STATE_COLUMNS)
    state = ChildState.from_json(dict(zip(_STATE_COLUMNS, rows[0][:split], strict=True)))
    records: list[Mapping[str, Any]] = []
    for row in rows:
        if row[split] is None:
            continue
        record = dict(zip(_RECORD_COLUMNS, row[split:], strict=True))
        record["updated_at"] = as_utc(record["updated_at"])
        records.append(record)
    return HeldChild(state, records)


_CANDIDATES_BY_TOKEN = text(
    """
    WITH hits AS (
        SELECT DISTINCT b.child_id FROM blind_index b
        JOIN unnest(CAST(:kinds AS smallint[]), CAST(:tokens AS integer[])) AS q(kind, token)
          ON b.kind = q.kind AND b.token = q.token
    )
    SELECT sr.id, sr.child_id, sr.match_enc, c.shielded,
           COALESCE(queue.waiting, false) AS provisional
    FROM hits
    JOIN children c ON c.id = hits.child_id
    LEFT JOIN LATERAL (
        SELECT bool_or(r.status = 'open') AS waiting FROM review_items r
        WHERE r.child_id = hits.child_id
    ) AS queue ON true
    JOIN source_records sr ON sr.child_id = hits.child_id AND sr.ended_at IS NULL
    """
)
"""Whether each candidate waits in the review queue is read from that child's review
items through ``ix_review_items_child_id``, the status tested on those few. Written as
``EXISTS (... AND status = 'open')``, the planner, without statistics on the queue, may
instead gather every open item in the queue on every search (17,000 at 1,000,000
children: most of the search's time in the database)."""


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


CandidateRow = tuple[uuid.UUID, str, bytes | None, bool, bool]
"""A candidate record as read: its id, child, match features (encrypted), and whether
the child is shielded and whether it waits for review."""


def _candidates_statement(ordered: Sequence[tuple[int, int]]) -> Statement:
    return Statement(
        _CANDIDATES_BY_TOKEN,
        {"kinds": [k for k, _ in ordered], "tokens": [t for _, t in ordered]},
    )


def _candidate_rows(rows: Iterable[Sequence[Any]]) -> list[CandidateRow]:
    """The rows as tuples; the flags as booleans (SQLite gives ``EXISTS`` as 0 or 1)."""
    return [
        (record_id, child_id, match_enc, bool(shielded), bool(provisional))
        for record_id, child_id, match_enc, shielded, provisional in rows
    ]


def candidates_by_tokens(session: Session, keys: Collection[tuple[int, int]]) -> list[CandidateRow]:
    """Every active record of every child filed under any of these (kind, token) pairs:
    the whole candidate set of a search in one round trip, found only through the blind
    index."""
    if not keys:
        return []
    ordered = sorted(set(keys))
    if is_postgresql(session):
        return _candidate_rows(run_together(session, [_candidates_statement(ordered)])[0])
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


def candidates_of_children(session: Session, child_ids: Collection[str]) -> list[CandidateRow]:
    """The same rows for children named directly (a ContactPoint ID)."""
    if not child_ids:
        return []
    return _active_records(session, member_of(session, SourceRecord.child_id, sorted(child_ids)))


def _active_records(session: Session, which: Any) -> list[CandidateRow]:
    return _candidate_rows(
        session.execute(
            select(*_candidate_columns())
            .join(Child, Child.id == SourceRecord.child_id)
            .where(which, SourceRecord.ended_at.is_(None))
        )
    )


_SEARCHER_LOCKS = 0x53724C6D  # any constant; names the space of the per-user search locks


_BEGIN_SEARCH = text(
    """
    SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:user AS integer)),
           set_config('plan_cache_mode', 'force_generic_plan', true)
    """
)


@dataclass(frozen=True, slots=True)
class SearchStart:
    marks: SearchMarks
    candidates: list[CandidateRow]
    """The candidates filed under the tokens :func:`begin_search` was given."""


@dataclass(frozen=True, slots=True)
class SearchMarks:
    """The details of three of an actor's counted searches (None where there is none):
    the latest, and the latest before each window began."""

    latest: str | None
    before_minute: str | None
    before_day: str | None


_RECENT = 16
"""How many of an actor's latest entries each mark looks through: a search writes one
to a few, so the last counted search is almost always among them."""

_MARKS = """
    SELECT * FROM (
      SELECT 0 AS mark, at, seq, (action IN :actions AND outcome IN :outcomes) AS counted,
             CASE WHEN action IN :actions AND outcome IN :outcomes THEN details END AS details
      FROM audit_log WHERE actor = :actor
      ORDER BY at DESC LIMIT :recent) AS latest
    UNION ALL
    SELECT * FROM (
      SELECT 1 AS mark, at, seq, (action IN :actions AND outcome IN :outcomes) AS counted,
             CASE WHEN action IN :actions AND outcome IN :outcomes THEN details END AS details
      FROM audit_log WHERE actor = :actor AND at < :minute_start
      ORDER BY at DESC LIMIT :recent) AS before_minute
    UNION ALL
    SELECT * FROM (
      SELECT 2 AS mark, at, seq, (action IN :actions AND outcome IN :outcomes) AS counted,
             CASE WHEN action IN :actions AND outcome IN :outcomes THEN details END AS details
      FROM audit_log WHERE actor = :actor AND at < :day_start
      ORDER BY at DESC LIMIT :recent) AS before_day
"""
"""Each part a walk back along ``ix_audit_log_actor_at`` in its own order, over the
actor's latest entries whatever they are: a filter in the walk itself would leave the
plan to the planner's guess at how many entries pass it, and without statistics it
guesses few and reads the actor's whole history instead."""
_MARKS_COLUMNS = (
    column("mark", Integer),
    column("at", UTCDateTime),
    column("seq", BigInteger),
    column("counted", Boolean),
    column("details", Text),
)
_LAST = """
    SELECT details FROM audit_log
    WHERE actor = :actor AND action IN :actions AND outcome IN :outcomes AND at < :before
    ORDER BY at DESC, seq DESC LIMIT 1
"""
_AT = """
    SELECT details FROM audit_log
    WHERE actor = :actor AND action IN :actions AND outcome IN :outcomes AND at = :at
    ORDER BY seq DESC LIMIT 1
"""
_BY_OUTCOME = """
    SELECT outcome, COUNT(*) FROM audit_log
    WHERE actor = :actor AND action IN :actions AND outcome IN :outcomes AND at >= :since
    GROUP BY outcome
"""
_TIMES = ("minute_start", "day_start", "before", "at", "since")
_NO_LATER_THAN = datetime.max.replace(tzinfo=UTC)


@cache
def _counting(template: str, actions: int, outcomes: int) -> TextClause | TextualSelect:
    """``template`` with its lists of actions and outcomes written out as that many
    parameters: a statement whose text never changes is prepared once by the database and
    compiled once here (an expanding list is rewritten on every run)."""
    sql = template
    for name, count in (("actions", actions), ("outcomes", outcomes)):
        listed = ", ".join(f":{name}_{n}" for n in range(count))
        sql = sql.replace(f"IN :{name}", f"IN ({listed})")
    statement = text(sql).bindparams(
        *(bindparam(name, type_=UTCDateTime()) for name in _TIMES if f":{name}" in sql)
    )
    return statement.columns(*_MARKS_COLUMNS) if template is _MARKS else statement


def _counting_parameters(
    actor: str, actions: Collection[str], outcomes: Collection[str], **values: object
) -> dict[str, object]:
    parameters: dict[str, object] = {"actor": actor, **values}
    for name, listed in (("actions", actions), ("outcomes", outcomes)):
        parameters.update({f"{name}_{n}": value for n, value in enumerate(listed)})
    return parameters


def _counted(
    session: Session,
    sql: str,
    actor: str,
    actions: Collection[str],
    outcomes: Collection[str],
    **values: object,
) -> Result[*tuple[Any, ...]]:
    return session.execute(
        _counting(sql, len(actions), len(outcomes)),
        _counting_parameters(actor, actions, outcomes, **values),
    )


def begin_search(
    session: Session,
    user_id: int,
    *,
    actor: str,
    actions: Collection[str],
    outcomes: Collection[str],
    minute_start: datetime,
    day_start: datetime,
    tokens: Collection[tuple[int, int]] = (),
) -> SearchStart:
    """Start the user's search: take their search lock, then read their marks, and the
    candidates filed under ``tokens`` (:func:`candidates_by_tokens`).

    The lock lets one search at a time of this user's count against their limits: held
    until the transaction ends, so each search reads the count the one before it wrote.
    On SQLite every writer already holds the database lock from ``BEGIN IMMEDIATE``.

    On PostgreSQL the rest of the transaction also uses each prepared statement's generic
    plan. Every statement of a search is a walk along an index whatever its values, but
    for the array of index tokens PostgreSQL would otherwise plan each run afresh, which
    cost about as much as running it. The lock and the marks go in one round trip
    (:mod:`contactpoint.store.round_trips`), with the candidates, which the search reads
    whether or not its user is over a limit: read with the lock they cost nothing but the
    database's work, and a refused search never decrypts them. Each is read in a
    snapshot taken after the lock is granted.
    """
    marks = Statement(
        _counting(_MARKS, len(actions), len(outcomes)),
        _counting_parameters(
            actor,
            actions,
            outcomes,
            minute_start=minute_start,
            day_start=day_start,
            recent=_RECENT,
        ),
    )
    ordered = sorted(set(tokens))
    if is_postgresql(session):
        lock = Statement(_BEGIN_SEARCH, {"space": _SEARCHER_LOCKS, "user": user_id})
        read = [lock, marks, *([_candidates_statement(ordered)] if ordered else [])]
        answers = run_together(session, read)
        rows = answers[1]
        candidates = _candidate_rows(answers[2]) if ordered else []
    else:
        rows = run_together(session, [marks])[0]
        candidates = candidates_by_tokens(session, ordered)
    recent: list[list[_Mark]] = [[], [], []]
    for mark, at, seq, counted, details in rows:
        recent[mark].append(_Mark(as_utc(at), int(seq), bool(counted), details))
    bounds = (_NO_LATER_THAN, minute_start, day_start)

    def last(mark: int) -> str | None:
        """The latest counted search's details among the entries before the mark's bound."""
        seen = recent[mark]
        counted = [r for r in seen if r.counted]
        whole = len(seen) < _RECENT  # every entry before the bound was looked at
        if not counted:
            if whole:
                return None
            found = _counted(session, _LAST, actor, actions, outcomes, before=bounds[mark])
            details = found.scalar()
            return None if details is None else str(details)
        top = max(counted, key=lambda r: (r.at, r.seq))
        if whole or top.at > min(r.at for r in seen):
            return str(top.details)
        # The walk stopped among entries of top's very instant: the latest of them by number.
        return str(_counted(session, _AT, actor, actions, outcomes, at=top.at).scalar_one())

    return SearchStart(SearchMarks(last(0), last(1), last(2)), candidates)


@dataclass(frozen=True, slots=True)
class _Mark:
    at: datetime
    seq: int
    counted: bool
    details: str | None


def searches_by_outcome(
    session: Session,
    *,
    actor: str,
    actions: Collection[str],
    outcomes: Collection[str],
    since: datetime,
) -> dict[str, int]:
    """How many of the actor's searches since ``since`` ended each way: a walk over all of
    them, for entries written before searches carried their running count."""
    rows = _counted(session, _BY_OUTCOME, actor, actions, outcomes, since=since).all()
    return {str(row[0]): int(row[1]) for row in rows}


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
    alert_id = random_uuid()
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

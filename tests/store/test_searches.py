"""What the search reads and locks, checked against the schema and a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import FixedClock
from contactpoint.store import migrate, searches
from contactpoint.store.database import make_engine
from contactpoint.store.searches import SHOWN_CIPHERTEXTS
from contactpoint.store.tables import SourceRecord
from contactpoint.vault.keyring import Keyring
from tests.conftest import PgDatabases


def test_a_shown_child_is_read_with_every_ciphertext_but_the_match_features() -> None:
    """A field added to the records later must be added to what a view reads."""
    ciphertexts = {c.name for c in SourceRecord.__table__.c if c.name.endswith("_enc")}
    assert set(SHOWN_CIPHERTEXTS) == ciphertexts - {"match_enc"}


@pytest.fixture
def pg_engine_of_its_own(pg_databases: PgDatabases) -> Iterator[Engine]:
    engine = make_engine(pg_databases.create())
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def begin_search(session: Session, user_id: int) -> None:
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    searches.begin_search(
        session,
        user_id,
        actor=f"user{user_id}",
        actions=ACTIONS,
        outcomes=COUNTED,
        minute_start=now - timedelta(minutes=1),
        day_start=now - timedelta(days=1),
    )


def test_one_search_at_a_time_per_user(pg_engine_of_its_own: Engine) -> None:
    """While one of a user's searches runs, their next waits; other users' do not."""
    with Session(pg_engine_of_its_own) as holder, Session(pg_engine_of_its_own) as other:
        begin_search(holder, 7)
        plans = text("SHOW plan_cache_mode")
        assert holder.execute(plans).scalar() == "force_generic_plan"  # for this search only
        other.execute(text("SET lock_timeout = '200ms'"))
        begin_search(other, 8)
        other.rollback()
        other.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            begin_search(other, 7)
        other.rollback()
        holder.rollback()
        assert holder.execute(plans).scalar() == "auto"
        other.execute(text("SET lock_timeout = '200ms'"))
        begin_search(other, 7)
        other.rollback()


ACTIONS = ("search", "emergency.search")
COUNTED = ("match", "no_unique_match", "insufficient_detail")


def write(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    action: str,
    outcome: str,
    n: int,
    actor: str = "pat.one",
) -> None:
    with sessions.begin() as session:
        record(
            session,
            key=keyring.audit_key,
            clock=clock,
            actor=Actor(actor),
            action=action,
            outcome=outcome,
            details={"n": n},
        )


def marks(sessions: sessionmaker[Session], clock: FixedClock) -> list[int | None]:
    now = clock.now()
    with sessions() as session:
        found = searches.begin_search(
            session,
            1,
            actor="pat.one",
            actions=ACTIONS,
            outcomes=COUNTED,
            minute_start=now - timedelta(minutes=1),
            day_start=now - timedelta(days=1),
        )
    return [
        None if d is None else json.loads(d)["n"]
        for d in (found.marks.latest, found.marks.before_minute, found.marks.before_day)
    ]


def test_the_marks_are_the_last_counted_search_before_each_bound(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock
) -> None:
    assert marks(sessions, clock) == [None, None, None]
    write(sessions, keyring, clock, "search", "match", 1)
    clock.advance(timedelta(hours=2))
    write(sessions, keyring, clock, "search", "no_unique_match", 2)
    write(sessions, keyring, clock, "search", "rate_limited", 0)  # not counted
    write(sessions, keyring, clock, "child.view", "shown", 0)
    write(sessions, keyring, clock, "search", "match", 1, actor="someone.else")
    clock.advance(timedelta(minutes=5))
    write(sessions, keyring, clock, "emergency.search", "insufficient_detail", 3)
    write(sessions, keyring, clock, "search.view", "shown", 0)
    assert marks(sessions, clock) == [3, 2, None]
    clock.advance(timedelta(hours=23))
    assert marks(sessions, clock) == [3, 3, 1]


def test_a_counted_search_behind_many_other_entries_is_still_found(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock
) -> None:
    write(sessions, keyring, clock, "search", "match", 1)
    for _ in range(40):
        clock.advance(timedelta(seconds=3))
        write(sessions, keyring, clock, "search.matched", "not_returned", 0)
    assert marks(sessions, clock) == [1, 1, None]


def test_searches_at_one_instant_are_told_apart_by_number(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock
) -> None:
    """A clock that stands still (as the tests' does) gives many entries one time."""
    for n in range(1, 41):
        write(sessions, keyring, clock, "search", "match", n)
        write(sessions, keyring, clock, "search.view", "shown", 0)
    assert marks(sessions, clock)[0] == 40

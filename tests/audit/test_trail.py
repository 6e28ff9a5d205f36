"""Appending to the chain: one entry, or a batch in one lock and one insert, on both
databases, and from many transactions at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.chain import chain_of
from contactpoint.audit.trail import Actor, AuditBatch, record
from contactpoint.clock import FixedClock
from contactpoint.services.audit_check import verify_audit
from contactpoint.store import migrate
from contactpoint.store.database import make_engine, session_factory
from contactpoint.store.tables import AuditEntry
from contactpoint.vault.keyring import Keyring
from tests.conftest import PgDatabases
from tests.sql_statements import watch

ALICE = Actor(name="alice", role="practitioner", organisation="Leeds Park Primary School")


def entries(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def test_a_batch_goes_in_as_one_insert_in_order_naming_its_own_entries(
    connection: Connection,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sessions.begin() as session:
        first = record(session, key=keyring.audit_key, clock=clock, actor=ALICE, action="before")
    batch = AuditBatch()
    search = batch.add(actor=ALICE, action="search", outcome="no_unique_match")
    for child in ("AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF"):
        batch.add(
            actor=ALICE,
            action="search.matched",
            outcome="not_returned",
            child_id=child,
            details={"scope": "standard"},
            seq_refs={"search_seq": search},
        )
    sent = watch(connection, monkeypatch)
    with sessions.begin() as session:
        seqs = batch.write(session, key=keyring.audit_key, clock=clock)
    inserts = [s for s in sent if s.upper().startswith("INSERT INTO AUDIT_LOG")]
    assert len(inserts) == 1, sent
    assert sent[-1] == inserts[0], "the insert is the last thing before the commit"
    if connection.dialect.name == "postgresql":
        lock, head = sent[-3:-1]
        assert lock.startswith("SELECT pg_advisory_xact_lock"), "the chain's lock first"
        assert head.startswith("SELECT (SELECT hash FROM audit_log WHERE chain"), "then its head"
        assert "nextval('audit_log_seq')" in head, "with the numbers, after the lock"
    assert not [s for s in sent if "UPDATE" in s.upper() or "DELETE" in s.upper()]
    assert seqs == [first + 1, first + 2, first + 3]
    assert len(batch) == 0
    written = entries(sessions)
    assert [e.action for e in written] == ["before", "search", "search.matched", "search.matched"]
    for matched in written[2:]:
        assert json.loads(matched.details) == {"scope": "standard", "search_seq": first + 1}
    assert [e.child_id for e in written[2:]] == ["AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF"]
    with sessions() as session:
        assert verify_audit(session, keyring.audit_key).ok


def test_an_empty_batch_writes_nothing(
    connection: Connection,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = watch(connection, monkeypatch)
    with sessions.begin() as session:
        assert AuditBatch().write(session, key=keyring.audit_key, clock=clock) == []
    assert sent == []
    assert entries(sessions) == []


def test_an_entry_names_only_an_entry_before_it() -> None:
    batch = AuditBatch()
    batch.add(actor=ALICE, action="search")
    with pytest.raises(ValueError, match="added before"):
        batch.add(actor=ALICE, action="search.matched", seq_refs={"search_seq": 1})
    with pytest.raises(ValueError, match="added before"):
        batch.add(actor=ALICE, action="search.matched", seq_refs={"search_seq": -1})


# --- many writers at once ---------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> Iterator[Engine]:
    """A database of its own whose writers really commit, from several connections."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'contactpoint.db'}")
    else:
        engine = make_engine(pg_databases.create(), pool_size=8)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_concurrent_batches_keep_one_chain(
    fresh_engine: Engine, keyring: Keyring, clock: FixedClock
) -> None:
    """Each writer reads the head only once it holds the chain lock, so no two
    transactions ever build on the same head: every entry lands, the numbers run
    without a gap, and the chain verifies."""
    sessions = session_factory(fresh_engine)
    writers, rounds, size = 6, 15, 3
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(number: int) -> None:
        try:
            start.wait()
            for round_ in range(rounds):
                batch = AuditBatch()
                first = batch.add(actor=Actor(f"writer.{number}"), action="search")
                for _ in range(size - 1):
                    batch.add(
                        actor=Actor(f"writer.{number}"),
                        action="search.matched",
                        details={"round": round_},
                        seq_refs={"search_seq": first},
                    )
                with sessions.begin() as session:
                    batch.write(session, key=keyring.audit_key, clock=clock)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    written = entries(sessions)
    assert [e.seq for e in written] == list(range(1, writers * rounds * size + 1))
    for entry in written:
        if entry.action == "search.matched":
            search = written[json.loads(entry.details)["search_seq"] - 1]
            assert (search.action, search.actor) == ("search", entry.actor)
    with sessions() as session:
        result = verify_audit(session, keyring.audit_key)
    assert result.ok, result
    assert result.verified == writers * rounds * size


def test_appends_to_other_chains_do_not_wait_for_one_another(
    pg_databases: PgDatabases, keyring: Keyring, clock: FixedClock
) -> None:
    """While one transaction holds its chain, an actor on another chain appends and
    commits; one on the same chain waits. A rolled-back append leaves a gap in the
    numbers, and the log still verifies. (On SQLite one writer at a time writes.)"""
    engine = make_engine(pg_databases.create(), pool_size=4)
    migrate.upgrade(engine)
    actors = [Actor(f"user.{n}") for n in range(64)]
    holder = actors[0]
    same = next(a for a in actors[1:] if chain_of(a.name) == chain_of(holder.name))
    other = next(a for a in actors[1:] if chain_of(a.name) != chain_of(holder.name))
    sessions = session_factory(engine)
    audit_key = keyring.audit_key

    with sessions.begin() as held:
        held_seq = record(held, key=audit_key, clock=clock, actor=holder, action="held")
        with sessions.begin() as session:
            session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            other_seq = record(session, key=audit_key, clock=clock, actor=other, action="other")
        with sessions() as session:
            session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                record(session, key=audit_key, clock=clock, actor=same, action="same")
    with sessions.begin() as session:
        later = record(session, key=audit_key, clock=clock, actor=same, action="same")
    with sessions.begin() as session:
        rolled_back = record(session, key=audit_key, clock=clock, actor=other, action="undone")
        session.rollback()
    with sessions.begin() as session:
        last = record(session, key=audit_key, clock=clock, actor=other, action="after")

    written = entries(sessions)
    assert [(e.seq, e.action) for e in written] == [
        (held_seq, "held"),
        (other_seq, "other"),
        (later, "same"),
        (last, "after"),
    ]
    assert rolled_back not in {e.seq for e in written}
    assert last > rolled_back
    assert {e.chain for e in written} == {chain_of(holder.name), chain_of(other.name)}
    with sessions() as session:
        result = verify_audit(session, keyring.audit_key)
    assert result.ok, result
    assert result.verified == 4
    engine.dispose()


def test_a_batch_larger_than_one_statement_holds_goes_in_whole(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock
) -> None:
    batch = AuditBatch()
    search = batch.add(actor=ALICE, action="search")
    for n in range(1200):
        batch.add(
            actor=ALICE,
            action="search.matched",
            child_id=f"C{n:013d}",
            seq_refs={"search_seq": search},
        )
    with sessions.begin() as session:
        seqs = batch.write(session, key=keyring.audit_key, clock=clock)
    assert seqs == list(range(seqs[0], seqs[0] + 1201))
    written = entries(sessions)
    assert [e.seq for e in written] == seqs
    assert {json.loads(e.details)["search_seq"] for e in written[1:]} == {seqs[0]}
    with sessions() as session:
        assert verify_audit(session, keyring.audit_key).verified == 1201

"""The auditor's search of the audit log and check of its chain, each audited."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import FixedClock
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.domain.vocabulary import Role
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.audit_search import (
    ACTIONS,
    SEARCH_ACTION,
    VERIFY_ACTION,
    AuditQuery,
    CriteriaProblem,
    InvalidAuditQueryError,
    check_audit_chain,
    search_audit,
)
from contactpoint.services.sign_in import Principal
from contactpoint.store.tables import AuditEntry
from contactpoint.vault.keyring import Keyring

SOURCE = Path(__file__).resolve().parents[2] / "src" / "contactpoint"
START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def auditor() -> Principal:
    return Principal(
        user_id=7,
        username="audrey.auditor",
        role=Role.AUDITOR,
        organisation="ContactPoint assurance",
        area=None,
        token_id=uuid.uuid4(),
    )


def write(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    *,
    actor: str,
    action: str = "child.view",
    outcome: str = "shown",
    child_id: str | None = None,
    times: int = 1,
    step: timedelta = timedelta(minutes=1),
) -> list[int]:
    """``times`` entries, the clock moving on by ``step`` after each."""
    written = []
    with sessions.begin() as session:
        for _ in range(times):
            written.append(
                record(
                    session,
                    key=keyring.audit_key,
                    clock=clock,
                    actor=Actor(actor, "practitioner", "Leeds Park Primary School"),
                    action=action,
                    outcome=outcome,
                    child_id=child_id,
                    details={"token_id": "t"},
                )
            )
            clock.advance(step)
    return written


def search(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    auditor: Principal,
    query: AuditQuery,
    **options: int,
) -> tuple[list[int], bool, int | None]:
    with sessions.begin() as session:
        page = search_audit(
            session,
            audit_key=keyring.audit_key,
            clock=clock,
            principal=auditor,
            query=query,
            **options,  # type: ignore[arg-type]
        )
    return [entry.seq for entry in page.entries], page.more, page.older_than


def entries(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).scalars()
        )


def test_search_by_user_finds_only_theirs_newest_first_and_is_audited(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock, auditor: Principal
) -> None:
    child = new_contactpoint_id()
    mine = write(sessions, keyring, clock, actor="pat.one", child_id=child, times=3)
    write(sessions, keyring, clock, actor="pat.two", child_id=child, times=2)

    found, more, _ = search(sessions, keyring, clock, auditor, AuditQuery(user="pat.one"))

    assert found == sorted(mine, reverse=True)
    assert not more
    (entry,) = entries(sessions, SEARCH_ACTION)
    assert entry.actor == "audrey.auditor"
    assert entry.role == "auditor"
    assert entry.child_id is None
    details = json.loads(entry.details)
    assert details["criteria"] == {"user": "pat.one"}
    assert details["shown"] == 3
    assert details["more"] is False
    assert details["token_id"] == str(auditor.token_id)


def test_search_by_child_records_the_child_so_their_history_shows_the_look(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock, auditor: Principal
) -> None:
    child, other = new_contactpoint_id(), new_contactpoint_id()
    theirs = write(sessions, keyring, clock, actor="pat.one", child_id=child, times=2)
    write(sessions, keyring, clock, actor="pat.one", child_id=other, times=2)

    found, _, _ = search(sessions, keyring, clock, auditor, AuditQuery(child_id=child))

    assert found == sorted(theirs, reverse=True)
    (entry,) = entries(sessions, SEARCH_ACTION)
    assert entry.child_id == child
    assert child not in entry.details
    again, _, _ = search(sessions, keyring, clock, auditor, AuditQuery(child_id=child))
    assert again[0] == entry.seq, "the auditor's look is now part of the child's history"


def test_time_range_includes_its_start_and_excludes_its_end(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock, auditor: Principal
) -> None:
    seqs = write(sessions, keyring, clock, actor="pat.one", times=5)  # 12:00 .. 12:04

    found, _, _ = search(
        sessions,
        keyring,
        clock,
        auditor,
        AuditQuery(start=START + timedelta(minutes=1), end=START + timedelta(minutes=3)),
    )

    assert found == [seqs[2], seqs[1]]
    details = json.loads(entries(sessions, SEARCH_ACTION)[0].details)
    assert details["criteria"] == {
        "from": "2026-11-24T12:01:00+00:00",
        "to": "2026-11-24T12:03:00+00:00",
    }


def test_action_and_outcome_narrow_a_search(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock, auditor: Principal
) -> None:
    write(sessions, keyring, clock, actor="pat.one", outcome="shown")
    refused = write(sessions, keyring, clock, actor="pat.one", outcome="refused")
    signed_in = write(sessions, keyring, clock, actor="pat.one", action="auth.sign_in")

    assert (
        search(sessions, keyring, clock, auditor, AuditQuery(user="pat.one", outcome="refused"))[0]
        == refused
    )
    assert (
        search(
            sessions, keyring, clock, auditor, AuditQuery(user="pat.one", action="auth.sign_in")
        )[0]
        == signed_in
    )


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (AuditQuery(), CriteriaProblem.NOTHING_TO_SEARCH_BY),
        (AuditQuery(action="child.view", outcome="shown"), CriteriaProblem.NOTHING_TO_SEARCH_BY),
        (AuditQuery(start=START, end=START), CriteriaProblem.ENDS_BEFORE_START),
        (AuditQuery(user="pat.one", action="drop.tables"), CriteriaProblem.UNKNOWN_ACTION),
        (AuditQuery(user="p" * 65), CriteriaProblem.USER_TOO_LONG),
        (AuditQuery(user="pat.one", outcome="o" * 33), CriteriaProblem.OUTCOME_TOO_LONG),
    ],
)
def test_a_search_without_something_to_search_by_is_refused_and_reads_nothing(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    auditor: Principal,
    query: AuditQuery,
    problem: CriteriaProblem,
) -> None:
    with pytest.raises(InvalidAuditQueryError) as refused:
        search(sessions, keyring, clock, auditor, query)
    assert refused.value.problems == [problem]
    assert entries(sessions, SEARCH_ACTION) == []


@pytest.mark.parametrize("by", ["user", "child", "time"])
def test_pages_follow_on_without_gaps_or_repeats(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    auditor: Principal,
    by: str,
) -> None:
    child = new_contactpoint_id()
    # Several entries share a time, so the order must break ties by seq.
    seqs = write(
        sessions, keyring, clock, actor="pat.one", child_id=child, times=7, step=timedelta(0)
    )
    seqs += write(sessions, keyring, clock, actor="pat.one", child_id=child, times=4)
    query = {
        "user": AuditQuery(user="pat.one"),
        "child": AuditQuery(child_id=child),
        "time": AuditQuery(start=START, end=START + timedelta(hours=1), action="child.view"),
    }[by]

    seen: list[int] = []
    before: int | None = None
    pages = 0
    while True:
        options = {"limit": 3} if before is None else {"limit": 3, "before_seq": before}
        found, more, older_than = search(sessions, keyring, clock, auditor, query, **options)
        seen += found
        pages += 1
        if not more:
            break
        assert older_than == found[-1]
        before = older_than

    assert seen == sorted(seqs, reverse=True)
    assert pages == 4
    logged = [json.loads(e.details) for e in entries(sessions, SEARCH_ACTION)]
    assert [d.get("before_seq") for d in logged] == [None, seen[2], seen[5], seen[8]]
    assert [d["more"] for d in logged] == [True, True, True, False]


def entries_before(sessions: sessionmaker[Session], seq: int) -> int:
    """How many entries come before number ``seq`` (numbers may skip on PostgreSQL)."""
    with sessions() as session:
        return int(
            session.execute(
                text("SELECT COUNT(*) FROM audit_log WHERE seq < :s"), {"s": seq}
            ).scalar_one()
        )


def test_a_check_of_a_sound_chain_says_intact_and_is_recorded(
    sessions: sessionmaker[Session], keyring: Keyring, clock: FixedClock, auditor: Principal
) -> None:
    seqs = write(sessions, keyring, clock, actor="pat.one", times=3)

    checked = check_audit_chain(
        sessions, audit_key=keyring.audit_key, clock=clock, principal=auditor, client="192.0.2.9"
    )

    written = entries_before(sessions, seqs[-1] + 1)
    assert checked.verification.ok
    assert checked.verification.verified == written
    (entry,) = entries(sessions, VERIFY_ACTION)
    assert entry.seq == checked.recorded_as > seqs[-1]
    assert entry.outcome == "intact"
    assert json.loads(entry.details) == {
        "verified": written,
        "token_id": str(auditor.token_id),
        "client": "192.0.2.9",
    }
    with sessions() as session:
        assert verify_audit(session, keyring.audit_key).ok


def test_a_check_of_a_tampered_chain_names_where_it_breaks(
    connection: Connection,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FixedClock,
    auditor: Principal,
) -> None:
    seqs = write(sessions, keyring, clock, actor="pat.one", times=4)
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
    connection.execute(
        text('UPDATE audit_log SET details = \'{"token_id":"u"}\' WHERE seq = :s'),
        {"s": seqs[2]},
    )

    checked = check_audit_chain(
        sessions, audit_key=keyring.audit_key, clock=clock, principal=auditor
    )

    assert not checked.verification.ok
    assert checked.verification.first_bad_seq == seqs[2]
    assert checked.verification.verified == entries_before(sessions, seqs[2])
    (entry,) = entries(sessions, VERIFY_ACTION)
    assert entry.outcome == "broken"
    details = json.loads(entry.details)
    assert details["first_bad_seq"] == seqs[2]
    assert details["verified"] == entries_before(sessions, seqs[2])
    assert "altered" in details["problem"]


def test_every_action_the_source_writes_can_be_chosen() -> None:
    """An action written as ``action="..."`` or named ``..._ACTION = "..."`` anywhere
    outside the pages is in the list the auditor picks from; add it to ``ACTIONS`` when
    this fails."""
    written_as = re.compile(
        r'\baction="([a-z_]+(?:\.[a-z_]+)*)"'
        r'|\b[A-Z_]*ACTION(?:: Final)? = "([a-z_]+(?:\.[a-z_]+)+)"'
    )
    written = {
        literal or constant
        for path in SOURCE.rglob("*.py")
        if "pages" not in path.parts  # a page's "action" is a form's, not the log's
        for literal, constant in written_as.findall(path.read_text(encoding="utf-8"))
    }
    assert {"child.view", "search.matched", "user.add"} <= written, "the patterns miss some"
    assert written <= set(ACTIONS), sorted(written - set(ACTIONS))
    assert {"auth.token_refused", "auth.role_refused", "search", "identity.merge"} <= set(ACTIONS)

"""Identity review, merge, split and undo against a real SQLite file and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.errors import ContactPointError
from contactpoint.services import identity_changes
from contactpoint.services.audit_check import verify_audit
from contactpoint.store import identity as identity_store
from contactpoint.store.tables import AuditEntry, IdentityChange
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.services.placement import (
    CAMHS,
    SCHOOL,
    Desk,
    add_child,
    add_item,
    add_record,
    details,
)

UNKNOWN_CHILD = new_contactpoint_id()


@dataclass
class World:
    """A: two records. B: shielded by the local authority. C: one record.
    P: provisional, review-shielded, item_p names A and B. Q: provisional, item_q names C."""

    a: str
    a1: uuid.UUID
    a2: uuid.UUID
    b: str
    b1: uuid.UUID
    c: str
    c1: uuid.UUID
    p: str
    p1: uuid.UUID
    item_p: uuid.UUID
    q: str
    q1: uuid.UUID
    item_q: uuid.UUID


@pytest.fixture
def desk(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> Desk:
    vault.prepare()
    return Desk(sessions, vault, keyring, clock, actor)


@pytest.fixture
def world(desk: Desk, vault: Vault, clock: FixedClock) -> World:
    at = clock.now()
    with desk.sessions.begin() as s:
        a = add_child(s, at)
        a1 = add_record(s, vault, a, at, source="nhs-pds", services=(SCHOOL, CAMHS))
        a2 = add_record(s, vault, a, at, source="school-census")
        b = add_child(s, at, shielded=True, origin="local_authority")
        b1 = add_record(s, vault, b, at, child=details(given_names="Amelie", nhs_number=None))
        c = add_child(s, at)
        c1 = add_record(s, vault, c, at, child=details(given_names="Isla", family_name="Nowak"))
        p = add_child(s, at, shielded=True, origin="review")
        p1 = add_record(s, vault, p, at, source="local-authority", child=details(nhs_number=None))
        item_p = add_item(s, p1, p, [a, b], at)
        q = add_child(s, at)
        q1 = add_record(s, vault, q, at, child=details(given_names="Isla", family_name="Nowack"))
        item_q = add_item(s, q1, q, [c], at + timedelta(seconds=1), reason="ambiguous")
    return World(a, a1, a2, b, b1, c, c1, p, p1, item_p, q, q1, item_q)


def change_rows(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(IdentityChange)).scalar_one())


def audit_actions(connection: Connection) -> list[str]:
    return list(connection.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


# --- accept ---------------------------------------------------------------------------


def test_accept_moves_the_records_and_their_tokens_and_merges_the_provisional_child(
    desk: Desk, world: World, connection: Connection
) -> None:
    result = desk.accept(world.item_p, world.a)

    after = desk.snapshot()
    assert desk.child_of(world.p1) == world.a
    assert {c for (_, _, r), c in after["index"].items() if r == world.p1} == {world.a}
    assert desk.state(world.p)[:2] == ("merged", world.a)
    # The review shield was only owed while the record might have been B's.
    assert desk.state(world.a) == ("active", None, False, None)
    status, holder, resolved_at, resolved_by, change_id = after["items"][world.item_p]
    assert (status, holder, resolved_by, change_id) == (
        "accepted",
        world.a,
        desk.actor.name,
        result.change_id,
    )
    assert resolved_at is not None
    assert result.items == (world.item_p,)
    assert [m.record_id for m in result.moves] == [world.p1]
    entry = connection.execute(
        select(AuditEntry.child_id, AuditEntry.details).where(
            AuditEntry.action == "identity.accept"
        )
    ).one()
    assert entry.child_id == world.a
    logged = json.loads(entry.details)
    assert logged["change_id"] == str(result.change_id)
    assert logged["item_id"] == str(world.item_p)
    assert "Amelia" not in entry.details


def test_accepting_the_shielded_candidate_keeps_its_shield(desk: Desk, world: World) -> None:
    desk.accept(world.item_p, world.b)
    assert desk.state(world.b) == ("active", None, True, "local_authority")


def test_a_local_authority_shield_on_the_provisional_child_is_carried(
    desk: Desk, world: World
) -> None:
    desk.shield(world.q)
    desk.accept(world.item_q, world.c)
    assert desk.state(world.c) == ("active", None, True, "local_authority")


@pytest.mark.parametrize(
    ("make_target", "message"),
    [
        (lambda w: w.c, "is not a candidate"),
        (lambda w: w.p, "is not a candidate"),
        (lambda w: "not an id", "not a ContactPoint ID"),
    ],
)
def test_accept_refuses_a_child_that_is_not_a_candidate(
    desk: Desk,
    world: World,
    connection: Connection,
    make_target: Callable[[World], str],
    message: str,
) -> None:
    before = desk.snapshot()
    with pytest.raises(ContactPointError, match=message):
        desk.accept(world.item_p, make_target(world))
    assert desk.snapshot() == before
    assert change_rows(connection) == 0


def test_accept_refuses_a_candidate_merged_since_and_names_its_survivor(
    desk: Desk, world: World
) -> None:
    desk.merge(world.a, world.c)
    with pytest.raises(ContactPointError, match=f"merged into {world.c}"):
        desk.accept(world.item_p, world.a)


def test_an_item_is_decided_once(desk: Desk, world: World) -> None:
    desk.reject(world.item_p)
    with pytest.raises(ContactPointError, match="already rejected"):
        desk.accept(world.item_p, world.a)
    with pytest.raises(ContactPointError, match="already rejected"):
        desk.reject(world.item_p)


def test_an_unknown_item_says_where_to_look(desk: Desk, world: World) -> None:
    with pytest.raises(ContactPointError, match="review list"):
        desk.reject(uuid.uuid4())


# --- reject ---------------------------------------------------------------------------


def test_reject_keeps_the_record_apart_and_lifts_a_review_only_shield(
    desk: Desk, world: World
) -> None:
    before = desk.snapshot()
    desk.reject(world.item_p)
    after = desk.snapshot()
    assert after["records"] == before["records"]
    assert after["index"] == before["index"]
    assert desk.state(world.p) == ("active", None, False, None)
    assert after["items"][world.item_p][0] == "rejected"


def test_reject_never_lifts_a_local_authority_shield(desk: Desk, world: World) -> None:
    desk.shield(world.p)
    desk.reject(world.item_p)
    assert desk.state(world.p) == ("active", None, True, "local_authority")


def test_a_review_shield_stays_while_another_open_item_owes_it(
    desk: Desk, world: World, vault: Vault, clock: FixedClock
) -> None:
    with desk.sessions.begin() as s:
        p2 = add_record(s, vault, world.p, clock.now(), source="child-benefit")
        second = add_item(s, p2, world.p, [world.b], clock.now())
    desk.reject(world.item_p)
    assert desk.state(world.p) == ("active", None, True, "review")
    desk.reject(second)
    assert desk.state(world.p) == ("active", None, False, None)


# --- merge and split ------------------------------------------------------------------


def test_merge_moves_every_record_and_the_survivor_takes_the_shield(
    desk: Desk, world: World
) -> None:
    desk.merge(world.b, world.a)
    assert {desk.child_of(r) for r in (world.a1, world.a2, world.b1)} == {world.a}
    assert desk.state(world.b) == ("merged", world.a, True, "local_authority")
    assert desk.state(world.a) == ("active", None, True, "local_authority")


def test_merge_keeps_the_local_authority_origin_over_review(desk: Desk, world: World) -> None:
    desk.merge(world.p, world.b)
    assert desk.state(world.b) == ("active", None, True, "local_authority")


def test_open_items_follow_their_record_through_a_merge(desk: Desk, world: World) -> None:
    desk.merge(world.p, world.c)
    assert desk.state(world.c) == ("active", None, True, "review")
    page = desk.open_items()
    assert {i.id: i.child_id for i in page.items}[world.item_p] == world.c
    # Rejecting the item now lifts the review shield the merge carried to C.
    desk.reject(world.item_p)
    assert desk.state(world.c) == ("active", None, False, None)


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (lambda w: (w.a, w.a), "into itself"),
        (lambda w: (w.a, UNKNOWN_CHILD), "no child"),
        (lambda w: (UNKNOWN_CHILD, w.a), "no child"),
    ],
)
def test_merge_refusals_write_nothing(
    desk: Desk,
    world: World,
    connection: Connection,
    pick: Callable[[World], tuple[str, str]],
    message: str,
) -> None:
    before = desk.snapshot()
    with pytest.raises(ContactPointError, match=message):
        desk.merge(*pick(world))
    assert desk.snapshot() == before
    assert change_rows(connection) == 0


def test_a_merged_child_cannot_be_merged_again(desk: Desk, world: World) -> None:
    desk.merge(world.a, world.c)
    with pytest.raises(ContactPointError, match=f"merged into {world.c}"):
        desk.merge(world.a, world.b)


def test_split_moves_the_records_to_a_new_child_that_inherits_the_shield(
    desk: Desk, world: World
) -> None:
    desk.merge(world.b, world.a)
    result = desk.split(world.a, [world.b1])
    assert result.new_child_id is not None
    assert desk.child_of(world.b1) == result.new_child_id
    assert desk.state(result.new_child_id) == ("active", None, True, "local_authority")
    index = desk.snapshot()["index"]
    assert {c for (_, _, r), c in index.items() if r == world.b1} == {result.new_child_id}


def test_merge_then_split_restores_the_original_placement(desk: Desk, world: World) -> None:
    def grouping() -> set[frozenset[uuid.UUID]]:
        records: dict[uuid.UUID, str] = desk.snapshot()["records"]
        groups: dict[str, set[uuid.UUID]] = {}
        for record_id, child_id in records.items():
            groups.setdefault(child_id, set()).add(record_id)
        return {frozenset(g) for g in groups.values()}

    before = grouping()
    desk.merge(world.c, world.a)
    assert grouping() != before
    desk.split(world.a, [world.c1])
    assert grouping() == before


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (lambda w: [], "Name the records"),
        (lambda w: [w.a1, w.a2], "every record"),
        (lambda w: [w.a1, w.c1], "does not hold"),
    ],
)
def test_split_refusals_write_nothing(
    desk: Desk,
    world: World,
    connection: Connection,
    records: Callable[[World], list[uuid.UUID]],
    message: str,
) -> None:
    before = desk.snapshot()
    with pytest.raises(ContactPointError, match=message):
        desk.split(world.a, records(world))
    assert desk.snapshot() == before
    assert change_rows(connection) == 0


# --- undo -----------------------------------------------------------------------------

ACTIONS: dict[str, Callable[[Desk, World], Any]] = {
    "accept": lambda d, w: d.accept(w.item_p, w.a),
    "accept-shielded": lambda d, w: d.accept(w.item_p, w.b),
    "reject": lambda d, w: d.reject(w.item_p),
    "merge": lambda d, w: d.merge(w.p, w.c),
    "merge-shielded": lambda d, w: d.merge(w.b, w.a),
    "split": lambda d, w: d.split(w.a, [w.a2]),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_then_undo_restores_the_exact_before_state(
    desk: Desk, world: World, clock: FixedClock, action: str
) -> None:
    before = desk.snapshot()
    clock.advance(timedelta(minutes=1))
    result = ACTIONS[action](desk, world)
    assert desk.snapshot() != before
    clock.advance(timedelta(minutes=1))
    undone = desk.undo(result.change_id)
    after = desk.snapshot()
    assert after["records"] == before["records"]
    assert after["index"] == before["index"]
    assert after["items"] == before["items"]
    for child_id, state in before["children"].items():
        assert after["children"][child_id] == state, child_id
    created = set(after["children"]) - set(before["children"])
    if action == "split":
        # The split's new child is retired, leading to the child its records went back to.
        assert [after["children"][c][:2] for c in created] == [("merged", world.a)]
    else:
        assert not created
    with desk.sessions() as s:
        original = identity_store.get_change(s, result.change_id)
        assert original is not None
        assert original.undone_by == undone.change_id


def test_undo_is_refused_while_a_later_change_on_the_same_children_stands(
    desk: Desk, world: World
) -> None:
    merged = desk.merge(world.c, world.a)
    split = desk.split(world.a, [world.a1])
    with pytest.raises(ContactPointError, match=f"{split.change_id} \\(split\\)"):
        desk.undo(merged.change_id)
    desk.undo(split.change_id)
    desk.undo(merged.change_id)
    assert desk.state(world.c) == ("active", None, False, None)
    assert desk.child_of(world.c1) == world.c


def test_a_later_change_elsewhere_does_not_block_an_undo(desk: Desk, world: World) -> None:
    merged = desk.merge(world.c, world.a)
    desk.reject(world.item_q)
    desk.undo(merged.change_id)
    assert desk.child_of(world.c1) == world.c


def test_an_undone_later_change_no_longer_blocks(desk: Desk, world: World) -> None:
    accepted = desk.accept(world.item_p, world.a)
    merged = desk.merge(world.c, world.a)
    desk.undo(merged.change_id)
    desk.undo(accepted.change_id)
    assert desk.child_of(world.p1) == world.p
    assert desk.open_items().open_total == 2


def test_undo_twice_redo_and_shield_decisions_are_refused(desk: Desk, world: World) -> None:
    merged = desk.merge(world.c, world.a)
    undone = desk.undo(merged.change_id)
    with pytest.raises(ContactPointError, match="already undone"):
        desk.undo(merged.change_id)
    with pytest.raises(ContactPointError, match="cannot itself be undone"):
        desk.undo(undone.change_id)
    shielded = desk.shield(world.a)
    with pytest.raises(ContactPointError, match="unshield"):
        desk.undo(shielded.change_id)
    with pytest.raises(ContactPointError, match="no such identity change"):
        desk.undo(uuid.uuid4())


def test_undo_never_overrides_a_later_shield_decision(desk: Desk, world: World) -> None:
    merged = desk.merge(world.c, world.a)
    desk.shield(world.a)
    with pytest.raises(ContactPointError, match="children split"):
        desk.undo(merged.change_id)
    # Splitting instead keeps the shield on both.
    split = desk.split(world.a, [world.c1])
    assert split.new_child_id is not None
    assert desk.state(split.new_child_id)[2:] == (True, "local_authority")


def test_changes_keep_their_order_when_the_clock_stands_still(
    desk: Desk, world: World, connection: Connection
) -> None:
    first = desk.merge(world.c, world.a)
    second = desk.split(world.a, [world.a1])
    assert second.at > first.at
    with pytest.raises(ContactPointError, match="later change"):
        desk.undo(first.change_id)


# --- nothing half-written -------------------------------------------------------------


def test_a_failure_after_the_writes_began_leaves_nothing(
    desk: Desk, world: World, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = desk.snapshot()
    audit_before = audit_actions(connection)

    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(identity_changes, "record", broken)
    attempts: list[Callable[[], object]] = [
        lambda: desk.accept(world.item_p, world.a),
        lambda: desk.merge(world.b, world.a),
        lambda: desk.split(world.a, [world.a1]),
    ]
    for attempt in attempts:
        with pytest.raises(RuntimeError):
            attempt()
        assert desk.snapshot() == before
    assert change_rows(connection) == 0
    assert audit_actions(connection) == audit_before


def test_a_failed_undo_leaves_the_change_in_place(
    desk: Desk, world: World, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = desk.accept(world.item_p, world.a)
    before = desk.snapshot()

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(identity_store, "mark_undone", broken)
    with pytest.raises(RuntimeError):
        desk.undo(accepted.change_id)
    assert desk.snapshot() == before
    assert change_rows(connection) == 1


# --- who may, and the audit chain -----------------------------------------------------


def test_only_reviewers_may_act(desk: Desk, world: World) -> None:
    desk.actor = Actor(name="j.patel", role="practitioner", organisation="Leeds Park Primary")
    attempts: list[Callable[[], object]] = [
        lambda: desk.merge(world.a, world.c),
        lambda: desk.accept(world.item_p, world.a),
        lambda: desk.compare(world.item_p),
        lambda: desk.open_items(),
        lambda: desk.shield(world.a),
    ]
    for attempt in attempts:
        with pytest.raises(ContactPointError, match="la_admin"):
            attempt()


def test_the_audit_chain_verifies_after_a_mixed_sequence(
    desk: Desk, world: World, connection: Connection, keyring: Keyring, clock: FixedClock
) -> None:
    desk.compare(world.item_p)
    accepted = desk.accept(world.item_p, world.a)
    clock.advance(timedelta(seconds=5))
    desk.reject(world.item_q)
    desk.shield(world.c)
    merged = desk.merge(world.q, world.c)
    split = desk.split(world.c, [world.q1])
    desk.undo(split.change_id)
    desk.undo(merged.change_id)
    desk.unshield(world.c)
    desk.undo(accepted.change_id)
    with desk.sessions() as s:
        verification = verify_audit(s, keyring.audit_key)
    assert verification.ok, verification
    actions = audit_actions(connection)
    identity = [a for a in actions if a.startswith("identity.")]
    assert len(identity) == change_rows(connection) == 9
    assert actions.count("identity.undo") == 3
    assert actions.count("review.view") == 3


# --- the read side --------------------------------------------------------------------


def test_compare_shows_the_record_beside_each_candidate_and_audits_each_child(
    desk: Desk, world: World, connection: Connection
) -> None:
    comparison = desk.compare(world.item_p)

    assert comparison.holder_child_id == world.p
    assert comparison.record is not None
    assert comparison.record["given_names"] == "Amelia Rose"
    assert comparison.record["nhs_number"] is None
    sides = {s.candidate.child_id: s for s in comparison.candidates}
    assert list(sides) == [world.a, world.b]
    a_fields = sides[world.a].fields
    assert a_fields is not None
    assert a_fields["nhs_number"] == "9434765919"
    services = a_fields["services"]
    assert services is not None
    assert "Leeds Park Primary" in services
    assert "CAMHS" not in services
    assert "1 sensitive service(s) withheld" in services
    b_state = sides[world.b].state
    assert b_state is not None
    assert b_state.shield.shielded
    views = connection.execute(
        select(AuditEntry.child_id, AuditEntry.reason_code, AuditEntry.details).where(
            AuditEntry.action == "review.view"
        )
    ).all()
    assert sorted(v.child_id for v in views) == sorted([world.p, world.a, world.b])
    assert {v.reason_code for v in views} == {"identity_review"}
    assert all("Amelia" not in v.details for v in views)
    as_json = json.dumps(comparison.to_json())
    assert str(world.item_p) in as_json


def test_compare_after_accept_finds_the_record_with_its_new_child(desk: Desk, world: World) -> None:
    desk.accept(world.item_p, world.a)
    comparison = desk.compare(world.item_p)
    assert comparison.holder_child_id == world.a
    assert comparison.record is not None
    sides = {s.candidate.child_id: s for s in comparison.candidates}
    assert sides[world.a].fields is not None


def test_open_items_pages_oldest_first_with_identifiers_only(
    desk: Desk, world: World, vault: Vault, clock: FixedClock
) -> None:
    with desk.sessions.begin() as s:
        for _ in range(3):
            child = add_child(s, clock.now())
            record_id = add_record(s, vault, child, clock.now())
            add_item(s, record_id, child, [world.a], clock.now())
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = desk.open_items(limit=2, cursor=cursor)
        assert page.open_total == 5
        seen += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 5
    assert seen[-1] == world.item_q
    listed = json.dumps(desk.open_items(limit=5).to_json())
    assert "Amelia" not in listed
    assert "Featherstonehaugh" not in listed
    only = desk.open_items(reason="ambiguous")
    assert [i.id for i in only.items] == [world.item_q]
    desk.reject(world.item_q)
    assert world.item_q not in [i.id for i in desk.open_items(limit=10).items]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cursor": "nonsense"}, "cursor"),
        ({"reason": "bored"}, "uncertain_match"),
        ({"limit": 0}, "1 to 200"),
    ],
)
def test_open_items_refuses_bad_options(
    desk: Desk, world: World, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ContactPointError, match=message):
        desk.open_items(**options)

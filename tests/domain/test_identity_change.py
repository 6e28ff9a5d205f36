"""The rules of identity changes and shields, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contactpoint.domain.identity_change import (
    Change,
    ChangeKind,
    ChangeRefusedError,
    ChildState,
    ChildStatus,
    Move,
    check_merge,
    check_split,
    check_unchanged_since,
    check_undo,
    next_change_at,
    restored_states,
    undo_moves,
)
from contactpoint.domain.review_item import (
    ReviewCandidate,
    ReviewReason,
    check_accept,
    dump_candidates,
    parse_candidates,
    shield_owed,
)
from contactpoint.domain.shielding import (
    BY_LOCAL_AUTHORITY,
    BY_REVIEW,
    NOT_SHIELDED,
    Shield,
    ShieldReason,
    UnshieldReason,
    after_accept,
    after_review_closed,
    after_shield,
    after_unshield,
    combine,
    parse_reason,
)
from contactpoint.errors import ContactPointError

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACTIVE = ChildState(ChildStatus.ACTIVE, None, NOT_SHIELDED)
R1, R2, R3 = (uuid.UUID(int=n) for n in (1, 2, 3))


def change(
    kind: ChangeKind,
    minutes: int,
    moves: tuple[Move, ...] = (),
    children: tuple[str, ...] = (),
    undone_by: uuid.UUID | None = None,
) -> Change:
    touched = set(children) | {m.from_child for m in moves} | {m.to_child for m in moves}
    return Change(
        id=uuid.uuid4(),
        kind=kind,
        at=T0 + timedelta(minutes=minutes),
        moves=moves,
        before=dict.fromkeys(touched, ACTIVE),
        after=dict.fromkeys(touched, ACTIVE),
        undone_by=undone_by,
    )


# --- shields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((NOT_SHIELDED, NOT_SHIELDED), NOT_SHIELDED),
        ((NOT_SHIELDED, BY_REVIEW), BY_REVIEW),
        ((BY_REVIEW, BY_LOCAL_AUTHORITY), BY_LOCAL_AUTHORITY),
        ((BY_LOCAL_AUTHORITY, NOT_SHIELDED), BY_LOCAL_AUTHORITY),
        ((), NOT_SHIELDED),
    ],
)
def test_a_shield_survives_any_combination(parts: tuple[Shield, ...], expected: Shield) -> None:
    assert combine(*parts) == expected


def test_a_shield_without_a_recorded_origin_is_the_local_authoritys() -> None:
    assert Shield.of(True, None) == BY_LOCAL_AUTHORITY
    assert Shield.of(False, "review") == NOT_SHIELDED


def test_accept_carries_only_a_local_authority_shield_from_the_provisional_child() -> None:
    assert after_accept(NOT_SHIELDED, BY_REVIEW, review_pending=False) == NOT_SHIELDED
    assert after_accept(NOT_SHIELDED, BY_LOCAL_AUTHORITY, False) == BY_LOCAL_AUTHORITY
    assert after_accept(BY_LOCAL_AUTHORITY, BY_REVIEW, False) == BY_LOCAL_AUTHORITY
    assert after_accept(NOT_SHIELDED, NOT_SHIELDED, review_pending=True) == BY_REVIEW


def test_closing_a_review_lifts_only_a_review_shield_no_longer_owed() -> None:
    assert after_review_closed(BY_REVIEW, review_pending=False) == NOT_SHIELDED
    assert after_review_closed(BY_REVIEW, review_pending=True) == BY_REVIEW
    assert after_review_closed(BY_LOCAL_AUTHORITY, review_pending=False) == BY_LOCAL_AUTHORITY


def test_shield_and_unshield_decisions() -> None:
    assert after_shield(NOT_SHIELDED) == BY_LOCAL_AUTHORITY
    assert after_shield(BY_REVIEW) == BY_LOCAL_AUTHORITY
    with pytest.raises(ContactPointError, match="already"):
        after_shield(BY_LOCAL_AUTHORITY)
    assert after_unshield(BY_LOCAL_AUTHORITY, review_pending=False) == NOT_SHIELDED
    assert after_unshield(BY_LOCAL_AUTHORITY, review_pending=True) == BY_REVIEW
    assert after_unshield(BY_REVIEW, review_pending=False) == NOT_SHIELDED
    with pytest.raises(ContactPointError, match="review accept"):
        after_unshield(BY_REVIEW, review_pending=True)
    with pytest.raises(ContactPointError, match="not shielded"):
        after_unshield(NOT_SHIELDED, review_pending=False)


def test_reason_codes_come_from_a_closed_list() -> None:
    assert parse_reason(" Court_Order ", ShieldReason) == "court_order"
    assert parse_reason("applied_in_error", UnshieldReason) == "applied_in_error"
    with pytest.raises(ContactPointError, match="risk_ended"):
        parse_reason("court_order", UnshieldReason)


# --- review items ---------------------------------------------------------------------


def test_candidates_round_trip_and_owe_a_shield_only_to_a_shielded_child() -> None:
    candidates = (ReviewCandidate("A", 12.5, {"nhs_number": "exact"}), ReviewCandidate("B", 3.0))
    assert parse_candidates(dump_candidates(candidates)) == candidates
    assert shield_owed([candidates], shielded={"B"})
    assert not shield_owed([candidates], shielded={"C"})
    assert not shield_owed([], shielded={"A"})


def test_accept_rules() -> None:
    candidates = [ReviewCandidate("A", 10.0), ReviewCandidate("B", 8.0)]
    check_accept(1, "open", candidates, "P", ACTIVE, "A", ACTIVE)
    with pytest.raises(ChangeRefusedError, match="already accepted"):
        check_accept(1, "accepted", candidates, "P", ACTIVE, "A", ACTIVE)
    with pytest.raises(ChangeRefusedError, match="not a candidate"):
        check_accept(1, "open", candidates, "P", ACTIVE, "C", ACTIVE)
    with pytest.raises(ChangeRefusedError, match="already with child"):
        check_accept(1, "open", [*candidates, ReviewCandidate("P", 1)], "P", ACTIVE, "P", ACTIVE)
    merged = ChildState(ChildStatus.MERGED, "Z", NOT_SHIELDED)
    with pytest.raises(ChangeRefusedError, match="merged into Z"):
        check_accept(1, "open", candidates, "P", ACTIVE, "A", merged)
    with pytest.raises(ChangeRefusedError, match="no child"):
        check_accept(1, "open", candidates, "P", ACTIVE, "B", None)


# --- merge and split ------------------------------------------------------------------


def test_merge_rules() -> None:
    check_merge("A", ACTIVE, "B", ACTIVE)
    with pytest.raises(ChangeRefusedError, match="itself"):
        check_merge("A", ACTIVE, "A", ACTIVE)
    with pytest.raises(ChangeRefusedError, match="no child B"):
        check_merge("A", ACTIVE, "B", None)
    with pytest.raises(ChangeRefusedError, match="merged into C"):
        check_merge("A", ChildState(ChildStatus.MERGED, "C", NOT_SHIELDED), "B", ACTIVE)


def test_split_rules() -> None:
    assert check_split("A", ACTIVE, [R1, R2], [R1]) == ACTIVE
    with pytest.raises(ChangeRefusedError, match="Name the records"):
        check_split("A", ACTIVE, [R1, R2], [])
    with pytest.raises(ChangeRefusedError, match="every record"):
        check_split("A", ACTIVE, [R1, R2], [R1, R2])
    with pytest.raises(ChangeRefusedError, match=str(R3)):
        check_split("A", ACTIVE, [R1, R2], [R1, R3])


# --- undo -----------------------------------------------------------------------------


def test_changes_are_ordered_even_when_the_clock_stands_still_or_steps_back() -> None:
    assert next_change_at(T0, None) == T0
    assert next_change_at(T0, T0) > T0
    assert next_change_at(T0 - timedelta(hours=1), T0) > T0
    assert next_change_at(T0 + timedelta(seconds=1), T0) == T0 + timedelta(seconds=1)


def test_undo_is_refused_while_a_later_overlapping_change_stands() -> None:
    merge = change(ChangeKind.MERGE, 0, (Move(R1, "A", "B"),))
    elsewhere = change(ChangeKind.MERGE, 1, (Move(R2, "C", "D"),))
    check_undo(merge, [elsewhere])
    split = change(ChangeKind.SPLIT, 2, (Move(R3, "B", "N"),))
    with pytest.raises(ChangeRefusedError, match=f"{split.id} \\(split\\)"):
        check_undo(merge, [elsewhere, split])
    undone_split = change(ChangeKind.SPLIT, 2, (Move(R3, "B", "N"),), undone_by=uuid.uuid4())
    the_undo = change(ChangeKind.UNDO, 3, (Move(R3, "N", "B"),))
    check_undo(merge, [elsewhere, undone_split, the_undo])


def test_a_later_change_touching_the_same_record_blocks_even_on_other_children() -> None:
    first = change(ChangeKind.MERGE, 0, (Move(R1, "A", "B"),))
    later = change(ChangeKind.MERGE, 1, (Move(R1, "X", "Y"),))
    with pytest.raises(ChangeRefusedError, match="later change"):
        check_undo(first, [later])


def test_undo_refuses_redo_repeats_and_shield_decisions() -> None:
    with pytest.raises(ChangeRefusedError, match="already undone"):
        check_undo(change(ChangeKind.MERGE, 0, undone_by=uuid.uuid4()), [])
    with pytest.raises(ChangeRefusedError, match="cannot itself be undone"):
        check_undo(change(ChangeKind.UNDO, 0), [])
    with pytest.raises(ChangeRefusedError, match="shield decision is not undone"):
        check_undo(change(ChangeKind.SHIELD, 0, children=("A",)), [])
    merge = change(ChangeKind.MERGE, 0, (Move(R1, "A", "B"),))
    shield = change(ChangeKind.SHIELD, 1, children=("B",))
    with pytest.raises(ChangeRefusedError, match="children split"):
        check_undo(merge, [shield])


def test_undo_needs_the_records_and_children_as_the_change_left_them() -> None:
    merge = change(ChangeKind.MERGE, 0, (Move(R1, "A", "B"),))
    check_unchanged_since(merge, {R1: "B"}, {"A": ACTIVE, "B": ACTIVE})
    with pytest.raises(ChangeRefusedError, match="changed since"):
        check_unchanged_since(merge, {R1: "C"}, {"A": ACTIVE, "B": ACTIVE})
    with pytest.raises(ChangeRefusedError, match="changed since"):
        check_unchanged_since(merge, {R1: "B"}, {"A": ACTIVE, "B": None})


def test_undoing_a_split_retires_the_new_child_into_the_old() -> None:
    shielded = ChildState(ChildStatus.ACTIVE, None, BY_LOCAL_AUTHORITY)
    split = Change(
        id=uuid.uuid4(),
        kind=ChangeKind.SPLIT,
        at=T0,
        moves=(Move(R1, "A", "N"),),
        before={"A": shielded, "N": None},
        after={"A": shielded, "N": shielded},
    )
    assert undo_moves(split) == (Move(R1, "N", "A"),)
    assert restored_states(split) == {
        "A": shielded,
        "N": ChildState(ChildStatus.MERGED, "A", BY_LOCAL_AUTHORITY),
    }


def test_child_states_round_trip_through_json() -> None:
    state = ChildState(ChildStatus.MERGED, "B", BY_REVIEW)
    assert ChildState.from_json(state.to_json()) == state
    assert Move.from_json(Move(R1, "A", "B").to_json()) == Move(R1, "A", "B")


def test_the_review_doc_names_every_code() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "review.md").read_text(encoding="utf-8")
    for code in [*ShieldReason, *UnshieldReason, *ReviewReason]:
        assert f"`{code.value}`" in doc, code

"""What may be done to a child's identity, and how each change is undone. No I/O.

An identity change moves source records between children and changes children's
states (merged or not, shielded or not). Every change keeps its moves and the
states before and after, so it can be shown and reversed exactly; these rules
decide which changes are allowed, so a wrong decision can be taken back without
disturbing anything decided after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contactpoint.domain.shielding import Shield
from contactpoint.errors import ContactPointError


class ChangeRefusedError(ContactPointError):
    """An identity change that the rules do not allow; the message says what to do instead."""


class ChangeKind(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    MERGE = "merge"
    SPLIT = "split"
    UNDO = "undo"
    SHIELD = "shield"
    UNSHIELD = "unshield"


SHIELD_DECISIONS = frozenset({ChangeKind.SHIELD, ChangeKind.UNSHIELD})


class ChildStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class ChildState:
    """The part of a child an identity change can alter; the ID never changes."""

    status: ChildStatus
    merged_into: str | None
    shield: Shield

    @property
    def active(self) -> bool:
        return self.status is ChildStatus.ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "merged_into": self.merged_into,
            "shielded": self.shield.shielded,
            "shield_origin": self.shield.origin.value if self.shield.origin else None,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ChildState:
        return cls(
            status=ChildStatus(value["status"]),
            merged_into=value["merged_into"],
            shield=Shield.of(bool(value["shielded"]), value["shield_origin"]),
        )


@dataclass(frozen=True, slots=True)
class Move:
    record_id: uuid.UUID
    from_child: str
    to_child: str

    def reversed(self) -> Move:
        return Move(self.record_id, self.to_child, self.from_child)

    def to_json(self) -> dict[str, str]:
        return {"record_id": str(self.record_id), "from": self.from_child, "to": self.to_child}

    @classmethod
    def from_json(cls, value: Mapping[str, str]) -> Move:
        return cls(uuid.UUID(value["record_id"]), value["from"], value["to"])


@dataclass(frozen=True, slots=True)
class Change:
    """A stored identity change. ``before`` maps a child the change created to None."""

    id: uuid.UUID
    kind: ChangeKind
    at: datetime
    moves: tuple[Move, ...]
    before: Mapping[str, ChildState | None]
    after: Mapping[str, ChildState]
    undoes: uuid.UUID | None = None
    undone_by: uuid.UUID | None = None

    @property
    def children(self) -> frozenset[str]:
        moved = {m.from_child for m in self.moves} | {m.to_child for m in self.moves}
        return frozenset(self.before) | frozenset(self.after) | moved

    @property
    def records(self) -> frozenset[uuid.UUID]:
        return frozenset(m.record_id for m in self.moves)

    def overlaps(self, other: Change) -> bool:
        return bool(self.children & other.children or self.records & other.records)


ONE_TICK = timedelta(microseconds=1)


def next_change_at(now: datetime, last: datetime | None) -> datetime:
    """Changes are ordered by time, so each is stamped strictly after the last even
    when the clock stands still or steps back; "later" then always means something."""
    if last is not None and now <= last:
        return last + ONE_TICK
    return now


def _missing(child_id: str) -> ChangeRefusedError:
    return ChangeRefusedError(f"There is no child {child_id}: check the ContactPoint ID.")


def require_active(child_id: str, state: ChildState | None) -> ChildState:
    if state is None:
        raise _missing(child_id)
    if not state.active:
        raise ChangeRefusedError(
            f"Child {child_id} was merged into {state.merged_into}: use that child instead."
        )
    return state


def check_merge(
    from_id: str, from_state: ChildState | None, into_id: str, into_state: ChildState | None
) -> None:
    if from_id == into_id:
        raise ChangeRefusedError(
            "A child cannot be merged into itself: give two different children."
        )
    require_active(from_id, from_state)
    require_active(into_id, into_state)


def check_split(
    child_id: str,
    state: ChildState | None,
    held: Collection[uuid.UUID],
    wanted: Collection[uuid.UUID],
) -> ChildState:
    active = require_active(child_id, state)
    if not wanted:
        raise ChangeRefusedError("Name the records to split off with --record (one or more).")
    strangers = sorted(str(r) for r in set(wanted) - set(held))
    if strangers:
        raise ChangeRefusedError(
            f"Child {child_id} does not hold record(s) {', '.join(strangers)}: "
            "check the record IDs (every change prints the records it moved, and "
            "'contactpoint review show' the record under review)."
        )
    if set(held) <= set(wanted):
        raise ChangeRefusedError(
            f"That would split off every record of child {child_id}, leaving it empty: "
            "leave at least one record with it."
        )
    return active


def merged_state(into_id: str, state: ChildState) -> ChildState:
    """A merged child keeps its shield, so anyone following its old ID meets it."""
    return replace(state, status=ChildStatus.MERGED, merged_into=into_id)


def check_undo(change: Change, later: Sequence[Change]) -> None:
    """Refuse an undo that would overwrite something decided afterwards.

    ``later`` is every change stamped after ``change``, oldest first. An undo
    cannot itself be undone (to redo, do the action again, which is a new,
    audited decision); an undo never blocks an earlier change, because it put
    back exactly what its own change had altered. A shield decision is not
    undone here: it is reversed by the opposite decision, with a reason.
    """
    if change.undone_by is not None:
        raise ChangeRefusedError(
            f"Change {change.id} was already undone by change {change.undone_by}."
        )
    if change.kind is ChangeKind.UNDO:
        raise ChangeRefusedError(
            "An undo cannot itself be undone: to redo, take the action again "
            "(for example 'contactpoint review accept' or 'contactpoint children merge')."
        )
    if change.kind in SHIELD_DECISIONS:
        raise ChangeRefusedError(
            "A shield decision is not undone: the local authority reverses it with "
            "'contactpoint children shield' or 'unshield' and a reason code."
        )
    blocking = [
        c
        for c in later
        if c.undone_by is None and c.kind is not ChangeKind.UNDO and c.overlaps(change)
    ]
    if not blocking:
        return
    latest = blocking[-1]
    if latest.kind in SHIELD_DECISIONS:
        raise ChangeRefusedError(
            f"Change {change.id} cannot be undone: the local authority made a shield decision "
            f"about the same children afterwards (change {latest.id}), which undo may not "
            "override. Use 'contactpoint children split' to separate the records instead; the "
            "new child inherits the shield."
        )
    named = ", ".join(f"{c.id} ({c.kind.value})" for c in reversed(blocking[-5:]))
    raise ChangeRefusedError(
        f"Change {change.id} cannot be undone: {len(blocking)} later change(s) touched the same "
        f"children or records and are still in effect. Undo them first, latest first: {named}."
    )


def check_unchanged_since(
    change: Change,
    placements: Mapping[uuid.UUID, str],
    states: Mapping[str, ChildState | None],
) -> None:
    """The records and children must be as the change left them, or undo would guess."""
    moved_on = [m for m in change.moves if placements.get(m.record_id) != m.to_child]
    drifted = [c for c, after in change.after.items() if states.get(c) != after]
    if moved_on or drifted:
        raise ChangeRefusedError(
            f"Change {change.id} cannot be undone: its records or children have changed since "
            "by something other than an identity change. Use 'contactpoint children merge' or "
            "'split' to put them right."
        )


def undo_moves(change: Change) -> tuple[Move, ...]:
    return tuple(m.reversed() for m in change.moves)


def restored_states(change: Change) -> dict[str, ChildState]:
    """Each child as it was before; a child the change created is retired, merged into
    the child its records go back to, so an ID someone noted down still leads somewhere."""
    restored: dict[str, ChildState] = {}
    for child_id, before in change.before.items():
        if before is not None:
            restored[child_id] = before
            continue
        home = next((m.from_child for m in change.moves if m.to_child == child_id), None)
        restored[child_id] = replace(
            change.after[child_id], status=ChildStatus.MERGED, merged_into=home
        )
    return restored

"""Identity changes: merge, split and undo, and the one way every change is written.

Each change is one function that works in the caller's transaction: it takes
the identity lock, checks the domain rules, moves records (with their index
tokens and open review items), writes one ``identity_changes`` row with the
children's states before and after, and its audit entry. A refused change
raises before anything is written; any later failure rolls the whole
transaction back, so nothing is ever half-done.

Open review items follow their record: when a merge, split or undo moves a
record that has an open item, the item moves to the record's new child, so an
item always names the child that now holds the record under review.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.domain.contactpoint_id import new_contactpoint_id, parse_contactpoint_id
from contactpoint.domain.identity_change import (
    Change,
    ChangeKind,
    ChildState,
    ChildStatus,
    Move,
    check_merge,
    check_split,
    check_unchanged_since,
    check_undo,
    merged_state,
    next_change_at,
    restored_states,
    undo_moves,
)
from contactpoint.domain.review_item import may_review, shield_owed
from contactpoint.domain.shielding import combine
from contactpoint.entropy import random_uuid
from contactpoint.errors import ContactPointError
from contactpoint.store import identity as store

# --- inputs --------------------------------------------------------------------------


def require_reviewer(actor: Actor) -> None:
    if not may_review(actor.role):
        raise ContactPointError(
            "Identity review is for the local authority's ContactPoint team (role la_admin) "
            "or an operator at the console: ask them to take this on."
        )


def parse_child_id(value: str) -> str:
    parsed = parse_contactpoint_id(value)
    if parsed is None:
        raise ContactPointError(
            "That is not a ContactPoint ID: they look like 7K2M-QX9D-4TB4; check it and retry."
        )
    return parsed


def parse_id(value: uuid.UUID | str, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ContactPointError(
            f"That is not a {what} ID: it is a UUID like 3f2b1c9e-8d7a-4e61-9b0f-2c5d4a6e7f81."
        ) from None


# --- results -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeResult:
    """What a change did, identifiers only: safe to print, log or return from an API."""

    change_id: uuid.UUID
    kind: ChangeKind
    at: datetime
    moves: tuple[Move, ...]
    children: Mapping[str, ChildState]
    """Every child the change touched, as it left them."""
    items: tuple[uuid.UUID, ...] = ()
    """Review items the change decided (or, for an undo, put back in the queue)."""
    new_child_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "change_id": str(self.change_id),
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "moves": [m.to_json() for m in self.moves],
            "children": {c: s.to_json() for c, s in sorted(self.children.items())},
            "items": [str(i) for i in self.items],
            "new_child_id": self.new_child_id,
        }


def record_change(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    kind: ChangeKind,
    moves: Sequence[Move],
    before: Mapping[str, ChildState | None],
    after: Mapping[str, ChildState],
    child_id: str,
    undoes: uuid.UUID | None = None,
    reason_code: str | None = None,
    details: Mapping[str, object] | None = None,
) -> Change:
    """Write a change the caller has already checked: children, moves, the change row,
    and its audit entry, all in the caller's transaction. ``before`` maps a child the
    change creates to None; ``child_id`` is the child the audit entry is filed under."""
    at = next_change_at(clock.now(), store.last_change_at(session))
    change = Change(
        id=random_uuid(),
        kind=kind,
        at=at,
        moves=tuple(moves),
        before=dict(before),
        after=dict(after),
        undoes=undoes,
    )
    for created, state in sorted(after.items()):
        if before.get(created) is None:
            store.insert_child(session, created, state, at)
    store.move_records(session, change.moves)
    store.write_child_states(
        session, {c: s for c, s in after.items() if before.get(c) is not None}, at
    )
    store.insert_change(session, change, actor.name)
    record(
        session,
        key=audit_key,
        clock=clock,
        actor=actor,
        action=f"identity.{kind.value}",
        child_id=child_id,
        reason_code=reason_code,
        details={
            "change_id": str(change.id),
            "moves": [m.to_json() for m in change.moves],
            "children_before": {
                c: (s.to_json() if s is not None else None) for c, s in sorted(before.items())
            },
            "children_after": {c: s.to_json() for c, s in sorted(after.items())},
            **({"undoes": str(undoes)} if undoes is not None else {}),
            **(details or {}),
        },
    )
    return change


def result_of(
    change: Change, items: Iterable[uuid.UUID] = (), new_child_id: str | None = None
) -> ChangeResult:
    return ChangeResult(
        change_id=change.id,
        kind=change.kind,
        at=change.at,
        moves=change.moves,
        children=change.after,
        items=tuple(items),
        new_child_id=new_child_id,
    )


def review_shield_owed(
    session: Session, child_ids: Iterable[str], excluding: uuid.UUID | None = None
) -> bool:
    """Whether an open item on these children still has a shielded candidate."""
    items = [i for i in store.open_items_of_children(session, set(child_ids)) if i.id != excluding]
    states = store.child_states(session, {c.child_id for i in items for c in i.candidates})
    shielded = {c for c, s in states.items() if s.shield.shielded}
    return shield_owed((i.candidates for i in items), shielded)


# --- merge, split, undo --------------------------------------------------------------


def merge(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    from_child_id: str,
    into_child_id: str,
) -> ChangeResult:
    """Two children are one: every record of the first joins the second, which is
    shielded if either was. Open review items on the first child's records follow them."""
    require_reviewer(actor)
    from_id, into_id = parse_child_id(from_child_id), parse_child_id(into_child_id)
    store.lock_identity(session)
    states = store.child_states(session, {from_id, into_id})
    check_merge(from_id, states.get(from_id), into_id, states.get(into_id))
    source, survivor = states[from_id], states[into_id]
    change = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.MERGE,
        moves=[Move(r, from_id, into_id) for r in store.records_of_child(session, from_id)],
        before={from_id: source, into_id: survivor},
        after={
            from_id: merged_state(into_id, source),
            into_id: replace(survivor, shield=combine(source.shield, survivor.shield)),
        },
        child_id=into_id,
    )
    return result_of(change)


def split(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    child_id: str,
    record_ids: Iterable[uuid.UUID | str],
) -> ChangeResult:
    """Some of a child's records are another child: they move to a new child, which
    inherits the shield so splitting can never expose a shielded child's records."""
    require_reviewer(actor)
    parent_id = parse_child_id(child_id)
    wanted = {parse_id(r, "record") for r in record_ids}
    store.lock_identity(session)
    held = store.records_of_child(session, parent_id)
    parent = check_split(
        parent_id, store.child_states(session, {parent_id}).get(parent_id), held, wanted
    )
    new_id = new_contactpoint_id()
    while store.child_states(session, {new_id}):
        new_id = new_contactpoint_id()
    change = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.SPLIT,
        moves=[Move(r, parent_id, new_id) for r in held if r in wanted],
        before={parent_id: parent, new_id: None},
        after={parent_id: parent, new_id: ChildState(ChildStatus.ACTIVE, None, parent.shield)},
        child_id=parent_id,
    )
    return result_of(change, new_child_id=new_id)


def _stored_change(session: Session, change_id: uuid.UUID) -> Change:
    change = store.get_change(session, change_id)
    if change is None:
        raise ContactPointError(
            "There is no such identity change: the change ID is printed by the command "
            "that made it."
        )
    return change


def undo(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    change_id: uuid.UUID | str,
) -> ChangeResult:
    """Put back exactly what a change altered: record placements (with their index
    tokens), children's states, and the review items it decided, which reopen.

    Refused while a later change that touched the same children or records is
    still in effect (undo those first, latest first), for an undo (redo by taking
    the action again) and for shield decisions (reversed by the opposite decision).
    A child a split created is retired, merged into the child its records return to.
    """
    require_reviewer(actor)
    target_id = parse_id(change_id, "identity change")
    store.lock_identity(session)
    change = _stored_change(session, target_id)
    check_undo(change, store.changes_after(session, change.at, change.children, change.records))
    current = store.child_states(session, change.children)
    check_unchanged_since(change, store.placements(session, change.records), current)
    restored = restored_states(change)
    reopened = store.reopen_items(session, change.id)
    primary = change.moves[0].from_child if change.moves else min(restored)
    undone = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.UNDO,
        moves=undo_moves(change),
        before={c: current[c] for c in restored},
        after=restored,
        child_id=primary,
        undoes=change.id,
        details={"undone_kind": change.kind.value, "items": [str(i) for i in reopened]},
    )
    store.mark_undone(session, change.id, undone.id)
    return result_of(undone, reopened)


# --- the read side -------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeShown:
    """A stored change and the review items it decided: identifiers only."""

    change: Change
    items: tuple[uuid.UUID, ...]
    """The review items this change decided; none once it is undone (they reopen)."""
    open_items: tuple[uuid.UUID, ...]
    """Review items still open about the children it touched (an undo reopens some)."""


def show_change(session: Session, *, actor: Actor, change_id: uuid.UUID | str) -> ChangeShown:
    """What a change did, for the reviewer who made or is checking it. Like the queue
    it holds identifiers and states only and reads no child, so it is not audited."""
    require_reviewer(actor)
    change = _stored_change(session, parse_id(change_id, "identity change"))
    return ChangeShown(
        change=change,
        items=tuple(store.items_decided_by(session, change.id)),
        open_items=tuple(i.id for i in store.open_items_of_children(session, change.children)),
    )

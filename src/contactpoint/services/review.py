"""The identity review queue: what the matcher was unsure of, and the decisions on it.

The matcher files a record it cannot place with confidence under a new
provisional child and opens a review item naming the candidate children. A
reviewer compares them (a read of each child shown, audited) and accepts one
candidate or rejects them all; each decision is an identity change written by
:func:`contactpoint.services.identity_changes.record_change`, so it can be undone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import Clock
from contactpoint.domain.child import Address, Carer, ChildRecord, ServiceInvolvement, Sourced
from contactpoint.domain.identity_change import ChangeKind, ChildState, Move, merged_state
from contactpoint.domain.precedence import Statement, combine
from contactpoint.domain.review_item import (
    ReviewCandidate,
    ReviewReason,
    ReviewStatus,
    check_accept,
    require_open,
)
from contactpoint.domain.shielding import after_accept, after_review_closed
from contactpoint.errors import ContactPointError
from contactpoint.services.identity_changes import (
    ChangeResult,
    parse_child_id,
    parse_id,
    record_change,
    require_reviewer,
    result_of,
    review_shield_owed,
)
from contactpoint.services.records import load_statements
from contactpoint.store import identity as store
from contactpoint.vault.envelope import Vault

REVIEW_VIEW_REASON = "identity_review"
"""The reason recorded with every child a reviewer is shown."""

PAGE_LIMIT = 200


def _item(session: Session, item_id: uuid.UUID | str) -> store.StoredItem:
    item = store.get_item(session, parse_id(item_id, "review item"))
    if item is None:
        raise ContactPointError(
            "There is no such review item: 'contactpoint review list' shows the open ones."
        )
    return item


# --- the review queue's decisions ----------------------------------------------------


def accept(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    item_id: uuid.UUID | str,
    child_id: str,
) -> ChangeResult:
    """The record under review is this candidate child: its provisional child's records
    join the candidate, and the provisional child is merged into it."""
    require_reviewer(actor)
    target_id = parse_child_id(child_id)
    store.lock_identity(session)
    item = _item(session, item_id)
    provisional_id = item.child_id
    states = store.child_states(session, {provisional_id, target_id})
    check_accept(
        item.id,
        item.status,
        item.candidates,
        provisional_id,
        states.get(provisional_id),
        target_id,
        states.get(target_id),
    )
    provisional, target = states[provisional_id], states[target_id]
    owed = review_shield_owed(session, {provisional_id, target_id}, excluding=item.id)
    target_shield = after_accept(target.shield, provisional.shield, owed)
    change = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.ACCEPT,
        moves=[
            Move(r, provisional_id, target_id)
            for r in store.records_of_child(session, provisional_id)
        ],
        before={provisional_id: provisional, target_id: target},
        after={
            provisional_id: merged_state(target_id, provisional),
            target_id: replace(target, shield=target_shield),
        },
        child_id=target_id,
        details={"item_id": str(item.id), "record_id": str(item.record_id)},
    )
    store.resolve_item(
        session,
        item.id,
        status=ReviewStatus.ACCEPTED,
        at=change.at,
        by=actor.name,
        change_id=change.id,
    )
    return result_of(change, [item.id])


def reject(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    item_id: uuid.UUID | str,
) -> ChangeResult:
    """The record under review is none of the candidates: it stays a child of its own,
    and a shield it had only because of this review is lifted."""
    require_reviewer(actor)
    store.lock_identity(session)
    item = _item(session, item_id)
    require_open(item.id, item.status)
    holder_id = item.child_id
    holder = store.child_states(session, {holder_id})[holder_id]
    owed = review_shield_owed(session, {holder_id}, excluding=item.id)
    change = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.REJECT,
        moves=[],
        before={holder_id: holder},
        after={holder_id: replace(holder, shield=after_review_closed(holder.shield, owed))},
        child_id=holder_id,
        details={"item_id": str(item.id), "record_id": str(item.record_id)},
    )
    store.resolve_item(
        session,
        item.id,
        status=ReviewStatus.REJECTED,
        at=change.at,
        by=actor.name,
        change_id=change.id,
    )
    return result_of(change, [item.id])


# --- the read side -------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItemSummary:
    """A review item as identifiers, reason and match evidence: no personal data."""

    id: uuid.UUID
    record_id: uuid.UUID
    child_id: str
    reason: str
    status: str
    created_at: datetime
    candidates: tuple[ReviewCandidate, ...]
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    change_id: uuid.UUID | None = None
    source: str | None = None
    """The feed the record under review came from (a feed's name, not personal data)."""

    @classmethod
    def of(cls, item: store.StoredItem, source: str | None = None) -> ReviewItemSummary:
        return cls(
            id=item.id,
            record_id=item.record_id,
            child_id=item.child_id,
            reason=item.reason,
            status=item.status,
            created_at=item.created_at,
            candidates=item.candidates,
            resolved_at=item.resolved_at,
            resolved_by=item.resolved_by,
            change_id=item.change_id,
            source=source,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "record_id": str(self.record_id),
            "child_id": self.child_id,
            "reason": self.reason,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "candidates": [c.to_json() for c in self.candidates],
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolved_by": self.resolved_by,
            "change_id": str(self.change_id) if self.change_id else None,
            "source": self.source,
        }


@dataclass(frozen=True)
class ReviewPage:
    items: tuple[ReviewItemSummary, ...]
    open_total: int
    next_cursor: str | None
    """Pass back as ``cursor`` for the next page; None on the last page."""

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [i.to_json() for i in self.items],
            "open_total": self.open_total,
            "next_cursor": self.next_cursor,
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor(item: store.StoredItem) -> str:
    micros = (item.created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{item.id.hex}"


def _parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        micros, hex_id = cursor.split(".")
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
    except ValueError:
        raise ContactPointError(
            "That page cursor is not one this service gave out: start again without it."
        ) from None


def open_items(
    session: Session,
    *,
    actor: Actor,
    limit: int = 50,
    cursor: str | None = None,
    reason: str | None = None,
) -> ReviewPage:
    """The open queue, oldest first, a page at a time. Identifiers and reasons only,
    so listing it reads no child and needs no audit entry; ``compare`` is the read."""
    require_reviewer(actor)
    if not 1 <= limit <= PAGE_LIMIT:
        raise ContactPointError(f"A page holds 1 to {PAGE_LIMIT} items.")
    if reason is not None:
        try:
            reason = ReviewReason(reason).value
        except ValueError:
            reasons = ", ".join(r.value for r in ReviewReason)
            raise ContactPointError(f"The reason is one of: {reasons}.") from None
    after = _parse_cursor(cursor) if cursor else None
    rows = store.list_open_items(session, limit=limit + 1, after=after, reason=reason)
    page = rows[:limit]
    sources = store.record_sources(session, [r.record_id for r in page])
    return ReviewPage(
        items=tuple(ReviewItemSummary.of(r, sources.get(r.record_id)) for r in page),
        open_total=store.count_open_items(session, reason),
        next_cursor=_cursor(page[-1]) if len(rows) > limit else None,
    )


COMPARED_FIELDS: tuple[tuple[str, str], ...] = (
    ("given_names", "Given names"),
    ("family_name", "Family name"),
    ("former_family_names", "Former family names"),
    ("preferred_name", "Preferred name"),
    ("date_of_birth", "Date of birth"),
    ("gender", "Gender"),
    ("nhs_number", "NHS number"),
    ("upn", "UPN"),
    ("address", "Address"),
    ("address_status", "Address status"),
    ("no_fixed_abode", "No fixed abode"),
    ("circumstances", "Circumstances"),
    ("carers", "Carers"),
    ("services", "Services"),
    ("sources", "Sources"),
)
"""The rows of a side-by-side comparison, in order, with their labels."""


def _address(address: Address | None) -> str | None:
    if address is None:
        return None
    return ", ".join(p for p in (*address.lines, address.town, address.postcode) if p)


def _services(services: Sequence[ServiceInvolvement]) -> str | None:
    """Sensitive services are shown only with the child's consent, here as anywhere."""
    shown = [f"{s.type.value}: {s.organisation}" for s in services if not _withheld(s)]
    withheld = sum(1 for s in services if _withheld(s))
    if withheld:
        shown.append(f"{withheld} sensitive service(s) withheld")
    return "; ".join(shown) or None


def _withheld(service: ServiceInvolvement) -> bool:
    return service.is_sensitive and service.consent_to_show is not True


def _carers(carers: Iterable[Carer]) -> str | None:
    return (
        "; ".join(f"{c.name} ({c.relationship})" if c.relationship else c.name for c in carers)
        or None
    )


def statement_fields(statement: Statement) -> dict[str, str | None]:
    child = statement.child
    return {
        "given_names": child.given_names,
        "family_name": child.family_name,
        "former_family_names": ", ".join(child.former_family_names) or None,
        "preferred_name": child.preferred_name,
        "date_of_birth": child.date_of_birth.isoformat(),
        "gender": child.gender.value,
        "nhs_number": child.nhs_number,
        "upn": child.upn,
        "address": _address(child.address),
        "address_status": child.address_status.value if child.address_status else None,
        "no_fixed_abode": "yes" if child.no_fixed_abode else "no",
        "circumstances": ", ".join(sorted(c.value for c in child.circumstances)) or None,
        "carers": _carers(statement.carers),
        "services": _services(list(statement.services)),
        "sources": _sources([statement]),
    }


def _value(sourced: Sourced[Any] | None) -> Any:
    return None if sourced is None else sourced.value


def _sources(statements: Iterable[Statement]) -> str:
    return ", ".join(
        sorted(f"{s.provenance.source} {s.provenance.source_record_id}" for s in statements)
    )


def record_fields(child: ChildRecord, statements: Sequence[Statement]) -> dict[str, str | None]:
    """The combined record, and every source record it was combined from."""
    status = _value(child.address_status)
    return {
        "given_names": child.given_names.value,
        "family_name": child.family_name.value,
        "former_family_names": ", ".join(s.value for s in child.former_family_names) or None,
        "preferred_name": _value(child.preferred_name),
        "date_of_birth": child.date_of_birth.value.isoformat(),
        "gender": child.gender.value.value,
        "nhs_number": _value(child.nhs_number),
        "upn": _value(child.upn),
        "address": _address(_value(child.address)),
        "address_status": status.value if status else None,
        "no_fixed_abode": "yes" if _value(child.no_fixed_abode) else "no",
        "circumstances": ", ".join(sorted(c.value for c in child.circumstances)) or None,
        "carers": _carers(s.value for s in child.carers),
        "services": _services([s.value for s in child.services]),
        "sources": _sources(statements),
    }


@dataclass(frozen=True)
class CandidateSide:
    candidate: ReviewCandidate
    state: ChildState | None
    """None if the candidate no longer exists; a merged candidate names its survivor."""
    fields: Mapping[str, str | None] | None
    """The candidate child's combined record; None when it holds no current record."""
    records: tuple[store.HeldRecord, ...] = ()
    """The current records combined into ``fields``: what a split of this child names."""

    def to_json(self) -> dict[str, Any]:
        return {
            **self.candidate.to_json(),
            "state": self.state.to_json() if self.state else None,
            "fields": dict(self.fields) if self.fields is not None else None,
            "records": [r.to_json() for r in self.records],
        }


@dataclass(frozen=True)
class Comparison:
    """The record under review beside each candidate child's combined record."""

    item: ReviewItemSummary
    holder_child_id: str | None
    """The child that holds the record now (the provisional child while the item is open)."""
    record: Mapping[str, str | None] | None
    """The record under review; None if it has been ended since."""
    candidates: tuple[CandidateSide, ...]
    holder_records: tuple[store.HeldRecord, ...] = ()
    """Every current record of the holder, the one under review among them."""

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item.to_json(),
            "holder_child_id": self.holder_child_id,
            "holder_records": [r.to_json() for r in self.holder_records],
            "fields": [{"name": n, "label": label} for n, label in COMPARED_FIELDS],
            "record": dict(self.record) if self.record is not None else None,
            "candidates": [c.to_json() for c in self.candidates],
        }


def compare(
    session: Session,
    *,
    vault: Vault,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    item_id: uuid.UUID | str,
) -> Comparison:
    """Decrypt the record under review and each candidate's combined record, for a
    reviewer to judge. Every child shown is a read of that child, so each gets its
    own ``review.view`` audit entry in the caller's transaction."""
    require_reviewer(actor)
    item = _item(session, item_id)
    origin = store.record_origin(session, item.record_id)
    shown_record: dict[str, str | None] | None = None
    viewed: list[str] = []
    if origin is not None:
        for statement in load_statements(session, vault, origin.child_id):
            provenance = statement.provenance
            if (provenance.source, provenance.source_record_id) == (
                origin.source,
                origin.source_record_id,
            ):
                shown_record = statement_fields(statement)
                viewed.append(origin.child_id)
    states = store.child_states(session, {c.child_id for c in item.candidates})
    held = store.held_records(
        session, {*states, *([origin.child_id] if origin is not None else [])}
    )
    sides = []
    for candidate in item.candidates:
        state = states.get(candidate.child_id)
        statements = load_statements(session, vault, candidate.child_id) if state else []
        combined = combine(candidate.child_id, statements) if statements else None
        if combined is not None:
            viewed.append(candidate.child_id)
        sides.append(
            CandidateSide(
                candidate=candidate,
                state=state,
                fields=record_fields(combined, statements) if combined is not None else None,
                records=tuple(held.get(candidate.child_id, ())) if combined is not None else (),
            )
        )
    for child_id in dict.fromkeys(viewed):
        record(
            session,
            key=audit_key,
            clock=clock,
            actor=actor,
            action="review.view",
            child_id=child_id,
            reason_code=REVIEW_VIEW_REASON,
            details={"item_id": str(item.id), "record_id": str(item.record_id)},
        )
    return Comparison(
        item=ReviewItemSummary.of(item, origin.source if origin else None),
        holder_child_id=origin.child_id if origin else None,
        record=shown_record,
        candidates=tuple(sides),
        holder_records=tuple(held[origin.child_id]) if origin is not None else (),
    )

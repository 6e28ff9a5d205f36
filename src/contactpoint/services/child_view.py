"""Showing one child to one person, with the reason they gave, audited.

The policy (what each role sees of a child in each state) is
:mod:`contactpoint.domain.views`; this module loads the record, decrypting only
the fields the view it will give can show (:data:`VIEW_FIELDS`), asks the
policy, and writes the audit entry in the caller's transaction, whatever the outcome:
shown, shown as a shielded view, not found, or refused. A search that has found
its child renders it through :func:`view_child` too, with its own audit action,
so there is one path from a child's record to a person's screen.

An audit entry holds who looked (user, role, organisation, token), which child,
the reason code, and of the reason's free text only its length and a keyed
fingerprint: the text is the viewer's words and may name people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.orm import Session

from contactpoint.audit.trail import AuditBatch, record
from contactpoint.auth.addresses import fingerprint
from contactpoint.clock import Clock
from contactpoint.domain.contactpoint_id import parse_contactpoint_id
from contactpoint.domain.identity_change import ChildState
from contactpoint.domain.precedence import combine
from contactpoint.domain.reasons import AccessReason
from contactpoint.domain.views import (
    DEFAULT_TEAM_CONTACT,
    ChildView,
    Denial,
    Viewer,
    ViewKind,
    decide,
    in_area,
    is_archived,
    may_view,
    view_of,
)
from contactpoint.errors import ContactPointError
from contactpoint.services.records import IDENTITY_FIELDS, RECORD_FIELDS, statements_of
from contactpoint.services.sign_in import Principal
from contactpoint.store import identity as identity_store
from contactpoint.store import searches as search_store
from contactpoint.store import source_records as source_store
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import derive_key

VIEW_ACTION: Final = "child.view"
REASON_FINGERPRINT_PURPOSE: Final = "contactpoint access reason fingerprint v1"
MERGE_HOPS_LIMIT: Final = 64
"""More merges in a row than any child has had; a longer chain is a loop, and not followed."""

NOT_ALLOWED: Final = (
    "Your role does not allow viewing children's records: auditors read the audit log and "
    "feeds send records. Ask your ContactPoint administrator if you need a practitioner account."
)


class ViewOutcome(StrEnum):
    """The ``outcome`` of a view's audit entry."""

    SHOWN = "shown"
    SHIELDED_VIEW = "shielded_view"
    NOT_FOUND = "not_found"
    REFUSED = "refused"


class RefusalCause(StrEnum):
    ROLE = "role"
    NO_REASON = "no_reason"
    """No reason given, or one that is not on the list: recorded without what was sent."""


class AccessRefusedError(ContactPointError):
    """The caller may not see this child at all. The refusal is already in the audit
    log of the caller's transaction: catch this inside it, so that entry is kept."""


def reason_audit_details(audit_key: bytes, reason: AccessReason) -> dict[str, object]:
    """The reason's free text as the audit log keeps it: a length and a keyed fingerprint,
    enough to spot the same words used again and again, nothing to read them from."""
    if not reason.detail:
        return {"reason_detail_length": 0}
    key = derive_key(audit_key, REASON_FINGERPRINT_PURPOSE)
    return {
        "reason_detail_length": len(reason.detail),
        "reason_detail_fingerprint": fingerprint(key, reason.detail),
    }


def refuse(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    principal: Principal,
    child_id: str,
    cause: RefusalCause,
    reason: AccessReason | None = None,
    audit_action: str = VIEW_ACTION,
) -> None:
    """Audit a request turned away before any child was read (wrong role, no reason)."""
    details: dict[str, object] = {"cause": cause.value, "token_id": str(principal.token_id)}
    if reason is not None:
        details.update(reason_audit_details(audit_key, reason))
    record(
        session,
        key=audit_key,
        clock=clock,
        actor=principal.actor(),
        action=audit_action,
        outcome=ViewOutcome.REFUSED.value,
        child_id=parse_contactpoint_id(child_id),
        reason_code=reason.code.value if reason is not None else None,
        details=details,
    )


def surviving_child(session: Session, child_id: str) -> tuple[str, ChildState] | None:
    """The child that holds ``child_id``'s records now, following merges to the end."""
    current = child_id
    for _ in range(MERGE_HOPS_LIMIT):
        state = identity_store.child_states(session, {current}).get(current)
        if state is None:
            return None
        if state.active:
            return current, state
        if state.merged_into is None:
            return None
        current = state.merged_into
    return None


VIEW_FIELDS: Final[Mapping[ViewKind, frozenset[str]]] = {
    ViewKind.FULL: frozenset(RECORD_FIELDS),
    ViewKind.PRACTITIONER: frozenset(RECORD_FIELDS),
    ViewKind.SHIELDED: IDENTITY_FIELDS | {"carers", "services"},
    ViewKind.EMERGENCY: IDENTITY_FIELDS | {"circumstances", "services"},
}
"""The fields each kind of view is built from (its parents, its team contact and the
services withheld are read from the carers and services); every other field of the
child's records stays encrypted, so a shielded child's address is never decrypted for a
practitioner, nor a child's addresses and carers for an emergency user."""


def possible_views(viewer: Viewer, *, shielded: bool) -> frozenset[ViewKind]:
    """Every kind of view the policy could give ``viewer`` of a child so shielded, whether
    or not the child turns out to be archived or in the viewer's area (which need the
    date of birth and the services to tell). One kind for every role but the local
    authority's, whose view depends on the child's area."""
    decisions = (
        decide(viewer, in_area=in_area, shielded=shielded, archived=archived)
        for in_area in (False, True)
        for archived in (False, True)
    )
    return frozenset(d for d in decisions if isinstance(d, ViewKind))


def fields_shown(kinds: Iterable[ViewKind]) -> frozenset[str]:
    return frozenset().union(*(VIEW_FIELDS[kind] for kind in kinds))


def view_child(
    session: Session,
    *,
    vault: Vault,
    clock: Clock,
    audit_key: bytes,
    principal: Principal,
    child_id: str,
    reason: AccessReason,
    team_contact: str = DEFAULT_TEAM_CONTACT,
    audit_action: str = VIEW_ACTION,
    audit_batch: AuditBatch | None = None,
) -> ChildView | None:
    """The view of the child that ``principal``'s role allows, or None where there is
    none to give (no such child, or archived and out of the caller's sight).

    The view's audit entry is written at once, or, given ``audit_batch``, added to
    it for the caller to write with its own entries, in this same transaction (a
    search does this, so that all its entries take the chain lock once).

    Answers None alike for an ID that is malformed, unknown, merged into nothing,
    or archived, so the answer never tells which. An old ID of a merged child
    leads to the child that holds its records. Raises :class:`AccessRefusedError` for a
    role that never sees a child, after auditing the refusal.
    """
    base: dict[str, object] = {"token_id": str(principal.token_id)}
    base.update(reason_audit_details(audit_key, reason))

    batch = audit_batch if audit_batch is not None else AuditBatch()

    def audit(outcome: ViewOutcome, shown_child: str | None, **details: object) -> None:
        batch.add(
            actor=principal.actor(),
            action=audit_action,
            outcome=outcome.value,
            child_id=shown_child,
            reason_code=reason.code.value,
            details={**base, **details},
        )
        if audit_batch is None:
            batch.write(session, key=audit_key, clock=clock)

    if not may_view(principal.role):
        refuse(
            session,
            clock=clock,
            audit_key=audit_key,
            principal=principal,
            child_id=child_id,
            cause=RefusalCause.ROLE,
            reason=reason,
            audit_action=audit_action,
        )
        raise AccessRefusedError(NOT_ALLOWED)
    requested = parse_contactpoint_id(child_id)
    if requested is None:
        audit(ViewOutcome.NOT_FOUND, None, why="malformed_id")
        return None
    held = search_store.child_with_records(session, requested)
    rows: Sequence[Mapping[Any, Any]]
    if held is not None and held.state.active:
        holder, state, rows = requested, held.state, held.records
    else:
        found = surviving_child(session, requested) if held is not None else None
        if found is None:
            audit(ViewOutcome.NOT_FOUND, requested, why="unknown")
            return None
        holder, state = found
        if holder != requested:
            base["requested_child_id"] = requested
        rows = source_store.active_records_of_child(session, holder)
    viewer = Viewer(principal.role, principal.area)
    kinds = possible_views(viewer, shielded=state.shield.shielded)
    if rows and len({VIEW_FIELDS[kind] for kind in kinds}) > 1:
        # Which view depends on the child's area: tell it from the services alone first.
        first = combine(holder, statements_of(vault, rows, {"services"}))
        decided = decide(
            viewer,
            in_area=in_area(first, viewer.area),
            shielded=state.shield.shielded,
            archived=is_archived(first, clock.today()),
        )
        kinds = frozenset({decided}) if isinstance(decided, ViewKind) else frozenset()
    statements = statements_of(vault, rows, fields_shown(kinds))
    child_record = combine(holder, statements) if statements else None
    if child_record is None:
        audit(ViewOutcome.NOT_FOUND, holder, why="no_current_records")
        return None
    view = view_of(
        child_record,
        viewer,
        shield=state.shield,
        today=clock.today(),
        team_contact=team_contact,
    )
    if view is Denial.NOT_FOUND:
        audit(ViewOutcome.NOT_FOUND, holder, why="archived")
        return None
    if isinstance(view, Denial):
        raise AssertionError("a role that may view was refused by the policy")
    if view.kind not in kinds:
        raise AssertionError(f"a {view.kind} view was built from the fields of {sorted(kinds)}")
    shielded_view = view.shielded and view.kind is not ViewKind.FULL
    audit(
        ViewOutcome.SHIELDED_VIEW if shielded_view else ViewOutcome.SHOWN,
        holder,
        view=view.kind.value,
    )
    return view

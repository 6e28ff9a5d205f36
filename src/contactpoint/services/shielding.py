"""The local authority shields a child, or lifts its shield (regulation 6(5)).

Each decision needs a reason code from a closed list, is recorded as an identity
change (so an undo of an earlier merge or split can never silently override it)
and audited with its reason, in one transaction.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from contactpoint.audit.trail import Actor
from contactpoint.clock import Clock
from contactpoint.domain.identity_change import ChangeKind, require_active
from contactpoint.domain.shielding import (
    ShieldReason,
    UnshieldReason,
    after_shield,
    after_unshield,
    parse_reason,
)
from contactpoint.services.identity_changes import (
    ChangeResult,
    parse_child_id,
    record_change,
    require_reviewer,
    result_of,
    review_shield_owed,
)
from contactpoint.store import identity as store


def shield(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    child_id: str,
    reason_code: str,
) -> ChangeResult:
    """Shield a child on the local authority's decision; a review shield becomes theirs."""
    require_reviewer(actor)
    reason = parse_reason(reason_code, ShieldReason)
    target_id = parse_child_id(child_id)
    store.lock_identity(session)
    state = require_active(target_id, store.child_states(session, {target_id}).get(target_id))
    change = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.SHIELD,
        moves=[],
        before={target_id: state},
        after={target_id: replace(state, shield=after_shield(state.shield))},
        child_id=target_id,
        reason_code=reason,
    )
    return result_of(change)


def unshield(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    child_id: str,
    reason_code: str,
) -> ChangeResult:
    """Lift a shield on the local authority's decision. Where an open review item on the
    child still has a shielded candidate, a review shield stays until it is resolved."""
    require_reviewer(actor)
    reason = parse_reason(reason_code, UnshieldReason)
    target_id = parse_child_id(child_id)
    store.lock_identity(session)
    state = require_active(target_id, store.child_states(session, {target_id}).get(target_id))
    owed = review_shield_owed(session, {target_id})
    change = record_change(
        session,
        clock=clock,
        audit_key=audit_key,
        actor=actor,
        kind=ChangeKind.UNSHIELD,
        moves=[],
        before={target_id: state},
        after={target_id: replace(state, shield=after_unshield(state.shield, owed))},
        child_id=target_id,
        reason_code=reason,
    )
    return result_of(change)

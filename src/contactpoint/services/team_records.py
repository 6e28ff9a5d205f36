"""The local authority team's own records of children no feed covers.

A team's record is a source record like a feed's: in the ``local-authority``
source, under an id of its own (``team:`` and 32 random hex digits), validated
by the feed schema, encrypted, and placed by the same identity linker in the
same transaction as its audit entry (:meth:`FeedIngestor.apply_line`). So it
links to a child already known, waits in the review queue, or makes a new
child; a record that might be a shielded child's is shielded with it. The team
can open and change only its own records: those in its source id range whose
responsible team is of the team's area. What feeds say is never edited here.
See ``docs/team-records.md``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from contactpoint.audit.trail import record
from contactpoint.clock import Clock
from contactpoint.domain.contactpoint_id import parse_contactpoint_id
from contactpoint.domain.precedence import LOCAL_AUTHORITY
from contactpoint.domain.reasons import DETAIL_MAX_LENGTH, AccessReason, ReasonCode, parse_reason
from contactpoint.domain.team_entry import (
    TEAM_RECORD_PREFIX,
    FieldError,
    TeamChildEntry,
    check_entry,
    entry_from_record,
    is_team_record_id,
    team_service,
)
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.feeds.schema import FeedLine
from contactpoint.services.child_view import reason_audit_details, surviving_child
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import AppliedLine, FeedIngestor
from contactpoint.services.sign_in import Principal
from contactpoint.store import source_records as store
from contactpoint.vault.envelope import Vault
from contactpoint.vault.record_cipher import (
    CHILD_FIELDS,
    decrypt_fields,
    details_from_fields,
    services_from_json,
)

TEAM_SOURCE: Final = LOCAL_AUTHORITY
CREATE_ACTION: Final = "team.child.create"
READ_ACTION: Final = "team.child.read"
UPDATE_ACTION: Final = "team.child.update"
REASON_FIELD: Final = "reason_code"
REASON_DETAIL_FIELD: Final = "reason_detail"

_SCHEMA_FIELDS: Final[dict[tuple[str | int, ...], str]] = {
    ("child", "given_names"): "given_names",
    ("child", "family_name"): "family_name",
    ("child", "preferred_name"): "preferred_name",
    ("child", "former_family_names"): "former_family_names",
    ("child", "date_of_birth"): "dob_day",
    ("child", "gender"): "gender",
    ("child", "nhs_number"): "nhs_number",
    ("child", "circumstances"): "situation",
    ("child", "address", "postcode"): "postcode",
    ("child", "address", "town"): "town",
    ("child", "address"): "address_line_1",
    ("child",): "whereabouts",
    ("services", 0, "organisation"): "team",
    ("services", 0, "practitioner", "name"): "lead_name",
    ("services", 0, "practitioner", "role"): "lead_role",
    ("services", 0, "practitioner", "phone"): "lead_phone",
    ("services", 0, "practitioner", "email"): "lead_email",
}
"""Where a feed-schema refusal belongs on the form (the longest matching prefix)."""


class TeamOutcome(StrEnum):
    NEW_CHILD = "new_child"
    LINKED = "linked"
    QUEUED_FOR_REVIEW = "queued_for_review"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Saved:
    child_id: str
    outcome: TeamOutcome
    shielded: bool


@dataclass(frozen=True, slots=True)
class Invalid:
    errors: list[FieldError]


@dataclass(frozen=True, slots=True)
class NotFound:
    """No record of this team's for that ContactPoint ID (or no such child)."""


@dataclass(frozen=True, slots=True)
class OpenedRecord:
    child_id: str
    entry: TeamChildEntry


def _team_area(principal: Principal) -> str:
    if principal.role is not Role.LA_ADMIN:
        raise ContactPointError("Only a local authority team may keep records here.")
    if not principal.area or not principal.area.strip():
        raise ContactPointError(
            "Your account has no area, so it cannot keep records: ask your ContactPoint "
            "operator to set one."
        )
    return principal.area


def _reason(code: str, detail: str) -> AccessReason | FieldError:
    if code not in {c.value for c in ReasonCode}:
        return FieldError(REASON_FIELD, "Select why you are recording this")
    try:
        return parse_reason(code, detail)
    except ContactPointError:
        return FieldError(
            REASON_DETAIL_FIELD,
            f"Enter the reason's details in {DETAIL_MAX_LENGTH} characters or fewer, on one line",
        )


def _schema_errors(exc: ValidationError) -> list[FieldError]:
    found: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        field = "given_names"
        for length in range(len(loc), 0, -1):
            if loc[:length] in _SCHEMA_FIELDS:
                field = _SCHEMA_FIELDS[loc[:length]]
                break
        message = error["msg"].removeprefix("Value error, ")
        if not any(f.field == field for f in found):
            found.append(FieldError(field, f"Check this answer: it {message}"))
    return found


def _line(
    source_record_id: str, content: dict[str, Any], clock: Clock
) -> FeedLine | list[FieldError]:
    """The entry as a feed line, through the feed schema's own validation."""
    raw = json.dumps({"source_record_id": source_record_id, "action": "upsert", **content})
    try:
        return FeedLine.model_validate_json(raw, context={"today": clock.today()})
    except ValidationError as exc:
        return _schema_errors(exc)


def _check(
    entry: TeamChildEntry,
    *,
    area: str,
    clock: Clock,
    reason_code: str,
    reason_detail: str,
) -> tuple[dict[str, Any], AccessReason] | list[FieldError]:
    content, errors = check_entry(entry, area=area, today=clock.today())
    reason = _reason(reason_code, reason_detail)
    if isinstance(reason, FieldError):
        errors = [*errors, reason]
    if errors or content is None or isinstance(reason, FieldError):
        return errors
    return content, reason


def _audit(
    session: Session,
    tools: FeedTools,
    principal: Principal,
    *,
    action: str,
    outcome: str,
    child_id: str | None,
    reason: AccessReason,
    **details: object,
) -> None:
    record(
        session,
        key=tools.audit_key,
        clock=tools.clock,
        actor=principal.actor(),
        action=action,
        outcome=outcome,
        child_id=child_id,
        reason_code=reason.code.value,
        details={
            "token_id": str(principal.token_id),
            "source": TEAM_SOURCE,
            **reason_audit_details(tools.audit_key, reason),
            **details,
        },
    )


def _created_outcome(applied: AppliedLine) -> TeamOutcome:
    if applied.counts.linked:
        return TeamOutcome.LINKED
    if applied.counts.queued_for_review:
        return TeamOutcome.QUEUED_FOR_REVIEW
    return TeamOutcome.NEW_CHILD


def _shielded(session: Session, child_id: str) -> bool:
    flags = store.child_flags(session, {child_id}).get(child_id)
    return flags is not None and flags.shielded


def create_team_record(
    tools: FeedTools,
    *,
    principal: Principal,
    entry: TeamChildEntry,
    reason_code: str,
    reason_detail: str,
) -> Saved | Invalid:
    """Record a child no feed covers: linked, queued for review, or a new child."""
    area = _team_area(principal)
    checked = _check(
        entry, area=area, clock=tools.clock, reason_code=reason_code, reason_detail=reason_detail
    )
    if isinstance(checked, list):
        return Invalid(checked)
    content, reason = checked
    source_record_id = f"{TEAM_RECORD_PREFIX}{uuid.uuid4().hex}"
    line = _line(source_record_id, content, tools.clock)
    if isinstance(line, list):
        return Invalid(line)
    tools.vault.prepare()
    with tools.sessions.begin() as session:
        applied = FeedIngestor(tools).apply_line(session, TEAM_SOURCE, line)
        outcome = _created_outcome(applied)
        shielded = _shielded(session, applied.child_id)
        _audit(
            session,
            tools,
            principal,
            action=CREATE_ACTION,
            outcome=outcome.value,
            child_id=applied.child_id,
            reason=reason,
            source_record_id=source_record_id,
            shielded=shielded,
        )
    return Saved(applied.child_id, outcome, shielded)


@dataclass(frozen=True, slots=True)
class _Own:
    child_id: str
    source_record_id: str
    entry: TeamChildEntry


def _own_record(session: Session, vault: Vault, child_id: str, area: str) -> _Own | None:
    """The team's own record of the child (the latest, if merges brought it two)."""
    requested = parse_contactpoint_id(child_id)
    if requested is None:
        return None
    found = surviving_child(session, requested)
    if found is None:
        return None
    holder, _ = found
    rows: list[RowMapping] = [
        row
        for row in store.active_records_of_child(session, holder)
        if row["source"] == TEAM_SOURCE and is_team_record_id(row["source_record_id"])
    ]
    for row in reversed(rows):
        values = decrypt_fields(vault, row["id"], row, (*CHILD_FIELDS, "services"))
        services = services_from_json(values["services"])
        if team_service(services, area) is None:
            continue
        entry = entry_from_record(details_from_fields(values), services, area)
        return _Own(holder, row["source_record_id"], entry)
    return None


def open_team_record(
    session: Session,
    *,
    vault: Vault,
    clock: Clock,
    audit_key: bytes,
    principal: Principal,
    child_id: str,
    reason: AccessReason,
) -> OpenedRecord | None:
    """The team's own record of the child, to change it; audited as a read either way."""
    area = _team_area(principal)
    own = _own_record(session, vault, child_id, area)
    record(
        session,
        key=audit_key,
        clock=clock,
        actor=principal.actor(),
        action=READ_ACTION,
        outcome="shown" if own is not None else TeamOutcome.NOT_FOUND.value,
        child_id=own.child_id if own is not None else parse_contactpoint_id(child_id),
        reason_code=reason.code.value,
        details={
            "token_id": str(principal.token_id),
            "source": TEAM_SOURCE,
            **reason_audit_details(audit_key, reason),
            **({"source_record_id": own.source_record_id} if own is not None else {}),
        },
    )
    return None if own is None else OpenedRecord(own.child_id, own.entry)


def update_team_record(
    tools: FeedTools,
    *,
    principal: Principal,
    child_id: str,
    entry: TeamChildEntry,
    reason_code: str,
    reason_detail: str,
) -> Saved | Invalid | NotFound:
    """A new version of the team's own record of the child, through the same path as a
    feed's update: it stays with its child (updates do not re-link; review does that)."""
    area = _team_area(principal)
    checked = _check(
        entry, area=area, clock=tools.clock, reason_code=reason_code, reason_detail=reason_detail
    )
    if isinstance(checked, list):
        return Invalid(checked)
    content, reason = checked
    tools.vault.prepare()
    with tools.sessions.begin() as session:
        own = _own_record(session, tools.vault, child_id, area)
        if own is None:
            _audit(
                session,
                tools,
                principal,
                action=UPDATE_ACTION,
                outcome=TeamOutcome.NOT_FOUND.value,
                child_id=parse_contactpoint_id(child_id),
                reason=reason,
            )
            return NotFound()
        line = _line(own.source_record_id, content, tools.clock)
        if isinstance(line, list):
            return Invalid(line)
        applied = FeedIngestor(tools).apply_line(session, TEAM_SOURCE, line)
        outcome = TeamOutcome.UPDATED if applied.counts.updated else TeamOutcome.UNCHANGED
        shielded = _shielded(session, applied.child_id)
        _audit(
            session,
            tools,
            principal,
            action=UPDATE_ACTION,
            outcome=outcome.value,
            child_id=applied.child_id,
            reason=reason,
            source_record_id=own.source_record_id,
        )
    return Saved(applied.child_id, outcome, shielded)

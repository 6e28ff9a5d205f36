"""The local authority team's review queue: uncertain links compared side by side and resolved.

Each route calls the same services as ``/api/v1/review`` in one transaction,
so the rules, the identity lock and the audit entries are theirs: listing the
queue reads no child; comparing an item is a read of every child shown (one
``review.view`` entry each, on every page view); accept, reject, merge, split
and undo are identity changes, each audited with what it moved.

No URL names a child. Pages are addressed by review item and identity change
UUIDs and the queue's cursor (a timestamp and an item UUID); the ContactPoint
IDs and record IDs an action needs travel in the POST body. After a change the
browser is sent (303) to that change's page, which offers its undo.

The services take no reason for these decisions: the item under review and the
change's own record are the reason, so the forms ask for none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contactpoint.domain.identity_change import SHIELD_DECISIONS, Change, ChangeKind, ChildState
from contactpoint.domain.review_item import ReviewReason, ReviewStatus
from contactpoint.errors import ContactPointError
from contactpoint.services import identity_changes, review
from contactpoint.services.identity_changes import ChangeShown
from contactpoint.services.sign_in import Principal
from contactpoint.store.identity import HeldRecord
from contactpoint.web.dependencies import RuntimeDep
from contactpoint.web.pages.dependencies import CheckedForm, PageRefused, TeamUser, form_text
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)

QUEUE: Final = "/team/review"
PAGE_SIZE = 50
"""Items on a page of the queue (a module setting so tests can page a short queue)."""
MAX_CURSOR: Final = 200
MAX_FIELD: Final = 64

REASONS: Final[Mapping[str, str]] = {
    ReviewReason.UNCERTAIN_MATCH: "Uncertain match",
    ReviewReason.CONFLICTING_IDENTIFIER: "Conflicting identifier",
    ReviewReason.AMBIGUOUS: "More than one possible child",
    ReviewReason.SHIELDED_CANDIDATE: "A possible child is shielded",
}
COMPARISONS: Final[Mapping[str, str]] = {
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "gender": "Gender",
    "postcode": "Postcode",
    "nhs_number": "NHS number",
    "upn": "UPN",
}
LEVELS: Final[Mapping[str, str]] = {
    "null": "Missing from one record",
    "exact": "Exact",
    "same": "Same",
    "equivalent": "Equivalent (for example a short form)",
    "close": "Close",
    "weak": "Weak",
    "swapped": "Given and family names swapped",
    "former_or_part": "A former name, or part of the name",
    "day_month_swapped": "Day and month swapped",
    "one_part": "One part differs",
    "sector": "Same postcode sector",
    "district": "Same postcode district",
    "area": "Same postcode area",
    "different": "Different",
}
"""Words for the matcher's comparisons and levels (identity/comparisons.py)."""
HEADINGS: Final[Mapping[ChangeKind, str]] = {
    ChangeKind.ACCEPT: "Record linked to a child",
    ChangeKind.REJECT: "Record kept as a separate child",
    ChangeKind.MERGE: "Children merged",
    ChangeKind.SPLIT: "Record split off to a new child",
    ChangeKind.UNDO: "Change undone",
    ChangeKind.SHIELD: "Child shielded",
    ChangeKind.UNSHIELD: "Shield lifted",
}

ITEM_NOT_FOUND = PageRefused(
    404,
    "Review item not found",
    "Check the address, or go back to the review queue and choose the item from there.",
)
CHANGE_NOT_FOUND = PageRefused(
    404,
    "Change not found",
    "Check the address, or go back to the review queue.",
)
CURSOR_GONE = PageRefused(
    400,
    "That page of the review queue cannot be shown",
    "Go back to the review queue and start from its first page.",
)


# --- shared ---------------------------------------------------------------------------


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _opaque_id(value: str, missing: PageRefused) -> uuid.UUID:
    """An item or change UUID from a path; anything else is a page that does not exist."""
    if len(value) > 45:
        raise missing
    try:
        return uuid.UUID(value)
    except ValueError:
        raise missing from None


def item_url(item_id: uuid.UUID) -> str:
    return f"{QUEUE}/{item_id}"


def change_url(change_id: uuid.UUID, came_from: uuid.UUID | None = None) -> str:
    """A change's page; ``came_from`` is the review item whose page it was made on."""
    return f"{QUEUE}/changes/{change_id}" + (f"?item={came_from}" if came_from else "")


@cache
def _uk_time() -> ZoneInfo | None:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:
        return None


def when(at: datetime) -> str:
    """GOV.UK style, in UK time: 7 March 2026 at 2:05pm."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    zone = _uk_time()
    local = aware.astimezone(zone) if zone is not None else aware.astimezone(UTC)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    zone_note = "" if zone is not None else " UTC"
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{suffix}{zone_note}"


def _status_of(exc: ContactPointError) -> int:
    """As the JSON API answers the same refusals."""
    message = str(exc)
    if message.startswith("There is no such"):
        return 404
    if message.startswith("That is not a"):
        return 400
    return 409


def _error(text: str, href: str) -> dict[str, str]:
    return {"text": text, "href": href}


# --- the queue ------------------------------------------------------------------------


@router.get("/team/review")
def queue(
    request: Request, caller: TeamUser, runtime: RuntimeDep, cursor: str | None = None
) -> HTMLResponse:
    if cursor is not None and (not cursor or len(cursor) > MAX_CURSOR):
        raise CURSOR_GONE
    try:
        with runtime.sessions() as session:
            page = review.open_items(
                session, actor=caller.actor(), limit=PAGE_SIZE, cursor=cursor or None
            )
    except ContactPointError:
        raise CURSOR_GONE from None
    rows = [
        {
            "href": item_url(item.id),
            "queued": when(item.created_at),
            "source": item.source or "Not known",
            "reason": REASONS.get(item.reason, _words(item.reason)),
            "candidates": len(item.candidates),
            "best_weight": _weight(max((c.weight for c in item.candidates), default=None)),
        }
        for item in page.items
    ]
    return render(
        request,
        "team_review/queue.html",
        {
            "rows": rows,
            "open_total": page.open_total,
            "first_page": cursor is None,
            "next_href": f"{QUEUE}?cursor={page.next_cursor}" if page.next_cursor else None,
        },
    )


def _weight(weight: float | None) -> str:
    return "None" if weight is None else f"{weight:.1f}"


# --- the comparison -------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One child shown on the comparison: the record under review, or a candidate."""

    key: str
    heading: str
    child_id: str | None
    fields: Mapping[str, str | None] | None
    records: Sequence[HeldRecord]
    state: ChildState | None = None
    weight: float | None = None
    levels: Mapping[str, str] | None = None

    @property
    def active(self) -> bool:
        return self.state is not None and self.state.active and self.fields is not None

    @property
    def shielded(self) -> bool:
        return self.state is not None and self.state.shield.shielded

    @property
    def merged_into(self) -> str | None:
        return self.state.merged_into if self.state is not None else None


def _columns(comparison: review.Comparison) -> list[Column]:
    record = Column(
        key="record",
        heading="Record under review",
        child_id=comparison.holder_child_id,
        fields=comparison.record,
        records=comparison.holder_records,
    )
    candidates = [
        Column(
            key=f"candidate-{number}",
            heading=f"Possible match {number}",
            child_id=side.candidate.child_id,
            fields=side.fields,
            records=side.records,
            state=side.state,
            weight=side.candidate.weight,
            levels=side.candidate.levels,
        )
        for number, side in enumerate(comparison.candidates, start=1)
    ]
    return [record, *candidates]


def _evidence(candidates: Sequence[Column]) -> list[dict[str, Any]]:
    names = list(dict.fromkeys(n for c in candidates for n in (c.levels or {})))
    return [
        {
            "label": COMPARISONS.get(name, _words(name)),
            "cells": [_level((c.levels or {}).get(name)) for c in candidates],
        }
        for name in names
    ]


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _level(level: str | None) -> str:
    return "Not compared" if level is None else LEVELS.get(level, _words(level))


def _compare(runtime: RuntimeDep, caller: Principal, item_id: uuid.UUID) -> review.Comparison:
    """The comparison, audited as a read of each child shown, in its own transaction."""
    try:
        with runtime.sessions.begin() as session:
            return review.compare(
                session,
                vault=runtime.vault,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                item_id=item_id,
            )
    except ContactPointError:
        raise ITEM_NOT_FOUND from None


def _item_page(
    request: Request,
    runtime: RuntimeDep,
    caller: Principal,
    item_id: uuid.UUID,
    *,
    errors: list[dict[str, str]] | None = None,
    field_errors: Mapping[str, str] | None = None,
    chosen: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    comparison = _compare(runtime, caller, item_id)
    item = comparison.item
    columns = _columns(comparison)
    candidates = columns[1:]
    rows = [
        {
            "label": label,
            "cells": [
                (c.fields or {}).get(name) if c.fields is not None else None for c in columns
            ],
        }
        for name, label in review.COMPARED_FIELDS
    ]
    mergeable = [c for c in candidates if c.active]
    return render(
        request,
        "team_review/item.html",
        {
            "errors": errors or [],
            "field_errors": field_errors or {},
            "chosen": chosen or {},
            "item": item,
            "item_href": item_url(item.id),
            "is_open": item.status == ReviewStatus.OPEN,
            "reason": REASONS.get(item.reason, _words(item.reason)),
            "queued": when(item.created_at),
            "resolved": when(item.resolved_at) if item.resolved_at else None,
            "decision_href": change_url(item.change_id) if item.change_id else None,
            "record_id": item.record_id,
            "columns": columns,
            "candidates": candidates,
            "rows": rows,
            "evidence": _evidence(candidates),
            "weights": [_weight(c.weight) for c in candidates],
            "acceptable": [c for c in candidates if c.active],
            "mergeable": mergeable if len(mergeable) >= 2 else [],
            "splittable": [c for c in columns if c.child_id and len(c.records) >= 2],
        },
        status_code=status_code,
    )


@router.get("/team/review/{item_id}")
def item_page(
    request: Request, item_id: str, caller: TeamUser, runtime: RuntimeDep
) -> HTMLResponse:
    return _item_page(request, runtime, caller, _opaque_id(item_id, ITEM_NOT_FOUND))


def _refused_on_item(
    request: Request,
    runtime: RuntimeDep,
    caller: Principal,
    item_id: uuid.UUID,
    exc: ContactPointError,
    href: str,
) -> HTMLResponse:
    if _status_of(exc) == 404:
        raise ITEM_NOT_FOUND
    return _item_page(
        request,
        runtime,
        caller,
        item_id,
        errors=[_error(str(exc), href)],
        status_code=_status_of(exc),
    )


@router.post("/team/review/{item_id}/accept")
def accept(
    request: Request, item_id: str, caller: TeamUser, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    item = _opaque_id(item_id, ITEM_NOT_FOUND)
    child_id = form_text(form, "child_id")[:MAX_FIELD]
    if not child_id:
        return _item_page(
            request,
            runtime,
            caller,
            item,
            errors=[_error("Choose the child to link the record to", "#decision")],
            status_code=400,
        )
    try:
        with runtime.sessions.begin() as session:
            result = review.accept(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                item_id=item,
                child_id=child_id,
            )
    except ContactPointError as exc:
        return _refused_on_item(request, runtime, caller, item, exc, "#decision")
    return _see_other(change_url(result.change_id, item))


@router.post("/team/review/{item_id}/reject")
def reject(
    request: Request, item_id: str, caller: TeamUser, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    item = _opaque_id(item_id, ITEM_NOT_FOUND)
    try:
        with runtime.sessions.begin() as session:
            result = review.reject(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                item_id=item,
            )
    except ContactPointError as exc:
        return _refused_on_item(request, runtime, caller, item, exc, "#decision")
    return _see_other(change_url(result.change_id, item))


@router.post("/team/review/{item_id}/merge")
def merge(
    request: Request, item_id: str, caller: TeamUser, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    item = _opaque_id(item_id, ITEM_NOT_FOUND)
    from_id = form_text(form, "from_child_id")[:MAX_FIELD]
    into_id = form_text(form, "into_child_id")[:MAX_FIELD]
    field_errors = {}
    if not from_id:
        field_errors["from_child_id"] = "Select the child whose records should move"
    if not into_id:
        field_errors["into_child_id"] = "Select the child that should keep the records"
    elif from_id == into_id:
        field_errors["into_child_id"] = "Select a different child from the one whose records move"
    if field_errors:
        return _item_page(
            request,
            runtime,
            caller,
            item,
            errors=[_error(text, f"#{name}") for name, text in field_errors.items()],
            field_errors=field_errors,
            chosen={"from_child_id": from_id, "into_child_id": into_id},
            status_code=400,
        )
    try:
        with runtime.sessions.begin() as session:
            result = identity_changes.merge(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                from_child_id=from_id,
                into_child_id=into_id,
            )
    except ContactPointError as exc:
        return _refused_on_item(request, runtime, caller, item, exc, "#merge")
    return _see_other(change_url(result.change_id, item))


@router.post("/team/review/{item_id}/split")
def split(
    request: Request, item_id: str, caller: TeamUser, runtime: RuntimeDep, form: CheckedForm
) -> Response:
    item = _opaque_id(item_id, ITEM_NOT_FOUND)
    child_id = form_text(form, "child_id")[:MAX_FIELD]
    record_id = form_text(form, "record_id")[:MAX_FIELD]
    if not child_id or not record_id:
        return _item_page(
            request,
            runtime,
            caller,
            item,
            errors=[_error("Choose the record to split off", "#split")],
            status_code=400,
        )
    try:
        with runtime.sessions.begin() as session:
            result = identity_changes.split(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                child_id=child_id,
                record_ids=[record_id],
            )
    except ContactPointError as exc:
        return _refused_on_item(request, runtime, caller, item, exc, "#split")
    return _see_other(change_url(result.change_id, item))


# --- a change and its undo ------------------------------------------------------------


def _state_text(state: ChildState) -> str:
    parts = ["merged into " + state.merged_into if state.merged_into else state.status.value]
    if state.shield.shielded:
        parts.append("shielded")
    return ", ".join(parts)


def _summary(change: Change) -> list[str]:
    """What the change did, in words, by ContactPoint ID (never in a URL or title)."""
    moved_to = sorted({m.to_child for m in change.moves})
    created = sorted(c for c, s in change.before.items() if s is None)
    merged = sorted((c, s.merged_into) for c, s in change.after.items() if s.merged_into)
    records = len(change.moves)
    if change.kind is ChangeKind.ACCEPT:
        lines = [f"The record under review is now with child {', '.join(moved_to)}."]
        lines += [f"Child {c} was merged into child {into}." for c, into in merged]
        return lines
    if change.kind is ChangeKind.REJECT:
        return [
            f"The record stays with child {child}, a child of its own." for child in change.after
        ]
    if change.kind is ChangeKind.MERGE:
        return [
            f"The records of child {c} ({records} in all) now belong to child {into}."
            for c, into in merged
        ]
    if change.kind is ChangeKind.SPLIT:
        return [f"{records} record(s) moved to a new child, ContactPoint ID {c}." for c in created]
    if change.kind is ChangeKind.UNDO:
        return [f"What the earlier change altered has been put back ({records} record(s) moved)."]
    return [
        f"Child {child}: {_state_text(state)}." for child, state in sorted(change.after.items())
    ]


def _shown(runtime: RuntimeDep, caller: Principal, change_id: uuid.UUID) -> ChangeShown:
    try:
        with runtime.sessions() as session:
            return identity_changes.show_change(session, actor=caller.actor(), change_id=change_id)
    except ContactPointError:
        raise CHANGE_NOT_FOUND from None


def _change_page(
    request: Request,
    runtime: RuntimeDep,
    caller: Principal,
    change_id: uuid.UUID,
    *,
    came_from: uuid.UUID | None = None,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    shown = _shown(runtime, caller, change_id)
    change = shown.change
    undoable = (
        change.undone_by is None
        and change.kind is not ChangeKind.UNDO
        and change.kind not in SHIELD_DECISIONS
    )
    return render(
        request,
        "team_review/change.html",
        {
            "errors": errors or [],
            "heading": HEADINGS[change.kind],
            "kind": change.kind.value,
            "summary": _summary(change),
            "at": when(change.at),
            "children": [
                {"child_id": child, "state": _state_text(state)}
                for child, state in sorted(change.after.items())
            ],
            "change_id": change.id,
            "undo_action": (
                f"{QUEUE}/changes/{change.id}/undo" + (f"?item={came_from}" if came_from else "")
                if undoable
                else None
            ),
            "undone_href": change_url(change.undone_by) if change.undone_by else None,
            "undoes_href": change_url(change.undoes) if change.undoes else None,
            "decided": [item_url(i) for i in shown.items if i != came_from],
            "came_from": item_url(came_from) if came_from else None,
            "open_items": [
                item_url(i) for i in shown.open_items if i != came_from and i not in shown.items
            ],
        },
        status_code=status_code,
    )


@router.get("/team/review/changes/{change_id}")
def change_page(
    request: Request,
    change_id: str,
    caller: TeamUser,
    runtime: RuntimeDep,
    item: str | None = None,
) -> HTMLResponse:
    came_from = _opaque_id(item, ITEM_NOT_FOUND) if item else None
    return _change_page(
        request, runtime, caller, _opaque_id(change_id, CHANGE_NOT_FOUND), came_from=came_from
    )


@router.post("/team/review/changes/{change_id}/undo")
def undo(
    request: Request,
    change_id: str,
    caller: TeamUser,
    runtime: RuntimeDep,
    form: CheckedForm,
    item: str | None = None,
) -> Response:
    target = _opaque_id(change_id, CHANGE_NOT_FOUND)
    came_from = _opaque_id(item, ITEM_NOT_FOUND) if item else None
    try:
        with runtime.sessions.begin() as session:
            result = identity_changes.undo(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                change_id=target,
            )
    except ContactPointError as exc:
        if _status_of(exc) == 404:
            raise CHANGE_NOT_FOUND from None
        return _change_page(
            request,
            runtime,
            caller,
            target,
            came_from=came_from,
            errors=[_error(str(exc), "#undo")],
            status_code=_status_of(exc),
        )
    return _see_other(change_url(result.change_id, came_from))

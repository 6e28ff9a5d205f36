"""The local authority team's records of children no feed covers.

Creating and changing them is :mod:`contactpoint.services.team_records`: the
same feed schema, identity linker, encryption and audit as a feed's lines.
There is no list of children here, by design: the team reaches its own record
by typing the child's ContactPoint ID, which travels in a POST body, never in
a URL, and every opening of a record is audited with the reason given. After a
save the browser is redirected to a page that shows the outcome, carried in a
sealed one-time cookie (:mod:`contactpoint.web.pages.outcome_seal`).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contactpoint.domain.contactpoint_id import parse_contactpoint_id
from contactpoint.domain.reasons import DETAIL_MAX_LENGTH, ReasonCode, parse_reason
from contactpoint.domain.team_entry import FieldError, TeamChildEntry
from contactpoint.domain.views import organisation_in_area
from contactpoint.errors import ContactPointError
from contactpoint.runtime import Runtime
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.sign_in import Principal
from contactpoint.services.team_records import (
    REASON_DETAIL_FIELD,
    REASON_FIELD,
    Invalid,
    NotFound,
    Saved,
    TeamOutcome,
    create_team_record,
    open_team_record,
    update_team_record,
)
from contactpoint.web.dependencies import RuntimeDep
from contactpoint.web.pages import outcome_seal
from contactpoint.web.pages.dependencies import CheckedForm, PageRefused, TeamUser, form_text
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)

DONE_KIND: Final = "team-child"
FIELD_MAX: Final = 1000
"""Longer than any answer the form allows; the checks say what the real limits are."""
REASON_LABELS: Final[dict[ReasonCode, str]] = {
    ReasonCode.DATA_QUALITY: "Keeping the child's record complete and correct",
    ReasonCode.ASSESSMENT: "Assessment of the child's needs",
    ReasonCode.CHILD_PROTECTION_ENQUIRY: "Child protection enquiry (section 47)",
    ReasonCode.COORDINATING_SERVICES: "Coordinating services with other practitioners",
    ReasonCode.EDUCATION_WELFARE: "Education welfare: attendance, missing education, school move",
    ReasonCode.HEALTH_CARE: "Providing or arranging health care",
    ReasonCode.YOUTH_JUSTICE: "Youth justice work",
    ReasonCode.EMERGENCY_CARE: "Emergency care",
}
DATE_ANCHORS: Final = {"dob_day": "dob-day", "dob_month": "dob-month", "dob_year": "dob-year"}
GENDERS: Final = (
    ("female", "Female"),
    ("male", "Male"),
    ("other", "Other"),
    ("unknown", "Not known"),
)
SITUATIONS: Final = (
    ("unaccompanied_asylum_seeking", "Unaccompanied asylum-seeking child"),
    ("runaway", "Runaway, or missing from home or care"),
    ("no_fixed_abode", "No fixed abode"),
    ("traveller", "Traveller"),
    ("overseas_student", "Overseas student"),
)
WHEREABOUTS: Final = (
    ("current", "At the address below"),
    ("last_known", "Not known now: the address below is the last known one"),
    ("no_fixed_abode", "No fixed abode"),
    ("none_known", "Not known, and no address has ever been known"),
)
OUTCOME_TEXT: Final[dict[TeamOutcome, tuple[str, str]]] = {
    TeamOutcome.NEW_CHILD: (
        "Record created",
        "ContactPoint knew no child with these details, so the child now has a new record.",
    ),
    TeamOutcome.LINKED: (
        "Record created",
        "These details matched a child ContactPoint already knew, so your record was added "
        "to that child's record.",
    ),
    TeamOutcome.QUEUED_FOR_REVIEW: (
        "Record created and sent for review",
        "These details may be a child ContactPoint already knows. Your record is kept under "
        "the provisional ID below and waits in the review queue; the ID may change when the "
        "link is decided.",
    ),
    TeamOutcome.UPDATED: ("Record updated", "Your team's record of the child now says this."),
    TeamOutcome.UNCHANGED: (
        "No changes made",
        "What you saved is what your team's record already said.",
    ),
}
NOT_YOURS: Final = (
    "Your team has no record of its own for that ContactPoint ID. Check the ID: only records "
    "your team created here can be changed here, not what feeds send"
)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _tools(runtime: Runtime, caller: Principal) -> FeedTools:
    return FeedTools(
        sessions=runtime.sessions,
        vault=runtime.vault,
        indexer=runtime.indexer,
        digester=runtime.digester,
        linker=runtime.linker,
        clock=runtime.clock,
        audit_key=runtime.keyring.audit_key,
        actor=caller.actor(),
    )


def _no_area(caller: Principal) -> None:
    if not caller.area:
        raise PageRefused(
            403,
            "Your account has no area",
            "Records of children are kept by a local authority team for its area. Ask your "
            "ContactPoint operator to set your account's area.",
        )


def _anchor(field: str) -> str:
    return DATE_ANCHORS.get(field, field)


def _summary(errors: list[FieldError]) -> list[dict[str, str]]:
    return [{"text": e.message, "href": f"#{_anchor(e.field)}"} for e in errors]


def _error_for(errors: list[FieldError]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for error in errors:
        key = "dob" if error.field in DATE_ANCHORS else error.field
        found.setdefault(key, {"text": error.message})
    return found


def _items(choices: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"value": value, "text": text} for value, text in choices]


def _reasons() -> list[dict[str, str]]:
    return [{"value": code.value, "text": label} for code, label in REASON_LABELS.items()]


def _entry(form: CheckedForm) -> TeamChildEntry:
    answers = {name: form_text(form, name)[:FIELD_MAX] for name in TeamChildEntry.field_names()}
    for field, name in DATE_ANCHORS.items():
        answers[field] = form_text(form, name)[:FIELD_MAX]
    return TeamChildEntry.from_answers(answers)


def _record_page(
    request: Request,
    caller: Principal,
    *,
    mode: str,
    entry: TeamChildEntry,
    reason: dict[str, str],
    child_id: str | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = errors or []
    dob_fields = {e.field for e in found if e.field in DATE_ANCHORS}
    return render(
        request,
        "team_children/record.html",
        {
            "mode": mode,
            "action": "/team/children/new" if mode == "new" else "/team/children/update",
            "values": entry.answers(),
            "reason": reason,
            "child_id": child_id,
            "area": caller.area,
            "errors": _summary(found),
            "error_for": _error_for(found),
            "dob_error_parts": set(DATE_ANCHORS) if "dob_day" in dob_fields else dob_fields,
            "genders": _items(GENDERS),
            "situations": _items(SITUATIONS),
            "whereabouts": _items(WHEREABOUTS),
            "reasons": _reasons(),
            "detail_max": DETAIL_MAX_LENGTH,
        },
        status_code=status_code,
    )


def _start_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = errors or []
    return render(
        request,
        "team_children/start.html",
        {
            "values": values or {},
            "errors": _summary(found),
            "error_for": _error_for(found),
            "reasons": _reasons(),
            "detail_max": DETAIL_MAX_LENGTH,
        },
        status_code=status_code,
    )


def _saved(request: Request, runtime: Runtime, saved: Saved) -> Response:
    response = _see_other("/team/children/done")
    outcome_seal.seal(
        request,
        response,
        DONE_KIND,
        {
            "child_id": saved.child_id,
            "outcome": saved.outcome.value,
            "shielded": "yes" if saved.shielded else "no",
        },
        runtime.clock.now(),
    )
    return response


@router.get("/team/children")
def start(request: Request, caller: TeamUser) -> HTMLResponse:
    return _start_page(request)


@router.get("/team/children/new")
def new_form(request: Request, caller: TeamUser) -> HTMLResponse:
    _no_area(caller)
    team = caller.organisation if organisation_in_area(caller.organisation, caller.area) else ""
    return _record_page(
        request,
        caller,
        mode="new",
        entry=TeamChildEntry(team=team),
        reason={"code": ReasonCode.DATA_QUALITY.value, "detail": ""},
    )


@router.post("/team/children/new")
def create(request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm) -> Response:
    _no_area(caller)
    entry = _entry(form)
    reason = {
        "code": form_text(form, REASON_FIELD)[:64],
        "detail": form_text(form, REASON_DETAIL_FIELD)[:FIELD_MAX],
    }
    result = create_team_record(
        _tools(runtime, caller),
        principal=caller,
        entry=entry,
        reason_code=reason["code"],
        reason_detail=reason["detail"],
    )
    if isinstance(result, Invalid):
        return _record_page(
            request,
            caller,
            mode="new",
            entry=entry,
            reason=reason,
            errors=result.errors,
            status_code=400,
        )
    return _saved(request, runtime, result)


@router.post("/team/children/edit")
def edit(request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm) -> Response:
    _no_area(caller)
    values = {
        "child_id": form_text(form, "child_id")[:64],
        "reason_code": form_text(form, REASON_FIELD)[:64],
        "reason_detail": form_text(form, REASON_DETAIL_FIELD)[:FIELD_MAX],
    }
    errors: list[FieldError] = []
    child_id = parse_contactpoint_id(values["child_id"]) if values["child_id"] else None
    if not values["child_id"]:
        errors.append(FieldError("child_id", "Enter the child's ContactPoint ID"))
    elif child_id is None:
        errors.append(
            FieldError("child_id", "Enter a ContactPoint ID in the right form, like 7K2M-QX9D-4TB4")
        )
    reason = None
    if values["reason_code"] not in {c.value for c in ReasonCode}:
        errors.append(FieldError(REASON_FIELD, "Select why you are opening the record"))
    else:
        try:
            reason = parse_reason(values["reason_code"], values["reason_detail"])
        except ContactPointError:
            errors.append(
                FieldError(
                    REASON_DETAIL_FIELD,
                    f"Enter the reason's details in {DETAIL_MAX_LENGTH} characters or fewer, "
                    "on one line",
                )
            )
    if errors or reason is None or child_id is None:
        return _start_page(request, values=values, errors=errors, status_code=400)
    with runtime.sessions.begin() as session:
        opened = open_team_record(
            session,
            vault=runtime.vault,
            clock=runtime.clock,
            audit_key=runtime.keyring.audit_key,
            principal=caller,
            child_id=child_id,
            reason=reason,
        )
    if opened is None:
        return _start_page(
            request,
            values=values,
            errors=[FieldError("child_id", NOT_YOURS)],
            status_code=404,
        )
    return _record_page(
        request,
        caller,
        mode="update",
        entry=opened.entry,
        reason={"code": reason.code.value, "detail": reason.detail},
        child_id=opened.child_id,
    )


@router.post("/team/children/update")
def update(request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm) -> Response:
    _no_area(caller)
    child_id = parse_contactpoint_id(form_text(form, "child_id")[:64])
    if child_id is None:
        return _start_page(
            request,
            errors=[FieldError("child_id", NOT_YOURS)],
            status_code=404,
        )
    entry = _entry(form)
    reason = {
        "code": form_text(form, REASON_FIELD)[:64],
        "detail": form_text(form, REASON_DETAIL_FIELD)[:FIELD_MAX],
    }
    result = update_team_record(
        _tools(runtime, caller),
        principal=caller,
        child_id=child_id,
        entry=entry,
        reason_code=reason["code"],
        reason_detail=reason["detail"],
    )
    if isinstance(result, Invalid):
        return _record_page(
            request,
            caller,
            mode="update",
            entry=entry,
            reason=reason,
            child_id=child_id,
            errors=result.errors,
            status_code=400,
        )
    if isinstance(result, NotFound):
        return _start_page(
            request,
            values={"child_id": child_id},
            errors=[FieldError("child_id", NOT_YOURS)],
            status_code=404,
        )
    return _saved(request, runtime, result)


@router.get("/team/children/done")
def done(request: Request, runtime: RuntimeDep, caller: TeamUser) -> HTMLResponse:
    found = outcome_seal.opened(request, DONE_KIND, runtime.clock.now())
    context: dict[str, Any] = {"found": False}
    if found is not None:
        try:
            outcome = TeamOutcome(found.get("outcome", ""))
        except ValueError:
            outcome = None
        if outcome in OUTCOME_TEXT and outcome is not None:
            title, text = OUTCOME_TEXT[outcome]
            context = {
                "found": True,
                "heading": title,
                "text": text,
                "child_id": found.get("child_id", ""),
                "queued": outcome is TeamOutcome.QUEUED_FOR_REVIEW,
                "shielded": found.get("shielded") == "yes",
            }
    response = render(request, "team_children/done.html", context)
    outcome_seal.clear(request, response)
    return response

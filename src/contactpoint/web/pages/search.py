"""Finding a child and reading their record: practitioners, LA teams and emergency staff.

The form posts to the same address and the answer is the page the POST
returns, so what the searcher typed never enters a URL, a browser's history
or a proxy's log. The search itself is the JSON API's
(:func:`contactpoint.services.search.search`): the same rules, the same one
answer for "none" and "several", the same audit entries and limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from contactpoint.domain.reasons import DETAIL_MAX_LENGTH, ReasonCode
from contactpoint.domain.search_policy import RawQuery, Scope
from contactpoint.domain.vocabulary import Role
from contactpoint.services.search import Result, SearchAnswer, search
from contactpoint.services.sign_in import Principal
from contactpoint.web.api.search import search_tools
from contactpoint.web.dependencies import RuntimeDep, address_of
from contactpoint.web.pages.dependencies import (
    CheckedForm,
    EmergencyUser,
    PageRefused,
    Searcher,
    form_text,
)
from contactpoint.web.pages.record_display import record_sections
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)

REASON_LABELS: Final[dict[ReasonCode, str]] = {
    ReasonCode.CHILD_PROTECTION_ENQUIRY: "Child protection enquiry (section 47)",
    ReasonCode.ASSESSMENT: "Assessment of the child's needs",
    ReasonCode.COORDINATING_SERVICES: "Coordinating services with other practitioners",
    ReasonCode.EMERGENCY_CARE: "Emergency care",
    ReasonCode.EDUCATION_WELFARE: "Education welfare: attendance, missing education, school move",
    ReasonCode.HEALTH_CARE: "Providing or arranging health care",
    ReasonCode.YOUTH_JUSTICE: "Youth justice work",
    ReasonCode.DATA_QUALITY: "Checking or correcting the record (local authority staff)",
}
GENDERS: Final = (("female", "Female"), ("male", "Male"), ("other", "Other"))
TEXT_FIELDS: Final = (
    "given_name",
    "family_name",
    "postcode",
    "nhs_number",
    "upn",
    "child_id",
    "reason_detail",
)
FORM_FIELDS: Final = frozenset(
    {"csrf_token", "gender", "reason_code", *TEXT_FIELDS}
    | {f"date_of_birth-{part}" for part in ("day", "month", "year")}
)
"""Anything else posted is an unknown term, refused and audited as the API refuses one."""
FIELD_MAX: Final = 100
"""Longer than any real name or identifier; the search policy refuses what is too long."""


@dataclass(frozen=True, slots=True)
class SearchForm:
    """What the form held, kept to show it again beside the answer."""

    values: dict[str, str]

    @classmethod
    def read(cls, form: FormData) -> SearchForm:
        values = {name: form_text(form, name)[: FIELD_MAX * 3] for name in TEXT_FIELDS}
        for part in ("day", "month", "year"):
            values[f"dob_{part}"] = form_text(form, f"date_of_birth-{part}")[:8]
        values["gender"] = form_text(form, "gender")[:16]
        values["reason_code"] = form_text(form, "reason_code")[:64]
        return cls(values)

    def date_of_birth(self) -> str | None:
        """The date the search policy reads (YYYY-MM-DD); what was given of it otherwise,
        so the policy's own advice ("a birth year is not enough") reaches the user."""
        day, month, year = (self.values[f"dob_{p}"] for p in ("day", "month", "year"))
        if not (day or month or year):
            return None
        if day.isdigit() and month.isdigit() and year.isdigit():
            return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
        if year.isdigit() and not day:
            return f"{int(year):04d}-{int(month):02d}" if month.isdigit() else year
        return "-".join(p for p in (year, month, day) if p) or None

    def raw(self) -> RawQuery:
        def given(name: str) -> str | None:
            return self.values[name] or None

        return RawQuery(
            given_name=given("given_name"),
            family_name=given("family_name"),
            date_of_birth=self.date_of_birth(),
            gender=given("gender"),
            postcode=given("postcode"),
            nhs_number=given("nhs_number"),
            upn=given("upn"),
            child_id=given("child_id"),
        )


def _form_context(scope: Scope, form: SearchForm | None) -> dict[str, Any]:
    codes = [ReasonCode.EMERGENCY_CARE] if scope is Scope.EMERGENCY else list(ReasonCode)
    return {
        "scope": scope.value,
        "action": "/emergency/search" if scope is Scope.EMERGENCY else "/search",
        "values": form.values if form is not None else {},
        "reasons": [{"value": c.value, "text": REASON_LABELS[c]} for c in codes],
        "genders": [{"value": v, "text": t} for v, t in GENDERS],
        "detail_max": DETAIL_MAX_LENGTH,
    }


def _search_page(
    request: Request,
    scope: Scope,
    form: SearchForm | None = None,
    *,
    errors: list[dict[str, str]] | None = None,
    no_match: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "search/form.html",
        {**_form_context(scope, form), "errors": errors or [], "no_match": no_match},
        status_code=status_code,
    )


def _answer_page(
    request: Request, scope: Scope, form: SearchForm, answer: SearchAnswer, caller: Principal
) -> HTMLResponse:
    if answer.result is Result.MATCH and answer.view is not None:
        return render(
            request,
            "search/record.html",
            {
                "view": answer.view,
                "sections": record_sections(answer.view),
                "may_shield": caller.role is Role.LA_ADMIN,
                "reason_code": form.values["reason_code"],
            },
        )
    if answer.result is Result.NO_UNIQUE_MATCH:
        return _search_page(request, scope, form, no_match=answer.advice)
    if answer.result is Result.NO_REASON:
        return _search_page(
            request,
            scope,
            form,
            errors=[{"text": "Choose why you are searching", "href": "#reason_code"}],
            status_code=422,
        )
    if answer.result is Result.INSUFFICIENT_DETAIL:
        return _search_page(
            request,
            scope,
            form,
            errors=[{"text": answer.advice or "Add more detail", "href": "#given_name"}],
            status_code=422,
        )
    if answer.result is Result.RATE_LIMITED:
        raise PageRefused(
            429,
            "You have searched too many times",
            answer.advice or "Wait a while and try again.",
        )
    raise PageRefused(403, "You cannot search here", answer.advice or "")


def _run(
    request: Request, runtime: RuntimeDep, caller: Principal, scope: Scope, posted: FormData
) -> HTMLResponse:
    form = SearchForm.read(posted)
    unknown = sorted(set(posted.keys()) - FORM_FIELDS)
    with runtime.sessions.begin() as session:
        answer = search(
            session,
            search_tools(runtime),
            principal=caller,
            scope=scope,
            raw=form.raw(),
            reason_code=form.values["reason_code"] or None,
            reason_detail=form.values["reason_detail"] or None,
            unknown_terms=unknown,
            client=address_of(request),
        )
    return _answer_page(request, scope, form, answer, caller)


@router.get("/search")
def search_page(request: Request, caller: Searcher) -> HTMLResponse:
    return _search_page(request, Scope.STANDARD)


@router.post("/search")
def search_post(
    request: Request, runtime: RuntimeDep, caller: Searcher, form: CheckedForm
) -> HTMLResponse:
    return _run(request, runtime, caller, Scope.STANDARD, form)


@router.get("/emergency/search")
def emergency_page(request: Request, caller: EmergencyUser) -> HTMLResponse:
    return _search_page(request, Scope.EMERGENCY)


@router.post("/emergency/search")
def emergency_post(
    request: Request, runtime: RuntimeDep, caller: EmergencyUser, form: CheckedForm
) -> HTMLResponse:
    return _run(request, runtime, caller, Scope.EMERGENCY, form)

"""The auditor's pages: search the audit log and verify its chain.

The search form posts, and so does "Show older", so a child's ContactPoint ID
never enters a URL; the answer is the page the POST returns. The search and
the check are :mod:`contactpoint.services.audit_search`'s, which records each
in the log it reads. Entries show a child's ID as text, never as a link:
auditors never see a child's record.

Times on these pages are UK time (Europe/London, GMT or BST, named on every
time shown); the log keeps UTC.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from contactpoint.audit.chain import EntryContent
from contactpoint.domain.contactpoint_id import parse_contactpoint_id
from contactpoint.services.audit_search import (
    ACTIONS,
    ACTOR_MAX,
    OUTCOME_MAX,
    PAGE_SIZE,
    AuditPage,
    AuditQuery,
    CheckedChain,
    CriteriaProblem,
    check_audit_chain,
    search_audit,
)
from contactpoint.web.dependencies import RuntimeDep, address_of
from contactpoint.web.pages.dependencies import AuditorUser, CheckedForm, form_text
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)


def _uk_time() -> tzinfo:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # no time zone database on this system: say UTC
        return UTC


ZONE: Final = _uk_time()
ZONE_NAME: Final = "UK time" if ZONE is not UTC else "UTC"
FIELD_MAX: Final = 100
DETAIL_VALUE_MAX: Final = 80
DETAIL_KEYS_SHOWN: Final = 12
_TIME = re.compile(r"(\d{1,2})[:.]?(\d{2})")

PROBLEM_ERRORS: Final[dict[CriteriaProblem, tuple[str, str]]] = {
    CriteriaProblem.NOTHING_TO_SEARCH_BY: (
        "Enter a username, a child's ContactPoint ID, or a date to search from or to",
        "#user",
    ),
    CriteriaProblem.ENDS_BEFORE_START: (
        "The to date and time must be after the from date and time",
        "#to-day",
    ),
    CriteriaProblem.UNKNOWN_ACTION: ("Select an action from the list", "#action"),
    CriteriaProblem.USER_TOO_LONG: (f"Usernames are at most {ACTOR_MAX} characters", "#user"),
    CriteriaProblem.OUTCOME_TOO_LONG: (
        f"Outcomes are at most {OUTCOME_MAX} characters",
        "#outcome",
    ),
}
BAD_CHILD_ID: Final = "Enter the ContactPoint ID as it is written, like 7K2M-QX9D-4TB4"
PARTS: Final = ("day", "month", "year")
CRITERIA_FIELDS: Final = (
    "user",
    "child_id",
    *(f"{end}-{part}" for end in ("from", "to") for part in (*PARTS, "time")),
    "action",
    "outcome",
)


@dataclass
class SearchForm:
    """The search form as typed, what is wrong with it, and the query it makes."""

    values: dict[str, str]
    before_seq: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    field_errors: dict[str, str] = field(default_factory=dict)
    parts_in_error: set[str] = field(default_factory=set)

    @classmethod
    def blank(cls) -> SearchForm:
        return cls({name: "" for name in CRITERIA_FIELDS})

    @classmethod
    def read(cls, form: FormData) -> SearchForm:
        values = {name: form_text(form, name)[:FIELD_MAX] for name in CRITERIA_FIELDS}
        before = form_text(form, "before_seq")
        return cls(
            values, before_seq=int(before) if before.isdigit() and len(before) < 19 else None
        )

    def _error(self, field_id: str, text: str) -> None:
        self.errors.append({"text": text, "href": f"#{field_id}"})
        self.field_errors.setdefault(field_id, text)

    def _moment(self, end: str) -> datetime | None:
        """The ``from`` (inclusive) or ``to`` (exclusive: the end of the minute or day
        given) as an aware UTC datetime; None when left blank or wrong (with an error)."""
        name = "from" if end == "from" else "to"
        given = {part: self.values[f"{end}-{part}"] for part in PARTS}
        typed_time = self.values[f"{end}-time"]
        if not any(given.values()):
            if typed_time:
                self._error(f"{end}-day", f"Enter a {name} date as well as a time")
                self.parts_in_error.update(f"{end}-{part}" for part in PARTS)
            return None
        missing = [part for part in PARTS if not given[part]]
        if missing:
            self._error(
                f"{end}-{missing[0]}",
                f"The {name} date must include a {' and '.join(missing)}",
            )
            self.parts_in_error.update(f"{end}-{part}" for part in missing)
            return None
        if not all(value.isdigit() for value in given.values()):
            self._not_a_date(end, name)
            return None
        if len(given["year"]) != 4:
            self._error(f"{end}-year", f"The year of the {name} date must include 4 numbers")
            self.parts_in_error.add(f"{end}-year")
            return None
        try:
            day = date(int(given["year"]), int(given["month"]), int(given["day"]))
        except ValueError:
            self._not_a_date(end, name)
            return None
        at = time(0, 0)
        if typed_time:
            matched = _TIME.fullmatch(typed_time)
            hour, minute = (int(matched[1]), int(matched[2])) if matched else (99, 99)
            if hour > 23 or minute > 59:
                self._error(
                    f"{end}-time",
                    f"Enter the {name} time on the 24-hour clock, like 14:30, or leave it blank",
                )
                return None
            at = time(hour, minute)
        local = datetime.combine(day, at)
        if end == "to":
            local += timedelta(minutes=1) if typed_time else timedelta(days=1)
        return local.replace(tzinfo=ZONE).astimezone(UTC)

    def _not_a_date(self, end: str, name: str) -> None:
        self._error(f"{end}-day", f"The {name} date must be a real date")
        self.parts_in_error.update(f"{end}-{part}" for part in PARTS)

    def query(self) -> AuditQuery | None:
        """The query, or None with :attr:`errors` saying what to put right."""
        user = self.values["user"] or None
        child_id = None
        if self.values["child_id"]:
            child_id = parse_contactpoint_id(self.values["child_id"])
            if child_id is None:
                self._error("child_id", BAD_CHILD_ID)
        start = self._moment("from")
        end = self._moment("to")
        if self.errors:
            return None
        query = AuditQuery(
            user=user,
            child_id=child_id,
            start=start,
            end=end,
            action=self.values["action"] or None,
            outcome=self.values["outcome"] or None,
        )
        for problem in query.problems():
            text, href = PROBLEM_ERRORS[problem]
            self._error(href.removeprefix("#"), text)
        return None if self.errors else query


def when(at: datetime) -> str:
    local = at.astimezone(ZONE)
    return f"{local.day} {local:%b %Y}, {local:%H:%M:%S} {local.tzname()}"


def _plain(value: object) -> str:
    """A detail's value as words wrap: lists by commas, objects as key: value."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain(item)}" for key, item in value.items())
    return json.dumps(value)


@dataclass(frozen=True, slots=True)
class DetailLine:
    key: str
    short: str
    full: str


def detail_lines(details: str) -> tuple[list[DetailLine], bool]:
    """The entry's details, one line a key with long values cut short, and whether
    anything was cut (then the page offers the whole)."""
    try:
        parsed = json.loads(details)
    except ValueError:
        parsed = details
    items = parsed.items() if isinstance(parsed, dict) else [("", parsed)]
    lines = []
    for key, value in items:
        full = _plain(value)
        short = full if len(full) <= DETAIL_VALUE_MAX else full[: DETAIL_VALUE_MAX - 1] + "…"
        lines.append(DetailLine(str(key), short, full))
    cut = len(lines) > DETAIL_KEYS_SHOWN or any(line.short != line.full for line in lines)
    return lines, cut


def _row(entry: EntryContent) -> dict[str, Any]:
    lines, cut = detail_lines(entry.details)
    return {
        "seq": entry.seq,
        "when": when(entry.at),
        "actor": entry.actor,
        "role": entry.role or "",
        "organisation": entry.organisation or "",
        "action": entry.action,
        "outcome": entry.outcome,
        "child_id": entry.child_id or "",
        "reason_code": entry.reason_code or "",
        "details": lines[:DETAIL_KEYS_SHOWN],
        "hidden_keys": max(0, len(lines) - DETAIL_KEYS_SHOWN),
        "all_details": lines if cut else None,
    }


def _search_page(
    request: Request,
    search_form: SearchForm,
    *,
    found: AuditPage | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "audit_log/search.html",
        {
            "errors": search_form.errors,
            "values": search_form.values,
            "field_errors": search_form.field_errors,
            "parts_in_error": search_form.parts_in_error,
            "action_items": [
                {"value": "", "text": "Any action"},
                *(
                    {
                        "value": action,
                        "text": action,
                        "selected": action == search_form.values["action"],
                    }
                    for action in ACTIONS
                ),
            ],
            "zone_name": ZONE_NAME,
            "found": found,
            "rows": [_row(entry) for entry in found.entries] if found is not None else [],
            "continued": search_form.before_seq is not None,
            "page_size": PAGE_SIZE,
        },
        status_code=status_code,
    )


@router.get("/audit")
def audit_search_page(request: Request, caller: AuditorUser) -> HTMLResponse:
    return _search_page(request, SearchForm.blank())


@router.get("/audit/search")
def audit_search_get(caller: AuditorUser) -> RedirectResponse:
    """A refreshed or bookmarked results page: the search is a form, start it again."""
    return RedirectResponse("/audit", status_code=303)


@router.post("/audit/search")
def audit_search_results(
    request: Request, runtime: RuntimeDep, caller: AuditorUser, form: CheckedForm
) -> HTMLResponse:
    search_form = SearchForm.read(form)
    query = search_form.query()
    if query is None:
        return _search_page(request, search_form, status_code=400)
    with runtime.sessions.begin() as session:
        found = search_audit(
            session,
            audit_key=runtime.keyring.audit_key,
            clock=runtime.clock,
            principal=caller,
            query=query,
            before_seq=search_form.before_seq,
            client=address_of(request),
        )
    return _search_page(request, search_form, found=found)


def _verify_page(request: Request, checked: CheckedChain | None) -> HTMLResponse:
    return render(
        request,
        "audit_log/verify.html",
        {
            "checked": checked,
            "checked_at": when(checked.checked_at) if checked is not None else None,
        },
    )


@router.get("/audit/verify")
def verify_page(request: Request, caller: AuditorUser) -> HTMLResponse:
    return _verify_page(request, None)


@router.post("/audit/verify")
def verify(
    request: Request, runtime: RuntimeDep, caller: AuditorUser, form: CheckedForm
) -> HTMLResponse:
    checked = check_audit_chain(
        runtime.sessions,
        audit_key=runtime.keyring.audit_key,
        clock=runtime.clock,
        principal=caller,
        client=address_of(request),
    )
    return _verify_page(request, checked)

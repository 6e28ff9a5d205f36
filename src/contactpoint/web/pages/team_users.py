"""The local authority team's user management: add, disable, reset the second factor.

Users are staff, not children, so the area's accounts are listed. Who may do
what is :mod:`contactpoint.auth.scope`; the changes are the services the command
line and the JSON API use (:mod:`contactpoint.services.accounts`,
:func:`contactpoint.services.sign_in.disable_user`), each audited in its own
transaction. A username travels only in POST bodies. Disabling and resetting
ask for confirmation first. A new password or TOTP secret is shown once, on the
page the redirect after the POST lands on, carried there in a sealed one-time
cookie (:mod:`contactpoint.web.pages.outcome_seal`) and kept nowhere else.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contactpoint.auth.scope import ROLES_AN_ADMINISTRATOR_ADDS
from contactpoint.domain.vocabulary import Role
from contactpoint.services.accounts import (
    AccountProblem,
    AddedAccount,
    ResetOutcome,
    accounts_of_area,
    add_area_account,
    reset_totp,
)
from contactpoint.services.sign_in import DisableOutcome, Principal, disable_user
from contactpoint.web.dependencies import RuntimeDep, address_of
from contactpoint.web.pages import outcome_seal
from contactpoint.web.pages.dependencies import CheckedForm, TeamUser, form_text
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)

ADDED_KIND: Final = "team-user-added"
RESET_KIND: Final = "team-user-code-reset"
NOTICE_KIND: Final = "team-users-notice"
FIELD_MAX: Final = 256
ROLE_LABELS: Final[dict[Role, str]] = {
    Role.PRACTITIONER: "Practitioner",
    Role.EMERGENCY: "Emergency (A&E, ambulance)",
    Role.LA_ADMIN: "Local authority administrator",
    Role.AUDITOR: "Auditor",
    Role.FEED: "Feed",
}
ROLE_HINTS: Final[dict[Role, str]] = {
    Role.PRACTITIONER: "Searches for children and sees their records, with a reason each time",
    Role.EMERGENCY: "A fast minimal view in an emergency; every use is reviewed",
    Role.LA_ADMIN: "Works the review queue, keeps records of children no feed covers, "
    "manages your area's users",
}
NO_SUCH_USER: Final = "There is no user with that username: check the spelling"
OTHER_AREA: Final = "That user belongs to another area: ask that area's administrator"
OTHER_AREA_RESET: Final = (
    "You can reset the code only for users of your own area: ask the user's own "
    "administrator, or your ContactPoint operator"
)
OWN_ACCOUNT: Final = (
    "You cannot reset your own code here, because it would sign you out before you saw "
    "the new one: ask another administrator for your area"
)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _role_items(chosen: str) -> list[dict[str, Any]]:
    return [
        {
            "value": role.value,
            "text": ROLE_LABELS[role],
            "hint": {"text": ROLE_HINTS[role]},
            "checked": role.value == chosen,
        }
        for role in Role
        if role in ROLES_AN_ADMINISTRATOR_ADDS
    ]


def _list_page(
    request: Request,
    runtime: RuntimeDep,
    caller: Principal,
    *,
    values: dict[str, str] | None = None,
    problems: list[AccountProblem] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = problems or []
    with runtime.sessions() as session:
        accounts = accounts_of_area(session, caller)
    given = values or {"organisation": caller.organisation}
    return render(
        request,
        "team_users/list.html",
        {
            "values": given,
            "errors": [{"text": p.message, "href": f"#{p.field}"} for p in found],
            "error_for": {p.field: {"text": p.message} for p in found},
            "roles": _role_items(given.get("role", "")),
            "accounts": [
                {
                    "username": a.username,
                    "role": ROLE_LABELS.get(Role(a.role), a.role),
                    "organisation": a.organisation,
                    "disabled": a.disabled,
                    "self": a.username == caller.username,
                }
                for a in accounts
            ],
            "area": caller.area,
            "notice": notice,
        },
        status_code=status_code,
    )


def _refused(
    request: Request, runtime: RuntimeDep, caller: Principal, username: str, text: str, status: int
) -> HTMLResponse:
    return _list_page(
        request,
        runtime,
        caller,
        values={"account_username": username, "organisation": caller.organisation},
        problems=[AccountProblem("account_username", text)],
        status_code=status,
    )


def _confirm_page(request: Request, *, action: str, username: str) -> HTMLResponse:
    return render(request, "team_users/confirm.html", {"action": action, "username": username})


@router.get("/team/users")
def users(request: Request, runtime: RuntimeDep, caller: TeamUser) -> HTMLResponse:
    sealed = outcome_seal.opened(request, NOTICE_KIND, runtime.clock.now())
    response = _list_page(request, runtime, caller, notice=(sealed or {}).get("text"))
    if sealed is not None:
        outcome_seal.clear(request, response)
    return response


@router.post("/team/users/add")
def add(request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm) -> Response:
    values = {
        name: form_text(form, name)[:FIELD_MAX] for name in ("username", "role", "organisation")
    }
    runtime.vault.prepare()
    with runtime.sessions.begin() as session:
        added = add_area_account(
            session,
            vault=runtime.vault,
            clock=runtime.clock,
            audit_key=runtime.keyring.audit_key,
            principal=caller,
            username=values["username"],
            role=values["role"],
            organisation=values["organisation"],
        )
    if not isinstance(added, AddedAccount):
        return _list_page(request, runtime, caller, values=values, problems=added, status_code=400)
    response = _see_other("/team/users/added")
    outcome_seal.seal(
        request,
        response,
        ADDED_KIND,
        {
            "username": added.username,
            "role": ROLE_LABELS[added.role],
            "area": added.area,
            "password": added.password,
            "secret": added.totp_secret,
            "uri": added.totp_uri,
        },
        runtime.clock.now(),
    )
    return response


def _shown_once(request: Request, runtime: RuntimeDep, kind: str, template: str) -> HTMLResponse:
    sealed = outcome_seal.opened(request, kind, runtime.clock.now())
    response = render(request, template, {"found": sealed is not None, **(sealed or {})})
    outcome_seal.clear(request, response)
    return response


@router.get("/team/users/added")
def added(request: Request, runtime: RuntimeDep, caller: TeamUser) -> HTMLResponse:
    return _shown_once(request, runtime, ADDED_KIND, "team_users/added.html")


@router.post("/team/users/disable")
def disable(request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm) -> Response:
    username = form_text(form, "username")[:FIELD_MAX]
    if not username:
        return _refused(request, runtime, caller, username, "Enter a username", 400)
    if form_text(form, "confirmed") != "yes":
        return _confirm_page(request, action="disable", username=username)
    with runtime.sessions.begin() as session:
        result = disable_user(
            session,
            keyring=runtime.keyring,
            clock=runtime.clock,
            actor=caller.actor(),
            username=username,
            within_area=caller.area,
            unrestricted=False,
            client=address_of(request),
        )
    if result.outcome is DisableOutcome.UNKNOWN_USER:
        return _refused(request, runtime, caller, username, NO_SUCH_USER, 404)
    if result.outcome is DisableOutcome.OUTSIDE_AREA:
        return _refused(request, runtime, caller, username, OTHER_AREA, 403)
    response = _see_other("/team/users")
    outcome_seal.seal(
        request,
        response,
        NOTICE_KIND,
        {
            "text": f"{username.strip().lower()} can no longer sign in, and any session "
            "they had has ended."
        },
        runtime.clock.now(),
    )
    return response


@router.post("/team/users/reset-totp")
def reset(request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm) -> Response:
    username = form_text(form, "username")[:FIELD_MAX]
    if not username:
        return _refused(request, runtime, caller, username, "Enter a username", 400)
    if form_text(form, "confirmed") != "yes":
        return _confirm_page(request, action="reset-totp", username=username)
    runtime.vault.prepare()
    with runtime.sessions.begin() as session:
        result = reset_totp(
            session,
            vault=runtime.vault,
            keyring=runtime.keyring,
            clock=runtime.clock,
            actor=caller.actor(),
            username=username,
            within_area=caller.area,
            client=address_of(request),
        )
    refusals = {
        ResetOutcome.UNKNOWN_USER: (NO_SUCH_USER, 404),
        ResetOutcome.OUTSIDE_AREA: (OTHER_AREA_RESET, 403),
        ResetOutcome.OWN_ACCOUNT: (OWN_ACCOUNT, 403),
    }
    if result.outcome in refusals:
        text, status = refusals[result.outcome]
        return _refused(request, runtime, caller, username, text, status)
    response = _see_other("/team/users/code-reset")
    outcome_seal.seal(
        request,
        response,
        RESET_KIND,
        {
            "username": result.username or "",
            "secret": result.totp_secret or "",
            "uri": result.totp_uri or "",
        },
        runtime.clock.now(),
    )
    return response


@router.get("/team/users/code-reset")
def code_reset(request: Request, runtime: RuntimeDep, caller: TeamUser) -> HTMLResponse:
    return _shown_once(request, runtime, RESET_KIND, "team_users/code_reset.html")

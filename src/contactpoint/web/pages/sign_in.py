"""Signing in (password, then the TOTP code), signing out, and where each role starts.

The two pages are one sign-in: nothing is checked until the code arrives, and
then all three factors go through the API's own
:func:`~contactpoint.services.sign_in.sign_in`, with its lockout, its
constant-time path for unknown users and its audit entry. A failure therefore
says nothing about which factor was wrong, and the password page gives no
oracle for guessing passwords without the second factor.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contactpoint.domain.vocabulary import Role
from contactpoint.services.sign_in import Credentials, Refusal, authorise, revoke, sign_in
from contactpoint.web.dependencies import RuntimeDep, address_of
from contactpoint.web.pages import cookies
from contactpoint.web.pages.dependencies import AnyUser, CheckedForm, form_text
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)

HOME: Final[dict[Role, str]] = {
    Role.PRACTITIONER: "/search",
    Role.LA_ADMIN: "/search",
    Role.EMERGENCY: "/emergency/search",
    Role.AUDITOR: "/audit",
    Role.FEED: "/feeds",
}
SIGN_IN_FAILED: Final = (
    "Those details did not work. Check your username, password and the current code from "
    "your authenticator app, and try again. After 6 failed attempts an account is locked "
    "for 30 minutes; your ContactPoint administrator can help if you are locked out."
)
STARTED_AGAIN: Final = (
    "Your sign-in was not finished within 5 minutes, so it has been cleared. Start again."
)
MAX_FIELD: Final = 256


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _has_live_session(request: Request, runtime: RuntimeDep) -> bool:
    token = cookies.session_token(request)
    if token is None:
        return False
    found = authorise(
        runtime.sessions,
        keyring=runtime.keyring,
        clock=runtime.clock,
        token=token,
        roles=frozenset(Role),
        client=address_of(request),
        route="GET /sign-in",
    )
    return found is not Refusal.UNAUTHENTICATED and found is not Refusal.FORBIDDEN


def _sign_in_page(
    request: Request,
    *,
    errors: list[dict[str, str]] | None = None,
    notice: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "sign_in.html",
        {"errors": errors or [], "notice": notice, "username": username},
        status_code=status_code,
    )


@router.get("/sign-in")
def sign_in_page(request: Request, runtime: RuntimeDep, timeout: bool = False) -> Response:
    if _has_live_session(request, runtime):
        return _see_other("/")
    notice = (
        f"Your session has ended: sessions last {runtime.settings.api_token_minutes} minutes, "
        "and end when you sign out or an administrator ends them. Sign in again to carry on."
        if timeout
        else None
    )
    return _sign_in_page(request, notice=notice)


@router.post("/sign-in")
def sign_in_password(request: Request, runtime: RuntimeDep, form: CheckedForm) -> Response:
    username = form_text(form, "username")[:MAX_FIELD]
    raw_password = form.get("password")
    password = raw_password if isinstance(raw_password, str) else ""
    errors = []
    if not username:
        errors.append({"text": "Enter your username", "href": "#username"})
    if not password:
        errors.append({"text": "Enter your password", "href": "#password"})
    if len(password) > MAX_FIELD:
        errors.append({"text": "Passwords are at most 256 characters", "href": "#password"})
    if errors:
        return _sign_in_page(request, errors=errors, username=username, status_code=400)
    response = _see_other("/sign-in/code")
    cookies.seal_pending(
        request,
        response,
        cookies.PendingSignIn(username=username, password=password),
        runtime.clock.now(),
    )
    return response


@router.get("/sign-in/code")
def code_page(request: Request, runtime: RuntimeDep) -> Response:
    if cookies.open_pending(request, runtime.clock.now()) is None:
        return _sign_in_page(request, notice=STARTED_AGAIN)
    return render(request, "sign_in_code.html", {"errors": []})


@router.post("/sign-in/code")
def sign_in_code(request: Request, runtime: RuntimeDep, form: CheckedForm) -> Response:
    pending = cookies.open_pending(request, runtime.clock.now())
    if pending is None:
        return _sign_in_page(request, notice=STARTED_AGAIN, status_code=400)
    code = form_text(form, "code").replace(" ", "")[:MAX_FIELD]
    if not code:
        return render(
            request,
            "sign_in_code.html",
            {"errors": [{"text": "Enter the 6-digit code from your app", "href": "#code"}]},
            status_code=400,
        )
    issued = sign_in(
        runtime.sessions,
        vault=runtime.vault,
        keyring=runtime.keyring,
        clock=runtime.clock,
        token_lifetime=runtime.settings.api_token_lifetime,
        credentials=Credentials(username=pending.username, password=pending.password, totp=code),
        client=address_of(request),
    )
    if issued is None:
        refused = _sign_in_page(
            request,
            errors=[{"text": SIGN_IN_FAILED, "href": "#username"}],
            status_code=400,
        )
        cookies.end_session(request, refused)
        return refused
    response = _see_other("/")
    cookies.start_session(request, response, issued.token, runtime.settings.api_token_lifetime)
    return response


@router.post("/sign-out")
def sign_out(request: Request, runtime: RuntimeDep, caller: AnyUser, form: CheckedForm) -> Response:
    with runtime.sessions.begin() as session:
        revoke(
            session,
            audit_key=runtime.keyring.audit_key,
            clock=runtime.clock,
            principal=caller,
            client=address_of(request),
        )
    response = _see_other("/signed-out")
    cookies.end_session(request, response)
    return response


@router.get("/signed-out")
def signed_out(request: Request) -> HTMLResponse:
    return render(request, "signed_out.html")


@router.get("/")
def home(caller: AnyUser) -> RedirectResponse:
    return _see_other(HOME[caller.role])


@router.get("/feeds")
def feeds(request: Request, caller: AnyUser) -> HTMLResponse:
    return render(request, "feeds.html")

"""What a page route can ask for: the signed-in user by role, and a checked form.

The session cookie holds an API token, so :func:`page_user` uses the API's own
:func:`~contactpoint.services.sign_in.authorise`: a revoked token or a disabled
account stops working on the next page, and refusals are audited the same way.
Instead of a 401 a page sends the browser to sign in; instead of a JSON 403 it
shows a page that says what to do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from contactpoint.domain.vocabulary import Role
from contactpoint.services.sign_in import Principal, Refusal, authorise
from contactpoint.web.dependencies import RuntimeDep, address_of
from contactpoint.web.pages import cookies


class SignInRequired(Exception):  # noqa: N818 - it is an outcome, not an error
    """The browser has no current session: send it to sign in."""

    def __init__(self, *, timed_out: bool) -> None:
        super().__init__("sign in required")
        self.timed_out = timed_out


class PageRefused(Exception):  # noqa: N818 - it is an outcome, not an error
    """The page cannot be shown to this user or for this form; say why and what to do."""

    def __init__(self, status_code: int, title: str, advice: str) -> None:
        super().__init__(title)
        self.status_code = status_code
        self.title = title
        self.advice = advice


NOT_ALLOWED = PageRefused(
    403,
    "You cannot use this page",
    "Your role does not allow it. Ask your ContactPoint administrator if you need it.",
)
FORM_EXPIRED = PageRefused(
    403,
    "This form has expired",
    "Go back, reload the page and try again. Forms stop working when you sign in or out "
    "in another tab.",
)


def _route(request: Request) -> str:
    path = getattr(request.scope.get("route"), "path", None)
    return f"{request.method} {path if isinstance(path, str) else 'unrouted'}"


def page_user(*roles: Role) -> Any:
    """A dependency giving the signed-in :class:`Principal` if their role is one of
    ``roles``; otherwise the browser goes to sign in, or sees why it may not."""
    allowed = frozenset(roles)

    def signed_in_principal(request: Request, runtime: RuntimeDep) -> Principal:
        token = cookies.session_token(request)
        if token is None:
            raise SignInRequired(timed_out=False)
        found = authorise(
            runtime.sessions,
            keyring=runtime.keyring,
            clock=runtime.clock,
            token=token,
            roles=allowed,
            client=address_of(request),
            route=_route(request),
        )
        if found is Refusal.UNAUTHENTICATED:
            raise SignInRequired(timed_out=True)
        if found is Refusal.FORBIDDEN:
            raise NOT_ALLOWED
        request.state.principal = found
        return found

    return signed_in_principal


async def checked_form(request: Request) -> FormData:
    """The posted form, if it carries this browser's CSRF token; a refusal otherwise."""
    form = await request.form()
    if not cookies.csrf_valid(request, form.get("csrf_token")):
        raise FORM_EXPIRED
    return form


AnyUser = Annotated[Principal, Depends(page_user(*Role))]
Searcher = Annotated[Principal, Depends(page_user(Role.PRACTITIONER, Role.LA_ADMIN))]
EmergencyUser = Annotated[Principal, Depends(page_user(Role.EMERGENCY))]
TeamUser = Annotated[Principal, Depends(page_user(Role.LA_ADMIN))]
AuditorUser = Annotated[Principal, Depends(page_user(Role.AUDITOR))]
CheckedForm = Annotated[FormData, Depends(checked_form)]


def form_text(form: FormData, name: str) -> str:
    """A text field's value, stripped; ``""`` when absent or a file."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""

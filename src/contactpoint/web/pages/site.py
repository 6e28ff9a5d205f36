"""Putting the pages on the app: their routers, govuk-frontend's files and the error pages.

The JSON API keeps its JSON errors; everywhere else an error is a page that
says what to do, and never a stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from contactpoint.settings import Settings
from contactpoint.web.pages import (
    audit_log,
    cookies,
    search,
    sign_in,
    team_children,
    team_review,
    team_shielding,
    team_users,
)
from contactpoint.web.pages.dependencies import PageRefused, SignInRequired
from contactpoint.web.pages.templating import (
    ASSETS_URL,
    FRONTEND_URL,
    STATIC_DIR,
    STATIC_URL,
    find_frontend,
    render,
)

log = logging.getLogger(__name__)
API_PATHS = ("/api/", "/healthz")
PAGE_STATUS_TEXT = {
    404: ("Page not found", "Check the address, or go back to the start of the service."),
    405: ("Page not found", "Check the address, or go back to the start of the service."),
}


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    timed_out = isinstance(exc, SignInRequired) and exc.timed_out
    response = RedirectResponse("/sign-in?timeout=true" if timed_out else "/sign-in", 303)
    if timed_out:
        cookies.end_session(request, response)
    return response


async def _page_refused(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, PageRefused):
        raise exc
    return render(
        request,
        "error.html",
        {"title": exc.title, "advice": exc.advice},
        status_code=exc.status_code,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    if request.url.path.startswith(API_PATHS):
        return await http_exception_handler(request, exc)
    title, advice = PAGE_STATUS_TEXT.get(
        exc.status_code, ("Sorry, there is a problem", "Go back and try again.")
    )
    return render(
        request, "error.html", {"title": title, "advice": advice}, status_code=exc.status_code
    )


def install_pages(app: FastAPI, settings: Settings) -> None:
    """Add the pages to ``app``. Without govuk-frontend installed the pages still work,
    unstyled, and a warning says how to install it."""
    frontend = find_frontend(settings)
    if frontend is None:
        log.warning("govuk-frontend not found: run `npm ci` (make does) for the pages' styles")
    else:
        app.mount(FRONTEND_URL, StaticFiles(directory=frontend), name="frontend")
        app.mount(ASSETS_URL, StaticFiles(directory=frontend / "assets"), name="assets")
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PageRefused, _page_refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (
        sign_in,
        search,
        team_review,
        team_children,
        team_shielding,
        team_users,
        audit_log,
    ):
        app.include_router(module.router)

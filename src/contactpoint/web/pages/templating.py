"""Rendering a page: our Jinja templates over govuk-frontend-jinja's macros.

Every page goes through :func:`render`, which is where the per-request CSP
nonce, the CSRF token and the navigation for the signed-in user's role are
put into the template, and where the page's security headers are set. A
route never builds HTML by hand, so no route can forget them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader

from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.services.sign_in import Principal
from contactpoint.settings import Settings
from contactpoint.web.pages import cookies

SERVICE_NAME: Final = "ContactPoint"
FRONTEND_URL: Final = "/frontend"
ASSETS_URL: Final = "/assets"
STATIC_URL: Final = "/static"
STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
FRONTEND_PACKAGE: Final = Path("node_modules") / "govuk-frontend" / "dist" / "govuk"


def page_csp(nonce: str) -> str:
    """The pages' policy: our own origin only, and the one inline script govuk-frontend's
    template needs, by nonce. No inline styles, no frames, forms post only to us."""
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; "
        "manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def find_frontend(settings: Settings) -> Path | None:
    """govuk-frontend's ``dist/govuk``: the configured one, or ``node_modules`` in the
    working directory or the source checkout (``make`` installs it there from npm)."""
    if settings.frontend_dir is not None:
        if not (settings.frontend_dir / "govuk-frontend.min.css").is_file():
            raise ContactPointError(
                f"CONTACTPOINT_FRONTEND_DIR={settings.frontend_dir} holds no govuk-frontend "
                "build: point it at node_modules/govuk-frontend/dist/govuk."
            )
        return settings.frontend_dir
    checkout = Path(__file__).resolve().parents[4]
    for root in (Path.cwd(), checkout):
        candidate = root / FRONTEND_PACKAGE
        if (candidate / "govuk-frontend.min.css").is_file():
            return candidate
    return None


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("contactpoint.web", "templates"),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@dataclass(frozen=True, slots=True)
class NavItem:
    text: str
    href: str


NAVIGATION: Final[Mapping[Role, tuple[NavItem, ...]]] = {
    Role.PRACTITIONER: (NavItem("Find a child", "/search"),),
    Role.EMERGENCY: (NavItem("Emergency search", "/emergency/search"),),
    Role.LA_ADMIN: (
        NavItem("Find a child", "/search"),
        NavItem("Review queue", "/team/review"),
        NavItem("Children no feed covers", "/team/children"),
        NavItem("Users", "/team/users"),
    ),
    Role.AUDITOR: (NavItem("Audit log", "/audit"),),
    Role.FEED: (),
}


def signed_in(request: Request) -> Principal | None:
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The page, with a fresh CSP nonce and the caller's CSRF token in its forms.

    Titles come from the templates, never from data, so a child's name cannot
    reach a browser's history or a proxy's log through a page title.
    """
    nonce = secrets.token_urlsafe(18)
    principal = signed_in(request)
    csrf = cookies.csrf_for(request)
    current = request.url.path
    items = NAVIGATION.get(Role(principal.role), ()) if principal is not None else ()
    html = (
        environment()
        .get_template(template)
        .render(
            {
                "cspNonce": nonce,
                "assetPath": ASSETS_URL,
                "frontend_url": FRONTEND_URL,
                "static_url": STATIC_URL,
                "service_name": SERVICE_NAME,
                "principal": principal,
                "csrf_token": csrf.token,
                "navigation": [
                    {"text": item.text, "href": item.href, "active": current.startswith(item.href)}
                    for item in items
                ],
                **(context or {}),
            }
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = page_csp(nonce)
    response.headers["Cache-Control"] = "no-store"
    cookies.keep_csrf_cookie(request, response, csrf)
    return response

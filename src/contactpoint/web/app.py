"""The FastAPI application.

It serves its health check, its OpenAPI description, the JSON API under
``/api/v1`` and the pages (:mod:`contactpoint.web.pages`). The app reads its
:class:`~contactpoint.runtime.Runtime` (database sessions, vault, keyring, clock)
from ``app.state``, where :func:`create_app` puts it, and routes reach it only through
:mod:`contactpoint.web.dependencies`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text

from contactpoint import __version__
from contactpoint.runtime import Runtime, open_runtime
from contactpoint.services.sign_in import warm_up
from contactpoint.settings import Settings
from contactpoint.store.database import READ_ONLY
from contactpoint.web.api import auth, children, review, search, users
from contactpoint.web.dependencies import RuntimeDep
from contactpoint.web.pages.site import install_pages
from contactpoint.web.security_headers import SECURITY_HEADERS, SecurityHeaders

__all__ = ["API_PREFIX", "SECURITY_HEADERS", "create_app"]

API_PREFIX = "/api/v1"


async def validation_problem(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 answer without the ``input`` it normally echoes back.

    The input may be a password, a TOTP code or a child's details; an error
    answer is no place to repeat them (proxies and client logs keep answers).
    """
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={
            "detail": [
                {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")}
                for e in errors
            ]
        },
    )


def create_app(runtime: Runtime | None = None) -> FastAPI:
    """The app over ``runtime``, or over one opened from the environment at start-up.

    Given a runtime (``contactpoint serve``, tests) the app uses it and its
    owner closes it. Without one (``uvicorn --factory
    contactpoint.web.app:create_app``) the lifespan opens one from the
    settings and disposes of its engine at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            yield
            return
        opened = open_runtime()
        app.state.runtime = opened
        try:
            yield
        finally:
            opened.engine.dispose()

    app = FastAPI(
        title="ContactPoint",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    warm_up()
    app.add_exception_handler(RequestValidationError, validation_problem)

    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", include_in_schema=False)
    def health(runtime: RuntimeDep) -> dict[str, str]:
        with runtime.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True}).execute(text("SELECT 1"))
        return {"status": "ok"}

    # Routes are matched in the order they are added, each router's paths tried in turn:
    # the search, hundreds a second, first (no other path overlaps its two).
    app.include_router(search.router, prefix=API_PREFIX)
    app.include_router(auth.router, prefix=API_PREFIX)
    app.include_router(users.router, prefix=API_PREFIX)
    app.include_router(review.router, prefix=API_PREFIX)
    app.include_router(children.router, prefix=API_PREFIX)
    install_pages(app, runtime.settings if runtime is not None else Settings())
    return app

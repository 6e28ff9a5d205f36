"""The FastAPI application.

Until the look-up service lands it serves only its health check and its
OpenAPI description: there is deliberately no way yet to read a child over HTTP.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from contactpoint import __version__
from contactpoint.runtime import Runtime
from contactpoint.store.database import READ_ONLY

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="ContactPoint",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )

    @app.middleware("http")
    async def security_headers(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        with runtime.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True}).execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>ContactPoint</title></head><body><main><h1>ContactPoint</h1>"
            "<p>The index is running. Sign-in and search arrive with the look-up service.</p>"
            "</main></body></html>"
        )

    return app

"""``contactpoint serve``: the web pages and JSON API under uvicorn.

With ``--workers`` above one, uvicorn runs that many worker processes sharing the
port, each opening its own runtime (engine, vault, keyring) from the same
environment through :func:`worker_app`. Python runs one thread at a time per
process, so a second process is what lets the service use a second core.
uvicorn uses uvloop and httptools when they are installed (``uvicorn[standard]``)
and its pure-Python event loop and HTTP parser otherwise.
"""

from __future__ import annotations

import os
from typing import Annotated, Final

import typer
import uvicorn
from fastapi import FastAPI

from contactpoint.cli.app import app
from contactpoint.cli.output import console
from contactpoint.runtime import Runtime, open_runtime
from contactpoint.web.app import create_app

WORKER_APP: Final = "contactpoint.cli.serve:worker_app"


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def worker_app() -> FastAPI:
    """The app in one of several worker processes, over a runtime of its own."""
    return create_app()


def serve_app(runtime: Runtime, host: str, port: int, workers: int = 1) -> None:
    """Serve ``runtime``'s installation; with several workers each opens its own runtime
    from the environment, so ``runtime`` must be the one the environment names."""
    console.print(
        f"Serving ContactPoint on http://{host}:{port}/ "
        f"({workers} worker{'s' if workers != 1 else ''}; Ctrl+C to stop)."
    )
    if workers <= 1:
        target: FastAPI | str = create_app(runtime)
    else:
        runtime.engine.dispose()
        target = WORKER_APP
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes. Default: one per core, at most 4 (one on SQLite).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the web pages and the JSON API."""
    runtime = open_runtime()
    if workers is None:
        workers = 1 if runtime.engine.dialect.name == "sqlite" else default_workers()
    serve_app(runtime, host, port, workers)

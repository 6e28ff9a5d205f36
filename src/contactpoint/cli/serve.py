"""``contactpoint serve``: the web pages and JSON API under uvicorn.

With ``--workers`` above one, that many worker processes serve the port, each with
a listening socket and a runtime (engine, vault, keyring) of its own, opened from
the same environment (:mod:`contactpoint.web.workers`). uvicorn uses uvloop and
httptools when they are installed (``uvicorn[standard]``) and its pure-Python event
loop and HTTP parser otherwise.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from contactpoint.cli.app import app
from contactpoint.cli.output import console
from contactpoint.runtime import Runtime, open_runtime

UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
}


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def serve_app(runtime: Runtime, host: str, port: int, workers: int = 1) -> None:
    """Serve ``runtime``'s installation; with several workers each opens its own runtime
    from the environment, so ``runtime`` must be the one the environment names.

    The web application is imported here, not with the CLI: building it (every
    route's models) added 0.3 s to the start-up of every other command, each
    feed's ingest included.
    """
    import uvicorn

    from contactpoint.web.app import create_app
    from contactpoint.web.workers import WorkerStartError, serve_workers, settle_collector

    console.print(
        f"Serving ContactPoint on http://{host}:{port}/ "
        f"({workers} worker{'s' if workers != 1 else ''}; Ctrl+C to stop)."
    )
    if workers <= 1:
        app = create_app(runtime)
        settle_collector()
        uvicorn.run(app, host=host, port=port, **UVICORN_OPTIONS)
        return
    runtime.engine.dispose()
    try:
        serve_workers(host, port, workers, UVICORN_OPTIONS)
    except OSError as error:
        console.print(f"[red]Cannot listen on {host}:{port}: {error.strerror}.[/red]")
        raise typer.Exit(1) from None
    except WorkerStartError as error:
        console.print(f"[red]The service stopped: {error}; its error is above.[/red]")
        raise typer.Exit(1) from None


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

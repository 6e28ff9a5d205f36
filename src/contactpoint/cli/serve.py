"""``contactpoint serve``: the web pages and JSON API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from contactpoint.cli.app import app
from contactpoint.cli.output import console
from contactpoint.runtime import Runtime, open_runtime
from contactpoint.web.app import create_app


def serve_app(runtime: Runtime, host: str, port: int) -> None:
    console.print(f"Serving ContactPoint on http://{host}:{port}/ (Ctrl+C to stop).")
    uvicorn.run(
        create_app(runtime),
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
) -> None:
    """Serve the web pages and the JSON API."""
    serve_app(open_runtime(), host, port)

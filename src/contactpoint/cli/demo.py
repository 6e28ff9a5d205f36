"""``contactpoint demo`` and ``contactpoint synth``: from a fresh clone to a running system."""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from contactpoint.cli.app import app, create_user, operator, render_report, run_ingest
from contactpoint.cli.demo_guide import busiest_social_care_area, examples
from contactpoint.cli.output import console, progress_bar
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.runtime import open_runtime
from contactpoint.services.setup import initialise
from contactpoint.settings import Settings
from contactpoint.synth import write_synthetic_feeds

DEMO_MARKER = ".contactpoint-demo"
SOURCES = ("nhs-pds", "child-benefit", "school-census", "local-authority")
TEAM_AREA = "{area}"
DEMO_USERS = (
    ("demo.practitioner", Role.PRACTITIONER, "Leeds Park Primary School", None),
    ("demo.emergency", Role.EMERGENCY, "Leeds General Infirmary A&E", None),
    ("demo.la-admin", Role.LA_ADMIN, "{area} Council ContactPoint team", TEAM_AREA),
    ("demo.auditor", Role.AUDITOR, "ContactPoint assurance", None),
    ("demo.feed", Role.FEED, "Department for Education school census", None),
)
"""The team's area is the local authority with the most social care in the synthetic feeds,
so its full view of a child in its area has something to show."""


@app.command()
def synth(
    children: Annotated[int, typer.Option(min=1, help="How many children.")],
    out: Annotated[Path, typer.Option(help="Directory to write the feeds into.")],
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 1,
    as_of: Annotated[
        str | None, typer.Option(help="Reference date (YYYY-MM-DD); default today.")
    ] = None,
) -> None:
    """Write a synthetic population's source feeds and its ground truth."""
    reference = None
    if as_of is not None:
        try:
            reference = date.fromisoformat(as_of)
        except ValueError:
            raise ContactPointError("--as-of must be a date like 2026-11-24.") from None
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar("Generating children", children, show=children > 5000) as tick:
        summary = write_synthetic_feeds(out, children, seed=seed, as_of=reference, progress=tick)
    for source, lines in sorted(summary.lines.items()):
        console.print(f"{source}: {lines} lines")
    console.print(f"Wrote {summary.children} children's feeds and ground truth to {out}.")


def _fresh_demo_home(home: Path) -> None:
    if home.exists():
        if not (home / DEMO_MARKER).exists():
            raise ContactPointError(
                f"{home} exists and is not a demo directory: choose another --home."
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, mode=0o700)
    (home / DEMO_MARKER).write_text("made by contactpoint demo; safe to delete\n")


def _print_examples(feeds: Path, area: str, today: date) -> None:
    table = Table(title="Children to search for (made up)")
    for column in ("given name", "family name", "date of birth", "postcode", "why"):
        table.add_column(column)
    for example in examples(feeds, area, today):
        table.add_row(
            example.given_name,
            example.family_name,
            example.date_of_birth.isoformat(),
            example.postcode or "",
            example.why,
        )
    console.print(table)


@app.command()
def demo(
    children: Annotated[int, typer.Option(min=10, help="Size of the synthetic population.")] = 3000,
    home: Annotated[Path, typer.Option(help="Demo data directory (recreated).")] = Path(
        ".contactpoint/demo"
    ),
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve: Annotated[bool, typer.Option(help="Serve the web app when ready.")] = True,
) -> None:
    """Fresh keys, synthetic feeds, ingest, demo users, then serve on 127.0.0.1:8000."""
    _fresh_demo_home(home)
    os.environ["CONTACTPOINT_HOME"] = str(home)
    os.environ.pop("CONTACTPOINT_DATABASE_URL", None)
    os.environ.pop("CONTACTPOINT_KEYS", None)
    os.environ.pop("CONTACTPOINT_KEY_FILE", None)
    os.environ["CONTACTPOINT_POPULATION"] = str(children)
    settings = Settings()
    initialise(settings, operator())
    feeds = home / "feeds"
    feeds.mkdir()
    with progress_bar("Generating children", children) as tick:
        write_synthetic_feeds(feeds, children, seed=1, progress=tick)
    for source in SOURCES:
        render_report(run_ingest(source, feeds / f"{source}.jsonl"))
    runtime = open_runtime(settings)
    area = busiest_social_care_area(feeds)
    table = Table(title="Demo accounts (synthetic data only)")
    for column in ("username", "role", "password", "TOTP secret"):
        table.add_column(column, overflow="fold", no_wrap=False)
    for username, role, organisation, user_area in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user = create_user(
            runtime,
            username,
            password,
            role,
            organisation.format(area=area),
            None if user_area is None else user_area.format(area=area),
        )
        secret = user.totp_uri.split("secret=")[1].split("&")[0]
        table.add_row(username, role.value, password, secret)
    console.print(table)
    console.print(
        "Add a TOTP secret to an authenticator app (or read the current code with "
        "`.venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"`)."
    )
    _print_examples(feeds, area, runtime.clock.today())
    console.print(
        f"Open http://localhost:{port}/ and sign in; practitioners and the {area} team search "
        "at /search, emergency staff at /emergency/search, auditors read /audit."
    )
    if serve:
        from contactpoint.cli.serve import serve_app

        serve_app(runtime, host, port)

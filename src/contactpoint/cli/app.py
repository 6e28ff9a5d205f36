"""The ``contactpoint`` command line: thin, it parses, calls a service, renders."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from contactpoint.audit.trail import Actor
from contactpoint.cli.output import console, errors, phase_progress, progress_bar
from contactpoint.clock import SystemClock
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.feeds.reader import FeedFileError
from contactpoint.runtime import Runtime, open_runtime
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import FeedIngestor, IngestReport
from contactpoint.services.initial_load import InitialLoader
from contactpoint.services.keys import retire_keys, rotate_keys
from contactpoint.services.linkage import export_linkage
from contactpoint.services.model_training import train_from_feeds
from contactpoint.services.setup import initialise
from contactpoint.services.sign_in import DisableOutcome, disable_user
from contactpoint.services.users import NewUser, add_user
from contactpoint.settings import Settings

app = typer.Typer(
    name="contactpoint",
    help="ContactPoint: the national index of children in England.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage key material.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit log.", no_args_is_help=True)
linkage_app = typer.Typer(help="Measure linkage quality.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(linkage_app, name="linkage")

PROGRESS_THRESHOLD = 5000


def operator() -> Actor:
    """Command-line work is done by the operating-system user who ran it."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(name=f"cli:{name}"[:64], role="operator")


@app.command()
def init() -> None:
    """Create or upgrade the database schema and key material (safe to run again)."""
    settings = Settings()
    result = initialise(settings, operator())
    if result.created_keys:
        console.print(f"Created a new keyring at {settings.resolved_key_file} (mode 0600).")
        console.print("[bold]Back it up now:[/bold] without it the data cannot be read.")
    if result.reindexed:
        console.print(
            f"Indexed {result.reindexed:,} records again under this release's blocking keys."
        )
    console.print(f"Database schema at revision {result.schema_revision}. Ready.")


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def render_report(report: IngestReport) -> None:
    c = report.counts
    console.print(
        f"{report.file} from {report.source}: {report.lines} lines; accepted {c.accepted} "
        f"(created {c.created}, linked {c.linked}, updated {c.updated}, unchanged {c.unchanged}, "
        f"ended {c.ended}, queued for review {c.queued_for_review}); rejected {c.rejected}."
    )
    for rejection in report.rejections[:10]:
        console.print(f"  line {rejection.line_number}: {rejection.reason}")
    if len(report.rejections) > 10:
        console.print(f"  … and {len(report.rejections) - 10} more (see --report).")


def feed_tools(runtime: Runtime) -> FeedTools:
    return FeedTools(
        runtime.sessions,
        vault=runtime.vault,
        indexer=runtime.indexer,
        digester=runtime.digester,
        linker=runtime.linker,
        clock=runtime.clock,
        audit_key=runtime.keyring.audit_key,
        actor=operator(),
    )


def run_ingest(
    source: str, file: Path, report_path: Path | None = None, helper: bool | None = None
) -> IngestReport:
    runtime = open_runtime()
    ingestor = FeedIngestor(feed_tools(runtime), helper=helper)
    big = file.is_file() and file.stat().st_size > 2_000_000
    total = _count_lines(file) if big else None
    with progress_bar(
        f"Ingesting {file.name}", total, show=bool(total and total > PROGRESS_THRESHOLD)
    ) as tick:
        report = ingestor.ingest(source, file, progress=tick)
    if report_path is not None:
        report_path.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
    return report


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="A JSON Lines feed file.")],
    source: Annotated[str, typer.Option(help="The feed's source name, e.g. school-census.")],
    report: Annotated[
        Path | None, typer.Option(help="Write a machine-readable JSON report here.")
    ] = None,
    helper: Annotated[
        bool | None,
        typer.Option(
            "--helper/--no-helper",
            help="Prepare and encrypt lines in a second process (PostgreSQL only). "
            "Default: for files of 1 MiB or more.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Ingest one feed file; bad lines are rejected with reasons, the rest applied."""
    render_report(run_ingest(source, file, report, helper))


def create_user(
    runtime: Runtime,
    username: str,
    password: str,
    role: Role,
    organisation: str,
    area: str | None,
) -> NewUser:
    runtime.vault.prepare()
    with runtime.sessions.begin() as session:
        return add_user(
            session,
            vault=runtime.vault,
            clock=runtime.clock,
            audit_key=runtime.keyring.audit_key,
            actor=operator(),
            username=username,
            password=password,
            role=role,
            organisation=organisation,
            area=area,
        )


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option(case_sensitive=False)],
    organisation: Annotated[str, typer.Option()],
    area: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a user; the password is read from standard input."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    user = create_user(open_runtime(), username, password, role, organisation, area)
    console.print(f"Created {role.value} '{user.username}'. TOTP secret for their authenticator:")
    typer.echo(user.totp_uri)


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="The user to disable.")]) -> None:
    """Disable a user at once: they cannot sign in, and their API tokens stop working."""
    runtime = open_runtime()
    with runtime.sessions.begin() as session:
        result = disable_user(
            session,
            keyring=runtime.keyring,
            clock=runtime.clock,
            actor=operator(),
            username=username,
            within_area=None,
            unrestricted=True,
        )
    if result.outcome is DisableOutcome.UNKNOWN_USER:
        raise ContactPointError(f"There is no user called '{username}': check the spelling.")
    console.print(f"Disabled '{username}'; {result.tokens_revoked} API tokens revoked.")


@keys_app.command("rotate")
def keys_rotate(
    retire: Annotated[
        bool, typer.Option(help="Drop key versions no data key uses any more.")
    ] = False,
) -> None:
    """Add a new key-encryption key and re-wrap every data key under it."""
    runtime = open_runtime()
    with runtime.sessions.begin() as session:
        rotated, result = rotate_keys(
            session,
            settings=runtime.settings,
            keyring=runtime.keyring,
            clock=runtime.clock,
            actor=operator(),
            retire=retire,
        )
    retire_keys(runtime.settings, rotated, result.retired)
    console.print(
        f"Key-encryption key version {result.new_version} is active; "
        f"{result.rewrapped} data keys re-wrapped."
        + (f" Retired versions: {list(result.retired)}." if result.retired else "")
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole audit chain; name the first entry that fails."""
    runtime = open_runtime()
    with runtime.sessions() as session:
        result = verify_audit(session, runtime.keyring.audit_key)
    if not result.ok:
        errors.print(
            f"[red]Audit chain broken at entry {result.first_bad_seq}: {result.problem}.[/red] "
            f"{result.verified} entries before it verified."
        )
        raise typer.Exit(1)
    console.print(f"Audit chain intact: {result.verified} entries verified.")


@app.command("load")
def load_command(
    feeds: Annotated[
        list[Path], typer.Argument(help="Feed files named <source>.jsonl, in the order to link.")
    ],
    report: Annotated[Path | None, typer.Option(help="Write a JSON report here.")] = None,
    helpers: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=16,
            help="Helper processes that validate and encrypt lines (PostgreSQL only; 0 for "
            "none). Default: 2 for feeds of 1 MiB or more.",
            show_default=False,
        ),
    ] = None,
    spill_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where encrypted records wait between reading and writing, removed as they "
            "are written (about 1.5 KB a record). Default: the ContactPoint home.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Initial load of a whole population's feeds into an empty index, linked in memory."""
    runtime = open_runtime()
    loader = InitialLoader(
        feed_tools(runtime), helpers=helpers, spill_dir=spill_dir or runtime.settings.home
    )
    with phase_progress() as tick:
        result = loader.load([(path.stem, path) for path in feeds], progress=tick)
    for feed_report in result.feeds:
        render_report(feed_report)
    console.print(f"Loaded {result.records:,} records as {result.children:,} children.")
    if report is not None:
        report.write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")


@linkage_app.command("train")
def linkage_train(
    feeds: Annotated[Path, typer.Option(help="Directory of feed files, one <source>.jsonl each.")],
    children: Annotated[int, typer.Option(help="How many children the sample was drawn from.")],
    out: Annotated[Path, typer.Option(help="Model file to write (JSON).")],
    version: Annotated[str, typer.Option(help="Version label stored in the model.")] = "dev",
    seed: Annotated[int, typer.Option(help="Seed for the random pairs that estimate u.")] = 0,
) -> None:
    """Estimate a match model (EM and random-pair u) from unlabelled feeds."""
    paths = {p.stem: p for p in sorted(feeds.glob("*.jsonl"))} if feeds.is_dir() else {}
    if not paths:
        raise ContactPointError(f"No *.jsonl feed files in {feeds}: give a directory of feeds.")
    model = train_from_feeds(
        paths,
        children=children,
        version=version,
        today=SystemClock().today(),
        seed=seed,
        progress=lambda message: console.print(f"  {message}"),
    )
    model.save(out)
    console.print(
        f"Wrote match model {version} ({model.provenance['records']:,} records) to {out}."
    )


@linkage_app.command("export")
def linkage_export(out: Annotated[Path, typer.Option(help="CSV file to write.")]) -> None:
    """Write source,source_record_id,child_id for every source record (no personal data)."""
    runtime = open_runtime()
    with runtime.sessions.begin() as session:
        rows = export_linkage(
            session,
            out=out,
            clock=runtime.clock,
            audit_key=runtime.keyring.audit_key,
            actor=operator(),
        )
    console.print(f"Wrote {rows} links to {out}.")


def _register_commands() -> None:
    """Commands in their own modules attach themselves to ``app`` on import."""
    from contactpoint.cli import demo, review, serve  # noqa: F401


def main() -> None:
    """Entry point: user errors get their message; nothing gets a stack trace."""
    logging.basicConfig(level=os.environ.get("CONTACTPOINT_LOG_LEVEL", "WARNING"))
    try:
        _register_commands()
        app()
    except (ContactPointError, FeedFileError) as exc:
        errors.print(f"[red]Error:[/red] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        errors.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("CONTACTPOINT_DEBUG"):
            raise
        errors.print(
            f"[red]Internal error ({type(exc).__name__}).[/red] Nothing personal was logged. "
            "Run again with CONTACTPOINT_DEBUG=1 to see the details, and report it."
        )
        sys.exit(70)

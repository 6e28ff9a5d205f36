"""Browser tests: the pages in Debian's Chromium, headless, driven by Playwright.

One installation per test process: a fresh PostgreSQL database, initialised the
way ``contactpoint init`` does it, a small synthetic population ingested from its
four feeds the way ``contactpoint demo`` does it, a demo user for every role, and
the app served by uvicorn from a background thread on a free port of 127.0.0.1.
Every test here is marked ``browser`` and put in one xdist group, so under
``pytest -n 2 --dist loadgroup`` one worker builds the installation once and runs
them all.

Without Chromium (``apt-get install chromium``) or the npm packages (``make``
installs them) the tests are skipped with one notice, except in CI (``CI=true``),
where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from contactpoint.cli.app import operator
from contactpoint.cli.demo import DEMO_USERS, SOURCES
from contactpoint.runtime import open_runtime
from contactpoint.services.setup import initialise
from contactpoint.settings import Settings
from contactpoint.synth import write_synthetic_feeds
from contactpoint.web.app import create_app
from tests.browser.helpers import (
    AXE_SCRIPT,
    FRONTEND_DIR,
    TIMEOUT_MS,
    KnownChild,
    LiveServer,
    Sessions,
    chromium_path,
    crafted_child,
    new_page,
)
from tests.cli.conftest import nhs_number
from tests.conftest import IN_CI, PgDatabases

CHILDREN = 300
SEED = 1
AS_OF = min(date(2026, 1, 15), date.today())  # noqa: DTZ011 - the synthetic population's today
"""Fixed, so that every run holds the same children, the same review items and the same
screenshots (the population depends on its reference date)."""
BROWSER_DIR = Path(__file__).resolve().parent
LA_AREA = "Leeds"
"""The team's area here; `contactpoint demo` takes the area with the most social care."""


def _missing() -> str | None:
    if chromium_path() is None:
        return "Chromium is not installed (as root: apt-get install chromium)"
    if not AXE_SCRIPT.is_file() or not FRONTEND_DIR.is_dir():
        return "the npm packages are not installed (run make, or npm ci)"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser (before xdist reads the group marks).

    Where they cannot run (outside CI), one of them is kept, skipped with the reason,
    and the rest deselected: one line in the summary, not one per test.
    """
    ours = [item for item in items if BROWSER_DIR in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.xdist_group("browser"))
    missing = _missing()
    if missing is None or IN_CI or not ours:
        return
    ours[0].add_marker(pytest.mark.skip(reason=f"{len(ours)} browser tests skipped: {missing}"))
    rest = set(ours[1:])
    items[:] = [item for item in items if item not in rest]
    config.hook.pytest_deselected(items=ours[1:])


@pytest.fixture(scope="session")
def browser_ready() -> None:
    missing = _missing()
    if missing is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {missing}: the browser tests cannot run.", pytrace=False)
    pytest.skip(f"browser tests skipped: {missing}.")


def crafted_children() -> dict[str, dict[str, KnownChild]]:
    """By source: children the synthetic population may or may not hold on a given seed,
    written out so the tests always have them."""

    def twin(source_record_id: str, given_name: str, nhs: int) -> KnownChild:
        return crafted_child(
            source_record_id,
            given_name=given_name,
            family_name="Okonkwo-Hale",
            date_of_birth="2016-05-14",
            gender="female",
            postcode="LS6 2QD",
            nhs_number=nhs_number(nhs),
            la_name="Leeds",
        )

    def registered_twice(source_record_id: str, nhs: int) -> KnownChild:
        """One girl under two NHS numbers (a duplicate registration): never linked
        automatically, so the review queue always holds her second record."""
        return crafted_child(
            source_record_id,
            given_name="Maisie",
            family_name="Thornbury-Vale",
            date_of_birth="2015-03-09",
            gender="female",
            postcode="LS7 3HB",
            nhs_number=nhs_number(nhs),
            la_name="Leeds",
        )

    return {
        "school-census": {
            "registered_first": registered_twice("SC-BROWSER-4", 9_005),
            "twin_a": twin("SC-BROWSER-1", "Adaeze", 9_001),
            "twin_b": twin("SC-BROWSER-2", "Chioma", 9_002),
            "to_shield": crafted_child(
                "SC-BROWSER-3",
                given_name="Imogen",
                family_name="Ashdown-Pryce",
                date_of_birth="2012-10-23",
                gender="female",
                postcode="LS8 1PL",
                nhs_number=nhs_number(9_003),
                la_name="Leeds",
                services=[
                    {
                        "type": "school",
                        "organisation": "Roundhay Park Primary School",
                        "start_date": "2017-09-06",
                    }
                ],
            ),
        },
        "local-authority": {
            "registered_again": registered_twice("LA-BROWSER-2", 9_006),
            "in_area": crafted_child(
                "LA-BROWSER-1",
                given_name="Tobias",
                family_name="Fairweather-Lund",
                date_of_birth="2013-09-02",
                gender="male",
                postcode="LS9 8AB",
                nhs_number=nhs_number(9_004),
                la_name="Leeds",
                circumstances=("child_protection_plan",),
                services=[
                    {
                        "type": "social_care",
                        "organisation": f"{LA_AREA} Children's Social Care",
                        "practitioner": {"name": "R Okafor", "role": "Social worker"},
                        "start_date": "2024-02-01",
                        "lead_professional": True,
                    }
                ],
            ),
        },
    }


@pytest.fixture(scope="session")
def live_server(
    browser_ready: None, pg_databases: PgDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("browser-home")
    feeds = home / "feeds"
    write_synthetic_feeds(feeds, CHILDREN, seed=SEED, as_of=AS_OF)
    options: dict[str, object] = {
        "home": home,
        "database_url": pg_databases.create(),
        "population": CHILDREN,
        # The demo users search from many tests within a minute; the limits themselves
        # are tested in tests/services and tests/web.
        "search_limit_per_minute": 200,
        "search_limit_per_day": 2000,
    }
    if "frontend_dir" in Settings.model_fields:
        options["frontend_dir"] = FRONTEND_DIR
    settings = Settings(**options)  # type: ignore[arg-type]
    initialise(settings, operator()).runtime.engine.dispose()
    runtime = open_runtime(settings)
    server = LiveServer(runtime=runtime, feeds=feeds, area=LA_AREA)
    for source in SOURCES:
        server.ingest(source, feeds / f"{source}.jsonl")
    for source, children in crafted_children().items():
        server.add_crafted(source, children)
    for username, role, organisation, _area in DEMO_USERS:
        server.users[role] = server.add_user(
            role, name=username, organisation=organisation.format(area=LA_AREA)
        )
    server.start(create_app(runtime))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(browser_ready: None, playwright: Playwright) -> Iterator[Browser]:
    executable = chromium_path()
    assert executable is not None
    browser = playwright.chromium.launch(executable_path=executable, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def signed_in(browser: Browser, live_server: LiveServer) -> Sessions:
    """``signed_in.context(Role.PRACTITIONER)``: a new browser context already signed in
    as that role's demo user (signed in through the pages once per session)."""
    return Sessions(browser, live_server)


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A browser context with no cookies yet."""
    context = browser.new_context(base_url=live_server.base_url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return new_page(context)

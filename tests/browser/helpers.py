"""The pieces the browser tests share: the live installation, its users, and the checks
every page must pass (axe-core, no Content-Security-Policy violation, a screenshot).

The server is the real app (:func:`contactpoint.web.app.create_app`) over a fresh
PostgreSQL database, served by uvicorn on 127.0.0.1; the browser is Debian's Chromium,
driven headless by Playwright. Nothing here downloads a browser.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import os
import re
import shutil
import threading
import time
import warnings
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import pyotp
import uvicorn
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from sqlalchemy import select

from contactpoint.cli.app import create_user, feed_tools
from contactpoint.domain.vocabulary import Role
from contactpoint.runtime import Runtime
from contactpoint.services.ingest import FeedIngestor
from contactpoint.store.tables import Child, ReviewItem, SourceRecord
from tests.cli.conftest import child as feed_child
from tests.cli.conftest import line as feed_line

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_RESULTS = ARTIFACTS / "axe"
AXE_SCRIPT = REPO / "node_modules" / "axe-core" / "axe.min.js"
FRONTEND_DIR = REPO / "node_modules" / "govuk-frontend" / "dist" / "govuk"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
ESCAPED_MARKUP = re.compile(r"</?(?:p|a|br|span|div|strong|ul|li|h[1-6])\b[^>]*>")
"""A tag in a page's visible text: markup escaped twice and shown to the user."""
PASSWORD = "correct horse battery staple"
TOTP_STEP = 30
TIMEOUT_MS = 10_000
"""How long an action waits: pages answer in milliseconds here, and a missing element
should fail in seconds, not Playwright's default 30."""
SIGN_IN_HOME = {
    Role.PRACTITIONER: "/search",
    Role.LA_ADMIN: "/search",
    Role.EMERGENCY: "/emergency/search",
    Role.AUDITOR: "/audit",
    Role.FEED: "/feeds",
}
ORGANISATIONS = {
    Role.PRACTITIONER: "Leeds Park Primary School",
    Role.EMERGENCY: "Leeds General Infirmary A&E",
    Role.LA_ADMIN: "ContactPoint team",
    Role.AUDITOR: "ContactPoint assurance",
    Role.FEED: "Department for Education school census",
}


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), never one Playwright downloaded;
    ``CONTACTPOINT_TEST_CHROMIUM`` names another build of Chromium to drive instead."""
    chosen = os.environ.get("CONTACTPOINT_TEST_CHROMIUM")
    if chosen is not None:
        return chosen if os.access(chosen, os.X_OK) else None
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


# --- users -----------------------------------------------------------------------------


@dataclass
class User:
    """An account with a known password and TOTP secret.

    The server refuses a TOTP step already used by the same user, so
    :meth:`fresh_code` waits for the next step when this user's last sign-in used
    the current one (at most 30 seconds; tests avoid it by using a fresh user).
    """

    username: str
    role: Role
    secret: str = field(repr=False)
    password: str = field(default=PASSWORD, repr=False)
    area: str | None = None
    last_step: int = -1

    def fresh_code(self) -> str:
        step = int(time.time()) // TOTP_STEP
        if step <= self.last_step:
            time.sleep((self.last_step + 1) * TOTP_STEP - time.time() + 0.2)
            step = int(time.time()) // TOTP_STEP
        self.last_step = step
        return str(pyotp.TOTP(self.secret).at(step * TOTP_STEP))

    def wrong_code(self) -> str:
        """A six-digit code that is not this step's, nor either neighbour's."""
        totp = pyotp.TOTP(self.secret)
        now = time.time()
        near = {totp.at(now + d * TOTP_STEP) for d in (-2, -1, 0, 1, 2)}
        return next(c for c in (f"{n:06d}" for n in itertools.count(123456, 7919)) if c not in near)


# --- the synthetic population ------------------------------------------------------------


@dataclass(frozen=True)
class KnownChild:
    """A child the index holds as one child, and what a practitioner would type in to
    find them: from the synthetic population (:meth:`LiveServer.known_children`), or
    written for the tests (:func:`crafted_child`)."""

    person_id: str
    child_id: str
    given_name: str
    family_name: str
    date_of_birth: str
    gender: str
    postcode: str | None
    nhs_number: str | None
    la_name: str
    truth: dict[str, Any] = field(repr=False, compare=False)
    line: dict[str, Any] = field(repr=False, compare=False)

    def query(self, *terms: str) -> Query:
        """The named terms of what the index holds (all five name-and-place ones by
        default): what a practitioner who knows the child would type in."""
        wanted = terms or ("given_name", "family_name", "date_of_birth", "gender", "postcode")
        return Query(**{term: getattr(self, term) for term in wanted})


@dataclass(frozen=True)
class Query:
    """The search form's terms (dates as YYYY-MM-DD; the form splits them)."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: str | None = None
    gender: str | None = None
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    child_id: str | None = None


@dataclass
class LiveServer:
    """The app served over HTTP from a background thread, and what the tests know of it."""

    runtime: Runtime
    feeds: Path
    area: str
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    base_url: str = ""
    users: dict[Role, User] = field(default_factory=dict)
    crafted: dict[str, KnownChild] = field(default_factory=dict)
    """Children added beside the synthetic population for what it may not hold (see
    :func:`crafted_feed`): same-sex twins, a child in the la_admin's area, a child to shield."""
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    # -- lifecycle --

    def ingest(self, source: str, path: Path) -> dict[str, Any]:
        report: dict[str, Any] = (
            FeedIngestor(feed_tools(self.runtime)).ingest(source, path).to_json()
        )
        assert report["rejected"] == 0, report
        return report

    def add_crafted(self, source: str, children: dict[str, KnownChild]) -> None:
        path = self.feeds.parent / f"crafted-{source}.jsonl"
        path.write_text("".join(json.dumps(c.line) + "\n" for c in children.values()))
        self.ingest(source, path)
        links = self.links()
        for key, known in children.items():
            child_id = links[(source, known.line["source_record_id"])]
            self.crafted[key] = dataclasses.replace(known, child_id=child_id)

    def start(self, app: Any, host: str = "127.0.0.1") -> None:
        config = uvicorn.Config(app, host=host, port=0, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=15)
        self.runtime.engine.dispose()

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- users --

    def add_user(
        self,
        role: Role,
        *,
        area: str | None = None,
        name: str | None = None,
        organisation: str | None = None,
    ) -> User:
        """A new account: distinct, so its first TOTP code is never a replay."""
        username = name or f"{role.value.replace('_', '-')}.{next(self._counter):03d}"
        if role is Role.LA_ADMIN and area is None:
            area = self.area
        organisation = organisation or ORGANISATIONS[role]
        new = create_user(self.runtime, username, PASSWORD, role, organisation, area)
        secret = new.totp_uri.split("secret=")[1].split("&")[0]
        return User(username=username, role=role, secret=secret, area=area)

    # -- the ground truth and what the index made of it --

    @cached_property
    def people(self) -> dict[str, dict[str, Any]]:
        with (self.feeds / "people.jsonl").open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        return {row["person_id"]: row for row in rows}

    def _feed_lines(self) -> dict[tuple[str, str], dict[str, Any]]:
        lines: dict[tuple[str, str], dict[str, Any]] = {}
        for path in sorted(self.feeds.glob("*.jsonl")):
            if path.name == "people.jsonl":
                continue
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    value = json.loads(line)
                    lines[(path.stem, value["source_record_id"])] = value
        return lines

    def _csv(self, name: str) -> list[dict[str, str]]:
        with (self.feeds / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def links(self) -> dict[tuple[str, str], str]:
        """(source, source_record_id) → child id, as the index holds it now."""
        with self.runtime.sessions() as session:
            rows = session.execute(
                select(SourceRecord.source, SourceRecord.source_record_id, SourceRecord.child_id)
            )
            return {(r.source, r.source_record_id): r.child_id for r in rows}

    def known_children(self) -> list[KnownChild]:
        """Children of the synthetic population whom the index holds as the truth says
        (see :class:`KnownChild`), in person order; neither twins, nor children whose
        date of birth is uncertain, nor any 17 or older."""
        lines = self._feed_lines()
        noisy = {(r["source"], r["source_record_id"]) for r in self._csv("noise.csv") if r["noise"]}
        records_of: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in self._csv("truth.csv"):
            records_of[row["person_id"]].append((row["source"], row["source_record_id"]))
        links = self.links()
        people_of_child: defaultdict[str, set[str]] = defaultdict(set)
        for person, records in records_of.items():
            for key in records:
                if key in links:
                    people_of_child[links[key]].add(person)
        with self.runtime.sessions() as session:
            rows = session.execute(select(Child.id, Child.status, Child.shielded))
            usable = {r.id for r in rows if r.status == "active" and not r.shielded}
        today = date.today()  # noqa: DTZ011 - the server's SystemClock, in local time
        too_old = date(today.year - 17, today.month, min(today.day, 28))
        found: list[KnownChild] = []
        for person_id, records in sorted(records_of.items()):
            truth = self.people[person_id]
            children = {links.get(key) for key in records}
            if len(children) != 1 or None in children:
                continue
            if any(key in noisy for key in records):
                continue
            (child_id,) = children
            assert child_id is not None
            if child_id not in usable or people_of_child[child_id] != {person_id}:
                continue
            if truth["twin"] or truth["dob_uncertain"]:
                continue
            if date.fromisoformat(truth["date_of_birth"]) <= too_old:
                continue  # 17 or more: may be archived at 18 before the test runs
            line = lines[records[0]]
            held = line["child"]
            address = held.get("address") or {}
            found.append(
                KnownChild(
                    person_id=person_id,
                    child_id=child_id,
                    given_name=held["given_names"].split()[0],
                    family_name=held["family_name"],
                    date_of_birth=held["date_of_birth"],
                    gender=held["gender"],
                    postcode=address.get("postcode"),
                    nhs_number=held.get("nhs_number"),
                    la_name=truth["la_name"],
                    truth=truth,
                    line=line,
                )
            )
        return found

    def open_review_items(self) -> list[str]:
        with self.runtime.sessions() as session:
            return [
                str(i)
                for i in session.execute(
                    select(ReviewItem.id)
                    .where(ReviewItem.status == "open")
                    .order_by(ReviewItem.created_at)
                ).scalars()
            ]


def crafted_child(
    source_record_id: str,
    *,
    given_name: str,
    family_name: str,
    date_of_birth: str,
    gender: str,
    postcode: str,
    nhs_number: str,
    la_name: str,
    circumstances: tuple[str, ...] = (),
    **extra: Any,
) -> KnownChild:
    """A child written for the browser tests (not drawn from the synthetic population)."""
    value = feed_child(
        given_names=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        gender=gender,
        nhs_number=nhs_number,
        address={"lines": ["14 Harrow Mews"], "town": la_name, "postcode": postcode},
        circumstances=list(circumstances),
    )
    line = json.loads(feed_line(source_record_id, value, **extra))
    return KnownChild(
        person_id=source_record_id,
        child_id="",
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        gender=gender,
        postcode=postcode,
        nhs_number=nhs_number,
        la_name=la_name,
        truth={},
        line=line,
    )


# --- pages -----------------------------------------------------------------------------


class ConsoleWatch:
    """Collects what the browser said about a page: CSP refusals and uncaught errors."""

    def __init__(self, page: Page) -> None:
        self.csp: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def clear(self) -> None:
        self.csp.clear()
        self.errors.clear()


class LayoutWarning(UserWarning):
    """A layout problem axe-core does not report; shown in the summary, not failed."""


_WATCHES: weakref.WeakKeyDictionary[Page, ConsoleWatch] = weakref.WeakKeyDictionary()


def new_page(context: BrowserContext) -> Page:
    """A page whose CSP refusals and script errors :func:`check_page` will report."""
    page = context.new_page()
    _WATCHES[page] = ConsoleWatch(page)
    return page


def describe_violations(violations: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for v in violations:
        out.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            target = " ".join(str(t) for t in node["target"])
            out.append(f"    at {target}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
            out.append(f"      {node['html'][:200]}")
        if len(v["nodes"]) > 5:
            out.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(out)


def run_axe(page: Page) -> dict[str, Any]:
    """axe-core over the page as it stands.

    The script is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the pages' real CSP stays in force
    for everything else the test does.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;undefined")
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    result: dict[str, Any] = page.evaluate(
        "async (options) => JSON.parse(JSON.stringify(await window.axe.run(document, options)))",
        options,
    )
    return result


def check_page(page: Page, name: str, *, allow_errors: bool = False) -> list[dict[str, Any]]:
    """Screenshot the page, run axe-core on it and fail on any serious or critical
    violation; fail too if markup shows as text, if the browser refused anything under
    the page's CSP, or if a script threw. Returns all of axe's violations (minor and
    moderate ones too)."""
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    AXE_RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    result = run_axe(page)
    violations: list[dict[str, Any]] = result["violations"]
    (AXE_RESULTS / f"{name}.json").write_text(json.dumps(violations, indent=2), encoding="utf-8")
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, (
        f"axe-core found {len(blocking)} serious or critical violation(s) on {name} "
        f"({page.url}):\n{describe_violations(blocking)}"
    )
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        width = (page.viewport_size or {}).get("width")
        warnings.warn(
            f"{name}: the page is {overflow}px wider than its {width}px window, so it "
            "scrolls sideways (see the screenshot)",
            LayoutWarning,
            stacklevel=2,
        )
    shown = page.locator("body").inner_text()
    leaked = ESCAPED_MARKUP.findall(shown)
    assert not leaked, f"{name}: HTML shown as text (escaped twice?): {leaked[:5]}"
    watch = _WATCHES.get(page)
    if watch is not None:
        assert not watch.csp, f"{name}: the browser refused under the page's CSP: {watch.csp}"
        if not allow_errors:
            assert not watch.errors, f"{name}: script errors on the page: {watch.errors}"
    return violations


def sign_in(page: Page, server: LiveServer, user: User, *, expect_home: bool = True) -> None:
    """Through the pages: username and password, then the current TOTP code."""
    page.goto(server.url("/sign-in"))
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(user.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/sign-in/code")
    page.locator("input[name=code]").fill(user.fresh_code())
    page.get_by_role("button", name="Sign in").click()
    if expect_home and user.role in SIGN_IN_HOME:
        expect(page).to_have_url(server.url(SIGN_IN_HOME[user.role]))


@dataclass
class Sessions:
    """One signed-in browser state per demo role, reused by tests that are not about
    signing in (a second sign-in of the same user in one TOTP step would be a replay)."""

    browser: Browser
    server: LiveServer
    states: dict[Role, Any] = field(default_factory=dict)

    def context(self, role: Role, **options: Any) -> BrowserContext:
        if role not in self.states:
            context = self.browser.new_context(base_url=self.server.base_url)
            page = new_page(context)
            sign_in(page, self.server, self.server.users[role])
            self.states[role] = context.storage_state()
            context.close()
        context = self.browser.new_context(
            base_url=self.server.base_url, storage_state=self.states[role], **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        return context


# --- the search form ---------------------------------------------------------------------

IDENTIFIER_DETAILS = "Search with an NHS number, UPN or ContactPoint ID"
LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "postcode": "Postcode (optional)",
    "nhs_number": "NHS number",
    "upn": "Unique Pupil Number (UPN)",
    "child_id": "ContactPoint ID",
}


def search(
    page: Page,
    query: Query,
    *,
    reason: str | None = "assessment",
    detail: str | None = None,
    path: str = "/search",
) -> None:
    """Fill the search form through its labels, as a user would, and press Search."""
    if not page.url.endswith(path):
        page.goto(path)
    identifiers = [name for name in ("nhs_number", "upn", "child_id") if getattr(query, name)]
    if identifiers:
        details = page.locator("details", has_text=IDENTIFIER_DETAILS)
        if details.get_attribute("open") is None:
            page.get_by_text(IDENTIFIER_DETAILS).click()
    for name, label in LABELS.items():
        value = getattr(query, name)
        if value is not None:
            page.get_by_label(label, exact=True).fill(value)
    if query.date_of_birth is not None:
        parts = [*query.date_of_birth.split("-"), "", ""]
        year, month, day = parts[0], parts[1], parts[2]
        page.get_by_label("Day", exact=True).fill(day.lstrip("0"))
        page.get_by_label("Month", exact=True).fill(month.lstrip("0"))
        page.get_by_label("Year", exact=True).fill(year)
    if query.gender in ("female", "male", "other"):
        page.get_by_label(query.gender.capitalize(), exact=True).check()
    if reason is not None:
        page.locator(f"input[name=reason_code][value={reason}]").check()
    if detail is not None:
        page.get_by_label("Case reference or more detail (optional)").fill(detail)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_load_state("load")

"""A child's record as each role sees it, reached through the search pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from contactpoint.domain.vocabulary import Role
from tests.browser.helpers import LiveServer, Sessions, check_page, new_page, search

WHERE = "Where the child lives"
SERVICES = "Services and practitioners"
LOCAL_AUTHORITY = "Local authority"


@pytest.fixture
def as_role(signed_in: Sessions) -> Iterator[Callable[[Role], Page]]:
    """``as_role(Role.X)``: a page in a browser signed in as that role's demo user."""
    contexts: list[BrowserContext] = []

    def open_as(role: Role) -> Page:
        contexts.append(signed_in.context(role))
        return new_page(contexts[-1])

    yield open_as
    for context in contexts:
        context.close()


def headings(page: Page) -> list[str]:
    return [" ".join(h.split()) for h in page.locator("main h2").all_inner_texts()]


def test_a_practitioner_sees_the_practitioner_view(
    as_role: Callable[[Role], Page], live_server: LiveServer
) -> None:
    child = live_server.crafted["in_area"]
    page = as_role(Role.PRACTITIONER)
    search(page, child.query(), reason="coordinating_services")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{child.given_name} {child.family_name}"
    )
    shown = headings(page)
    assert WHERE in shown
    assert SERVICES in shown
    assert LOCAL_AUTHORITY not in shown
    expect(page.locator("main")).to_contain_text("Leeds Children's Social Care")
    expect(page.get_by_role("button", name="Shield this child")).to_have_count(0)
    check_page(page, "record-practitioner-in-area-child")


def test_the_local_authority_team_sees_everything_for_a_child_of_its_area(
    as_role: Callable[[Role], Page], live_server: LiveServer
) -> None:
    child = live_server.crafted["in_area"]
    page = as_role(Role.LA_ADMIN)
    search(page, child.query(), reason="child_protection_enquiry")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{child.given_name} {child.family_name}"
    )
    shown = headings(page)
    assert WHERE in shown
    assert LOCAL_AUTHORITY in shown
    expect(page.get_by_role("button", name="Shield this child")).to_be_visible()
    check_page(page, "record-la-admin-full")


def test_the_local_authority_team_sees_the_practitioner_view_outside_its_area(
    as_role: Callable[[Role], Page], live_server: LiveServer
) -> None:
    child = next(c for c in live_server.known_children() if c.la_name != "Leeds")
    page = as_role(Role.LA_ADMIN)
    search(page, child.query(), reason="data_quality")
    expect(page.get_by_role("heading", level=1)).to_contain_text(child.family_name)
    assert LOCAL_AUTHORITY not in headings(page)
    check_page(page, "record-la-admin-other-area")


def test_emergency_staff_see_the_minimal_emergency_view(
    as_role: Callable[[Role], Page], live_server: LiveServer
) -> None:
    child = live_server.crafted["in_area"]
    page = as_role(Role.EMERGENCY)
    page.goto("/emergency/search")
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency search")
    check_page(page, "emergency-search")
    search(
        page,
        child.query("given_name", "family_name", "date_of_birth"),
        reason="emergency_care",
        path="/emergency/search",
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{child.given_name} {child.family_name}"
    )
    expect(page.locator(".govuk-warning-text")).to_contain_text("Emergency view")
    shown = headings(page)
    assert WHERE not in shown
    assert SERVICES not in shown
    expect(page.locator("main")).to_contain_text("Child protection plan")
    expect(page.locator("main")).not_to_contain_text(child.postcode or "no postcode")
    check_page(page, "record-emergency")


def test_an_auditor_cannot_search_or_view_children(as_role: Callable[[Role], Page]) -> None:
    page = as_role(Role.AUDITOR)
    for path in ("/search", "/emergency/search"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text("You cannot use this page")
    check_page(page, "record-refused-auditor")

"""Finding a child: enough detail, too little, and no single child."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from contactpoint.domain.vocabulary import Role
from tests.browser.helpers import LiveServer, Query, Sessions, check_page, new_page, search

NO_MATCH_BANNER = ".govuk-notification-banner"
ERROR_SUMMARY = ".govuk-error-summary"


@pytest.fixture
def practitioner(signed_in: Sessions) -> Iterator[Page]:
    context: BrowserContext = signed_in.context(Role.PRACTITIONER)
    yield new_page(context)
    context.close()


def test_the_search_form_is_accessible(practitioner: Page, live_server: LiveServer) -> None:
    practitioner.goto("/search")
    expect(practitioner.get_by_role("heading", level=1)).to_have_text("Find a child")
    expect(practitioner.locator(".app-signed-in-as")).to_contain_text(
        live_server.users[Role.PRACTITIONER].username
    )
    check_page(practitioner, "search")
    practitioner.get_by_text("Search with an NHS number, UPN or ContactPoint ID").click()
    check_page(practitioner, "search-identifiers-open")


def test_full_detail_finds_the_one_child(practitioner: Page, live_server: LiveServer) -> None:
    child = live_server.known_children()[0]
    search(practitioner, child.query(), detail="Case 2026/0147")
    expect(practitioner.get_by_role("heading", level=1)).to_contain_text(child.family_name)
    expect(practitioner.locator("main")).to_contain_text(child.child_id)
    check_page(practitioner, "record-practitioner")


def test_an_identifier_with_the_family_name_finds_the_child(
    practitioner: Page, live_server: LiveServer
) -> None:
    child = next(c for c in live_server.known_children() if c.nhs_number)
    search(practitioner, child.query("nhs_number", "family_name"))
    expect(practitioner.get_by_role("heading", level=1)).to_contain_text(child.family_name)
    expect(practitioner.locator("main")).to_contain_text(child.child_id)


def test_too_little_detail_says_what_to_add(practitioner: Page, live_server: LiveServer) -> None:
    child = live_server.known_children()[1]
    search(practitioner, child.query("family_name", "date_of_birth"))
    summary = practitioner.locator(ERROR_SUMMARY)
    expect(summary).to_contain_text("Not enough detail")
    expect(summary).to_contain_text("given name")
    expect(practitioner).to_have_title("Error: Find a child – ContactPoint")
    # Nothing of the child is shown, and what was typed is kept to add to.
    expect(practitioner.locator("main")).not_to_contain_text(child.child_id)
    expect(practitioner.get_by_label("Family name", exact=True)).to_have_value(child.family_name)
    check_page(practitioner, "search-too-little")


def test_a_search_without_a_reason_is_refused(practitioner: Page, live_server: LiveServer) -> None:
    child = live_server.known_children()[2]
    search(practitioner, child.query(), reason=None)
    expect(practitioner.locator(ERROR_SUMMARY)).to_contain_text("Choose why you are searching")
    expect(practitioner.locator("main")).not_to_contain_text(child.child_id)
    check_page(practitioner, "search-no-reason")


def test_no_child_and_several_children_get_the_same_answer(
    practitioner: Page, live_server: LiveServer
) -> None:
    nobody = Query(
        given_name="Zebedee",
        family_name="Quarrington-Vale",
        date_of_birth="2015-06-30",
        gender="male",
        postcode="SW1A 1AA",
    )
    search(practitioner, nobody)
    banner = practitioner.locator(NO_MATCH_BANNER)
    expect(banner).to_contain_text("No single child")
    no_child = " ".join(banner.inner_text().split())

    # Same-sex twins: family name, date of birth, gender and postcode match both.
    first, second = live_server.crafted["twin_a"], live_server.crafted["twin_b"]
    assert first.child_id != second.child_id
    search(practitioner, first.query("family_name", "date_of_birth", "gender", "postcode"))
    expect(practitioner.locator(NO_MATCH_BANNER)).to_be_visible()
    several = " ".join(practitioner.locator(NO_MATCH_BANNER).inner_text().split())
    assert several == no_child
    for twin in (first, second):
        expect(practitioner.locator("main")).not_to_contain_text(twin.child_id)
    expect(practitioner.locator(".govuk-summary-list")).to_have_count(0)
    check_page(practitioner, "search-no-match")


def test_the_search_page_is_for_searchers_only(signed_in: Sessions) -> None:
    context = signed_in.context(Role.AUDITOR)
    try:
        page = new_page(context)
        page.goto("/search")
        expect(page.get_by_role("heading", level=1)).to_have_text("You cannot use this page")
        check_page(page, "search-refused-auditor")
    finally:
        context.close()

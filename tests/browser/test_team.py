"""The local authority team's work: shielding a child, and resolving the review queue."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from contactpoint.domain.vocabulary import Role
from tests.browser.helpers import (
    KnownChild,
    LiveServer,
    Sessions,
    User,
    check_page,
    new_page,
    search,
    sign_in,
)

WHERE = "Where the child lives"
SHIELDED_WARNING = "This child's record is shielded"


@pytest.fixture
def team(signed_in: Sessions) -> Iterator[Page]:
    context: BrowserContext = signed_in.context(Role.LA_ADMIN)
    yield new_page(context)
    context.close()


@pytest.fixture
def practitioner(signed_in: Sessions) -> Iterator[Page]:
    context: BrowserContext = signed_in.context(Role.PRACTITIONER)
    yield new_page(context)
    context.close()


def headings(page: Page) -> list[str]:
    return [" ".join(h.split()) for h in page.locator("main h2").all_inner_texts()]


def practitioner_finds(page: Page, child: KnownChild) -> None:
    """Search with the names and date of birth: a shielded child is never found by a
    search that gives a postcode (the NHS PDS rule, docs/search.md)."""
    page.goto("/search")
    search(
        page, child.query("given_name", "family_name", "date_of_birth"), reason="education_welfare"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{child.given_name} {child.family_name}"
    )


def test_shielding_a_child_changes_what_a_practitioner_sees(
    team: Page, practitioner: Page, live_server: LiveServer
) -> None:
    child = live_server.crafted["to_shield"]
    school = child.line["services"][0]["organisation"]

    practitioner_finds(practitioner, child)
    assert WHERE in headings(practitioner)
    expect(practitioner.locator("main")).to_contain_text(school)
    expect(practitioner.locator("main")).not_to_contain_text(SHIELDED_WARNING)

    search(team, child.query(), reason="child_protection_enquiry")
    team.get_by_role("button", name="Shield this child").click()
    expect(team.get_by_role("heading", level=1)).to_have_text("Why are you shielding this child?")
    check_page(team, "shield-reason")
    team.get_by_role("button", name="Shield this child").click()
    expect(team.locator(".govuk-error-summary")).to_contain_text(
        "Choose the reason for shielding this child"
    )
    check_page(team, "shield-reason-missing")
    team.get_by_label("Risk of significant harm if the child is found").check()
    team.get_by_role("button", name="Shield this child").click()
    expect(team.locator(".govuk-panel")).to_contain_text("Child shielded")
    expect(team.locator("main")).to_contain_text(child.child_id)
    check_page(team, "shield-done")

    practitioner.goto("/search")
    search(practitioner, child.query(), reason="education_welfare")
    expect(practitioner.locator(".govuk-notification-banner")).to_contain_text("No single child")
    practitioner_finds(practitioner, child)
    expect(practitioner.locator(".govuk-warning-text")).to_contain_text(SHIELDED_WARNING)
    assert WHERE not in headings(practitioner)
    expect(practitioner.locator("main")).not_to_contain_text(school)
    expect(practitioner.locator("main")).not_to_contain_text(child.postcode or "no postcode")
    check_page(practitioner, "record-practitioner-shielded")

    # Lifting the shield gives the practitioner the whole record again.
    team.goto("/search")
    search(team, child.query("given_name", "family_name", "date_of_birth"), reason="data_quality")
    check_page(team, "record-la-admin-shielded")
    team.get_by_role("button", name="Lift the shield").click()
    expect(team.get_by_role("heading", level=1)).to_have_text("Why are you lifting the shield?")
    team.get_by_label("The shield was applied in error").check()
    team.get_by_role("button", name="Lift the shield").click()
    expect(team.locator(".govuk-panel")).to_contain_text("Shield lifted")
    check_page(team, "shield-lifted")

    practitioner_finds(practitioner, child)
    assert WHERE in headings(practitioner)
    expect(practitioner.locator("main")).to_contain_text(school)


def waiting(page: Page) -> int:
    page.goto("/team/review")
    text = page.locator("main").inner_text()
    found = re.search(r"(\d+) records? (?:is|are) waiting for review", text)
    return int(found.group(1)) if found else 0


def test_resolving_a_review_item(team: Page, live_server: LiveServer) -> None:
    held = live_server.open_review_items()
    assert len(held) >= 2, "fewer than two review items (one is crafted: a duplicate registration)"
    before = waiting(team)
    assert before == len(held)
    expect(team.get_by_role("heading", level=1)).to_have_text("Review queue")
    check_page(team, "review-queue")
    reviews = team.locator("main table").get_by_role("link", name=re.compile(r"^Review"))
    expect(reviews).to_have_count(before)
    items = [href for href in (r.get_attribute("href") for r in reviews.all()) if href]

    # The first item that offers a child to link the record to.
    link_button = team.get_by_role("button", name=re.compile(r"^Link to this child"))
    for href in items:
        team.goto(href)
        expect(team.get_by_role("heading", level=1)).to_have_text("Review a record")
        if link_button.count():
            break
    else:
        pytest.fail("no review item offers a child to link the record to")
    item = team.url
    check_page(team, "review-item")

    # Keep the record as a new child; then undo that, and the item is open again.
    team.get_by_role("button", name="Not the same child: keep as a new child").click()
    expect(team.get_by_role("heading", level=1)).to_have_text("Record kept as a separate child")
    check_page(team, "review-change")
    assert len(live_server.open_review_items()) == before - 1
    team.get_by_role("button", name="Undo").click()
    expect(team.get_by_role("heading", level=1)).to_have_text("Change undone")
    check_page(team, "review-change-undone")
    assert waiting(team) == before

    # Link the record to the child it most likely is.
    team.goto(item)
    link_button.first.click()
    expect(team.get_by_role("heading", level=1)).to_have_text("Record linked to a child")
    assert waiting(team) == before - 1
    assert len(live_server.open_review_items()) == before - 1
    team.goto(item)
    expect(team.locator("main")).to_contain_text("This record was linked to a child")


def test_the_team_pages_are_for_the_team_only(practitioner: Page) -> None:
    practitioner.goto("/team/review")
    expect(practitioner.get_by_role("heading", level=1)).to_have_text("You cannot use this page")
    check_page(practitioner, "review-refused-practitioner")


def test_the_team_adds_a_user_who_then_signs_in(
    team: Page, browser: Browser, live_server: LiveServer
) -> None:
    team.goto("/team/users")
    expect(team.get_by_role("heading", level=1)).to_have_text("Users in Leeds")
    check_page(team, "team-users")
    add = team.locator("form[action='/team/users/add']")
    add.get_by_label("Username", exact=True).fill("r.achebe")
    add.get_by_label("Practitioner", exact=True).check()
    add.get_by_label("Organisation", exact=True).fill("Harehills Primary School")
    add.get_by_role("button", name="Add user").click()
    expect(team.locator(".govuk-panel")).to_contain_text("User added")
    check_page(team, "team-user-added")

    def shown(key: str) -> str:
        row = team.locator(".govuk-summary-list__row", has_text=key)
        return row.locator(".govuk-summary-list__value").inner_text().strip()

    added = User(
        username=shown("Username"),
        role=Role.PRACTITIONER,
        secret=shown("Authenticator app key"),
        password=shown("Password"),
    )
    assert added.username == "r.achebe"
    # Shown once: the page cannot be shown again.
    team.reload()
    expect(team.get_by_role("heading", level=1)).to_have_text("There is nothing to show")

    context = browser.new_context(base_url=live_server.base_url)
    try:
        page = new_page(context)
        sign_in(page, live_server, added)
        expect(page.locator(".app-signed-in-as")).to_contain_text("Harehills Primary School")
    finally:
        context.close()


def test_the_pages_for_children_no_feed_covers(team: Page) -> None:
    team.goto("/team/children")
    expect(team.get_by_role("heading", level=1)).to_have_text("Children no feed covers")
    check_page(team, "team-children")
    team.get_by_role("button", name="Create a record").click()
    expect(team).to_have_url(re.compile(r"/team/children/new$"))
    check_page(team, "team-children-new")

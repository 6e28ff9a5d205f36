"""The auditor's pages: searching the audit log, and checking its hash chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from contactpoint.domain.vocabulary import Role
from tests.browser.helpers import LiveServer, Sessions, check_page, new_page, search


@pytest.fixture
def auditor(signed_in: Sessions) -> Iterator[Page]:
    context: BrowserContext = signed_in.context(Role.AUDITOR)
    yield new_page(context)
    context.close()


def test_an_auditor_finds_who_looked_at_a_child(
    auditor: Page, signed_in: Sessions, live_server: LiveServer
) -> None:
    child = live_server.known_children()[3]
    practitioner = signed_in.context(Role.PRACTITIONER)
    try:
        page = new_page(practitioner)
        search(page, child.query(), reason="health_care")
        expect(page.get_by_role("heading", level=1)).to_contain_text(child.family_name)
    finally:
        practitioner.close()

    auditor.goto("/audit")
    expect(auditor.get_by_role("heading", level=1)).to_have_text("Search the audit log")
    check_page(auditor, "audit-search")
    auditor.get_by_label("Child's ContactPoint ID").fill(child.child_id)
    auditor.get_by_role("button", name="Search", exact=True).click()
    results = auditor.locator("main table")
    expect(results).to_be_visible()
    expect(results).to_contain_text(live_server.users[Role.PRACTITIONER].username)
    expect(results).to_contain_text("health_care")
    check_page(auditor, "audit-results")


def test_an_auditor_checks_the_audit_chain(auditor: Page) -> None:
    auditor.goto("/audit/verify")
    expect(auditor.get_by_role("heading", level=1)).to_have_text("Check the audit log")
    auditor.get_by_role("button", name="Check the audit log").click()
    expect(auditor.locator(".govuk-notification-banner")).to_contain_text("The audit log is intact")
    check_page(auditor, "audit-verify")


def test_the_audit_pages_are_for_auditors_only(signed_in: Sessions) -> None:
    context = signed_in.context(Role.LA_ADMIN)
    try:
        page = new_page(context)
        page.goto("/audit")
        expect(page.get_by_role("heading", level=1)).to_have_text("You cannot use this page")
    finally:
        context.close()

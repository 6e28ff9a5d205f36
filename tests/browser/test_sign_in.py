"""Signing in with a password and a TOTP code, and signing out, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from contactpoint.domain.vocabulary import Role
from tests.browser.helpers import (
    SIGN_IN_HOME,
    LiveServer,
    Sessions,
    check_page,
    new_page,
    sign_in,
)

ERROR_SUMMARY = ".govuk-error-summary"


def submit_credentials(page: Page, server: LiveServer, username: str, password: str) -> None:
    page.goto(server.url("/sign-in"))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(server.url("/sign-in/code"))


def submit_code(page: Page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Sign in").click()


def refusal(page: Page) -> str:
    """The error summary's text, once the browser is back on the first sign-in page."""
    summary = page.locator(ERROR_SUMMARY)
    expect(summary).to_be_visible()
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("input[name=code]")).to_have_count(0)
    return " ".join(summary.inner_text().split())


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url("/"))
    expect(page).to_have_url(live_server.url("/sign-in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to ContactPoint")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    check_page(page, "sign-in")


def test_the_sign_in_pages_show_what_is_missing(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/sign-in"))
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(ERROR_SUMMARY)
    expect(summary).to_contain_text("Enter your username")
    expect(summary).to_contain_text("Enter your password")
    expect(page).to_have_title("Error: Sign in – ContactPoint")
    # The summary's links take the keyboard to the field.
    summary.get_by_role("link", name="Enter your username").click()
    expect(page.locator("input[name=username]")).to_be_focused()
    check_page(page, "sign-in-missing-details")

    submit_credentials(page, live_server, "someone", "something")
    check_page(page, "sign-in-code")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(ERROR_SUMMARY)).to_contain_text("Enter the 6-digit code")
    check_page(page, "sign-in-code-missing")


@pytest.mark.parametrize(
    "role",
    [Role.PRACTITIONER, Role.EMERGENCY, Role.LA_ADMIN, Role.AUDITOR, Role.FEED],
    ids=lambda r: r.value,
)
def test_signing_in_with_password_and_code_lands_on_the_roles_start_page(
    page: Page, live_server: LiveServer, role: Role
) -> None:
    user = live_server.add_user(role)
    sign_in(page, live_server, user)
    expect(page).to_have_url(live_server.url(SIGN_IN_HOME[role]))
    expect(page.locator(".app-signed-in-as")).to_contain_text(user.username)
    check_page(page, f"home-{role.value}")
    # Signed in, the start of the service and the sign-in page both send the user on to
    # where their role starts.
    for path in ("/", "/sign-in"):
        page.goto(live_server.url(path))
        expect(page).to_have_url(live_server.url(SIGN_IN_HOME[role]))


def test_the_session_cookies_are_host_only_secure_and_http_only(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    sign_in(page, live_server, live_server.add_user(Role.PRACTITIONER))
    cookies = context.cookies()
    assert cookies, "no cookies after signing in"
    for cookie in cookies:
        assert cookie["name"].startswith("__Host-"), cookie["name"]
        assert cookie["secure"], cookie["name"]
        assert cookie["httpOnly"], cookie["name"]
        assert cookie["sameSite"] == "Strict", cookie["name"]
        assert cookie["path"] == "/", cookie["name"]
    names = {cookie["name"] for cookie in cookies}
    assert "__Host-contactpoint-session" in names
    # The password typed on the first page is gone once the sign-in is finished.
    assert "__Host-contactpoint-sign-in" not in names


def test_a_wrong_code_and_a_wrong_password_get_the_same_answer(
    page: Page, live_server: LiveServer
) -> None:
    wrong_code = live_server.add_user(Role.PRACTITIONER)
    submit_credentials(page, live_server, wrong_code.username, wrong_code.password)
    submit_code(page, wrong_code.wrong_code())
    after_wrong_code = refusal(page)
    check_page(page, "sign-in-refused")

    wrong_password = live_server.add_user(Role.PRACTITIONER)
    submit_credentials(page, live_server, wrong_password.username, "not the password")
    submit_code(page, wrong_password.fresh_code())
    after_wrong_password = refusal(page)

    submit_credentials(page, live_server, "nobody.at.all", "not the password")
    submit_code(page, "123456")
    after_unknown_user = refusal(page)

    assert after_wrong_code == after_wrong_password == after_unknown_user
    lowered = after_wrong_code.lower()
    for hint in ("incorrect password", "wrong password", "wrong code", "code is", "not found"):
        assert hint not in lowered
    # And none of them is signed in.
    page.goto(live_server.url("/"))
    expect(page).to_have_url(live_server.url("/sign-in"))


def test_signing_out_ends_the_session_for_good(
    browser: Browser, page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    user = live_server.add_user(Role.PRACTITIONER)
    sign_in(page, live_server, user)
    signed_in_state = context.storage_state()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url("/signed-out"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You have signed out")
    check_page(page, "signed-out")
    page.goto(live_server.url("/"))
    expect(page).to_have_url(live_server.url("/sign-in"))

    # The old session cookie, replayed from another browser, no longer works.
    replay: BrowserContext = browser.new_context(
        base_url=live_server.base_url, storage_state=signed_in_state
    )
    try:
        other = new_page(replay)
        other.goto(live_server.url(SIGN_IN_HOME[Role.PRACTITIONER]))
        expect(other).to_have_url(re.compile(re.escape(live_server.url("/sign-in")) + r"(\?.*)?$"))
        expect(other.locator("main")).to_contain_text("Your session has ended")
        check_page(other, "sign-in-session-ended")
    finally:
        replay.close()


def test_a_signed_in_demo_user_is_reused_without_signing_in_again(
    live_server: LiveServer, signed_in: Sessions
) -> None:
    """The session-wide signed-in contexts other tests use work (and sign in only once)."""
    for _ in range(2):
        context = signed_in.context(Role.PRACTITIONER)
        try:
            page = new_page(context)
            page.goto(live_server.url("/"))
            expect(page).to_have_url(live_server.url(SIGN_IN_HOME[Role.PRACTITIONER]))
        finally:
            context.close()

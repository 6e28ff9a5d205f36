"""The page checks themselves: a check that cannot fail proves nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route

from tests.browser.helpers import LiveServer, check_page

BAD_PAGE = """<!doctype html><html><head><title>t</title></head><body><main>
<img src="/x.png"><form><input type="text" name="q"></form>
<a href="/elsewhere"></a></main></body></html>"""
CSP_PAGE = """<!doctype html><html lang="en"><head><title>Harness</title></head><body><main>
<h1>Harness</h1><script>document.title = "ran";</script></main></body></html>"""


def serve(page: Page, url: str, body: str, headers: dict[str, str] | None = None) -> None:
    def fulfil(route: Route) -> None:
        route.fulfill(
            status=200, body=body, headers={"Content-Type": "text/html", **(headers or {})}
        )

    page.route(url, fulfil)
    page.goto(url)


def test_axe_reports_serious_violations(page: Page, live_server: LiveServer) -> None:
    serve(page, live_server.url("/harness/inaccessible"), BAD_PAGE)
    with pytest.raises(AssertionError) as failure:
        check_page(page, "harness-inaccessible")
    message = str(failure.value)
    for rule in ("image-alt", "label", "link-name", "html-has-lang"):
        assert rule in message


def test_a_script_the_csp_refuses_fails_the_check(page: Page, live_server: LiveServer) -> None:
    serve(
        page,
        live_server.url("/harness/csp"),
        CSP_PAGE,
        {"Content-Security-Policy": "default-src 'none'; script-src 'self'"},
    )
    assert page.title() == "Harness"
    with pytest.raises(AssertionError, match="CSP"):
        check_page(page, "harness-csp")


def test_markup_shown_as_text_fails_the_check(page: Page, live_server: LiveServer) -> None:
    serve(
        page,
        live_server.url("/harness/escaped"),
        """<!doctype html><html lang="en"><head><title>Harness</title></head><body><main>
<h1>Harness</h1><p>&lt;p class="govuk-body"&gt;Escaped twice&lt;/p&gt;</p></main></body></html>""",
    )
    with pytest.raises(AssertionError, match="HTML shown as text"):
        check_page(page, "harness-escaped")

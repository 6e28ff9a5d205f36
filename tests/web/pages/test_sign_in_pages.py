"""Signing in through the pages: two steps, one verdict, the API's lockout and audit."""

from __future__ import annotations

import re
from datetime import timedelta

from contactpoint.domain.vocabulary import Role
from contactpoint.web.pages import cookies
from tests.web.conftest import Api
from tests.web.pages.conftest import Pages, csrf_token


def _without_per_response_values(html: str) -> str:
    """The page without its CSP nonce and CSRF token, which differ on every answer."""
    return re.sub(r'nonce="[^"]+"', "", html.replace(csrf_token(html), ""))


def _password_step(pages: Pages, username: str, password: str):  # type: ignore[no-untyped-def]
    client = pages.client()
    start = client.get("/sign-in")
    client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(start.text), "username": username, "password": password},
    )
    return client, client.get("/sign-in/code")


def test_signing_in_lands_each_role_on_its_home(pages: Pages) -> None:
    homes = {
        Role.PRACTITIONER: "/search",
        Role.LA_ADMIN: "/search",
        Role.EMERGENCY: "/emergency/search",
        Role.AUDITOR: "/audit",
        Role.FEED: "/feeds",
    }
    for role, home in homes.items():
        client = pages.sign_in(role)
        answer = client.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == home


def test_session_cookie_is_secure_host_only_http_only_and_strict(api: Api, pages: Pages) -> None:
    account = api.add("c.cookie", Role.PRACTITIONER)
    client, code_page = _password_step(pages, account.username, account.password)
    answer = client.post(
        "/sign-in/code", data={"csrf_token": csrf_token(code_page.text), "code": api.code(account)}
    )
    set_cookie = next(
        v for v in answer.headers.get_list("set-cookie") if v.startswith("__Host-contactpoint-s")
    )
    lowered = set_cookie.lower()
    assert "secure" in lowered
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/" in lowered
    assert "domain=" not in lowered


def test_a_wrong_password_and_a_wrong_code_get_the_same_page(api: Api, pages: Pages) -> None:
    account = api.add("c.same", Role.PRACTITIONER)
    bodies = []
    for password, code in ((account.password, "000000"), ("not the password", api.code(account))):
        client, code_page = _password_step(pages, account.username, password)
        assert code_page.status_code == 200
        answer = client.post(
            "/sign-in/code", data={"csrf_token": csrf_token(code_page.text), "code": code}
        )
        assert answer.status_code == 400
        bodies.append(_without_per_response_values(answer.text))
        assert not any(c.startswith("__Host-contactpoint-session") for c in client.cookies)
    unknown, code_page = _password_step(pages, "nobody.here", "whatever it is")
    answer = unknown.post(
        "/sign-in/code", data={"csrf_token": csrf_token(code_page.text), "code": "123456"}
    )
    bodies.append(_without_per_response_values(answer.text))
    assert bodies[0] == bodies[1] == bodies[2]
    assert "did not work" in bodies[0]
    assert len(api.audit("auth.sign_in")) == 3


def test_the_password_page_checks_nothing_so_it_cannot_be_used_to_guess(
    api: Api, pages: Pages
) -> None:
    account = api.add("c.guess", Role.PRACTITIONER)
    _, right_code = _password_step(pages, account.username, account.password)
    _, wrong_code = _password_step(pages, account.username, "a wrong guess")
    assert right_code.status_code == wrong_code.status_code == 200
    assert api.audit("auth.sign_in") == []


def test_six_failures_lock_the_account_through_the_pages_too(api: Api, pages: Pages) -> None:
    account = api.add("c.locked", Role.PRACTITIONER)
    for _ in range(6):
        client, code_page = _password_step(pages, account.username, "wrong password")
        client.post("/sign-in/code", data={"csrf_token": csrf_token(code_page.text), "code": "1"})
    client, code_page = _password_step(pages, account.username, account.password)
    answer = client.post(
        "/sign-in/code", data={"csrf_token": csrf_token(code_page.text), "code": api.code(account)}
    )
    assert answer.status_code == 400
    assert api.audit("auth.sign_in")[-1]["outcome"] != "ok"


def test_a_form_without_its_csrf_token_is_refused(pages: Pages) -> None:
    client = pages.client()
    client.get("/sign-in")
    answer = client.post("/sign-in", data={"username": "a", "password": "b"})
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    forged = client.post("/sign-in", data={"csrf_token": "0" * 64, "username": "a"})
    assert forged.status_code == 403


def test_a_csrf_token_from_before_sign_in_does_not_work_after_it(pages: Pages) -> None:
    client = pages.client()
    before = csrf_token(client.get("/sign-in").text)
    signed_in = pages.sign_in(Role.PRACTITIONER)
    signed_in.cookies.set(
        "__Host-contactpoint-csrf", client.cookies["__Host-contactpoint-csrf"], "testserver"
    )
    answer = signed_in.post("/search", data={"csrf_token": before, "reason_code": "assessment"})
    assert answer.status_code == 403


def test_the_sign_in_in_progress_expires_after_five_minutes(api: Api, pages: Pages) -> None:
    account = api.add("c.slow", Role.PRACTITIONER)
    client, code_page = _password_step(pages, account.username, account.password)
    api.clock.advance(cookies.PENDING_LIFETIME + timedelta(seconds=1))
    answer = client.post(
        "/sign-in/code", data={"csrf_token": csrf_token(code_page.text), "code": api.code(account)}
    )
    assert answer.status_code == 400
    assert "Start again" in answer.text
    assert api.audit("auth.sign_in") == []


def test_the_sealed_sign_in_cookie_holds_no_readable_password(api: Api, pages: Pages) -> None:
    account = api.add("c.sealed", Role.PRACTITIONER)
    client, _ = _password_step(pages, account.username, account.password)
    sealed = client.cookies["__Host-contactpoint-sign-in"]
    assert account.password not in sealed
    assert account.username not in sealed
    client.cookies.set("__Host-contactpoint-sign-in", sealed[:-4] + "AAAA")
    assert "Start again" in client.get("/sign-in/code").text


def test_signing_out_revokes_the_session_at_once(api: Api, pages: Pages) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    page = client.get("/search")
    kept = dict(client.cookies)
    out = client.post("/sign-out", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/signed-out"
    for name, value in kept.items():
        client.cookies.set(name, value)
    again = client.get("/search")
    assert again.status_code == 303
    assert again.headers["location"] == "/sign-in?timeout=true"
    assert api.audit("auth.revoke")


def test_an_expired_session_says_why_it_ended(api: Api, pages: Pages) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    api.clock.advance(api.runtime.settings.api_token_lifetime + timedelta(seconds=1))
    answer = client.get("/search")
    assert answer.headers["location"] == "/sign-in?timeout=true"
    notice = client.get("/sign-in?timeout=true")
    assert "Your session has ended: sessions last 15 minutes" in notice.text


def test_a_role_without_the_page_sees_what_to_do(pages: Pages) -> None:
    client = pages.sign_in(Role.AUDITOR)
    answer = client.get("/search")
    assert answer.status_code == 403
    assert "Your role does not allow it" in answer.text


def test_unknown_pages_are_pages_and_api_errors_stay_json(pages: Pages) -> None:
    client = pages.client()
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "<title>Page not found – ContactPoint</title>" in page.text
    api_answer = client.get("/api/v1/no-such-thing")
    assert api_answer.status_code == 404
    assert api_answer.headers["content-type"] == "application/json"

"""Signing a browser-like TestClient in through the pages, for any role.

``pages.sign_in(Role.LA_ADMIN)`` makes a user with that role and goes through
the real sign-in pages (password, then the TOTP code) in a fresh client, so a
page test runs with the same session and CSRF cookies a browser would hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import count

import httpx
import pytest
from fastapi.testclient import TestClient

from contactpoint.domain.vocabulary import Role
from tests.web.conftest import Api

BASE_URL = "https://testserver"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token in the first form of a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Pages:
    """Signed-in page clients over the ``api`` fixture's app and databases."""

    api: Api
    clients: list[TestClient] = field(default_factory=list)
    _numbers: Iterator[int] = field(default_factory=lambda: count(1))

    def client(self) -> TestClient:
        """A fresh, signed-out client that keeps cookies like a browser."""
        client = TestClient(
            self.api.app, base_url=BASE_URL, client=("192.0.2.20", 50000), follow_redirects=False
        )
        self.clients.append(client)
        return client

    def sign_in(
        self, role: Role, username: str | None = None, area: str | None = None
    ) -> TestClient:
        """A new user with ``role``, signed in through the pages."""
        name = username or f"{role.value.replace('_', '.')}.{next(self._numbers)}"
        account = self.api.add(name, role, area=area)
        client = self.client()
        start = client.get("/sign-in")
        assert start.status_code == 200, start.text
        password = client.post(
            "/sign-in",
            data={
                "csrf_token": csrf_token(start.text),
                "username": account.username,
                "password": account.password,
            },
        )
        assert password.status_code == 303, password.text
        assert password.headers["location"] == "/sign-in/code"
        code_page = client.get("/sign-in/code")
        assert code_page.status_code == 200, code_page.text
        signed_in = client.post(
            "/sign-in/code",
            data={"csrf_token": csrf_token(code_page.text), "code": self.api.code(account)},
        )
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/"
        self.api.next_step()
        return client

    def submit(
        self, client: TestClient, page: str, action: str, data: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """Post a form as the browser would: with the CSRF token from ``page``'s HTML."""
        return client.post(action, data={"csrf_token": csrf_token(page), **(data or {})})


@pytest.fixture
def pages(api: Api) -> Iterator[Pages]:
    helper = Pages(api)
    yield helper
    for client in helper.clients:
        client.close()

"""The team's user management pages over real SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from contactpoint.domain.vocabulary import Role
from contactpoint.store.tables import User
from tests.web.conftest import WHOAMI, Account, Api
from tests.web.pages.conftest import Pages, csrf_token

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
URL = re.compile(r'(?:href|action|formaction)="([^"]*)"')
CODE = re.compile(r"<code>([^<]+)</code>")


@pytest.fixture
def admin(pages: Pages) -> TestClient:
    return pages.sign_in(Role.LA_ADMIN, username="leeds.admin")


def post(client: TestClient, action: str, **data: str) -> httpx.Response:
    page = client.get("/team/users")
    assert page.status_code == 200, page.text
    return client.post(action, data={"csrf_token": csrf_token(page.text), **data})


def user(api: Api, username: str) -> User:
    with api.sessions() as session:
        found = session.execute(select(User).where(User.username == username)).scalar_one()
        session.expunge(found)
        return found


def add(client: TestClient, **changes: str) -> httpx.Response:
    return post(
        client,
        "/team/users/add",
        **{
            "username": "r.okafor",
            "role": "practitioner",
            "organisation": "Leeds Children's Social Care",
            **changes,
        },
    )


def secrets_shown(page: httpx.Response) -> list[str]:
    return [html.unescape(code) for code in CODE.findall(page.text)]


# --- the list ---------------------------------------------------------------------------


def test_the_list_shows_the_areas_users_only(api: Api, admin: TestClient) -> None:
    api.add("leeds.nurse", Role.PRACTITIONER, area="Leeds")
    api.add("bristol.nurse", Role.PRACTITIONER, area="Bristol")
    api.add("no.area", Role.PRACTITIONER)
    with api.sessions.begin() as session:
        session.execute(
            User.__table__.update().where(User.username == "leeds.nurse").values(disabled=True)
        )
    page = admin.get("/team/users")
    assert page.status_code == 200
    assert "<title>Users – ContactPoint</title>" in page.text
    assert "Users in Leeds" in page.text
    assert "leeds.nurse" in page.text
    assert "leeds.admin" in page.text
    assert "Leeds Park Primary School" in page.text
    assert "Disabled" in page.text
    assert "bristol.nurse" not in page.text
    assert "no.area" not in page.text


def test_a_practitioner_is_refused_every_page_and_action(api: Api, pages: Pages) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    api.add("leeds.nurse", Role.PRACTITIONER, area="Leeds")
    for path in ("/team/users", "/team/users/added", "/team/users/code-reset"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client.get("/search").text)
    for path in ("/team/users/add", "/team/users/disable", "/team/users/reset-totp"):
        refused = client.post(
            path,
            data={
                "csrf_token": token,
                "username": "leeds.nurse",
                "role": "practitioner",
                "organisation": "X",
                "confirmed": "yes",
            },
        )
        assert refused.status_code == 403, path
    assert not user(api, "leeds.nurse").disabled
    assert not api.audit("user.disable")
    assert not api.audit("user.reset_totp")


# --- adding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message", "anchor"),
    [
        ({"username": ""}, "Enter a username", "#username"),
        ({"username": "R Okafor!"}, "Enter a username of 3 to 64 characters", "#username"),
        ({"username": "leeds.admin"}, "There is already a user with that username", "#username"),
        ({"role": ""}, "Select the user&#39;s role", "#role"),
        ({"role": "auditor"}, "ask your ContactPoint operator for auditor", "#role"),
        ({"role": "feed"}, "ask your ContactPoint operator for auditor", "#role"),
        ({"organisation": ""}, "Enter the user&#39;s organisation", "#organisation"),
        ({"organisation": "x" * 201}, "200 characters or fewer", "#organisation"),
    ],
)
def test_adding_says_what_to_fix(
    api: Api, admin: TestClient, changes: dict[str, str], message: str, anchor: str
) -> None:
    answer = add(admin, **changes)
    assert answer.status_code == 400
    assert "<title>Error: Users – ContactPoint</title>" in answer.text
    assert message in answer.text
    assert f'href="{anchor}"' in answer.text
    with api.sessions() as session:
        assert session.execute(select(User).where(User.username == "r.okafor")).first() is None
    assert [e["details"]["username"] for e in api.audit("user.add")] == ["leeds.admin"]


def test_an_added_user_gets_a_password_and_code_shown_once_and_can_sign_in(
    api: Api, admin: TestClient
) -> None:
    answer = add(admin, area="Bristol", role="la_admin")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/team/users/added"
    shown = admin.get("/team/users/added")
    assert shown.status_code == 200
    assert "<title>User added – ContactPoint</title>" in shown.text
    password, secret, uri = secrets_shown(shown)
    assert uri.startswith("otpauth://totp/ContactPoint:r.okafor?")
    assert parse_qs(urlparse(uri).query)["secret"] == [secret]

    again = admin.get("/team/users/added")
    assert "There is nothing to show" in again.text
    assert password not in again.text
    assert secret not in again.text

    created = user(api, "r.okafor")
    assert created.area == "Leeds", "the area is always the administrator's"
    assert created.role == "la_admin"
    assert created.organisation == "Leeds Children's Social Care"
    entry = api.audit("user.add")[-1]
    assert entry["actor"] == "leeds.admin"
    assert entry["details"]["area"] == "Leeds"
    assert password not in entry["raw"]
    assert secret not in entry["raw"]

    api.next_step()
    signed_in = api.sign_in(Account("r.okafor", secret, password))
    assert signed_in.status_code == 200, signed_in.text
    listing = admin.get("/team/users")
    assert "r.okafor" in listing.text


# --- disabling --------------------------------------------------------------------------


def test_disabling_asks_first_then_disables_and_is_audited(api: Api, admin: TestClient) -> None:
    nurse = api.add("leeds.nurse", Role.PRACTITIONER, area="Leeds")
    token = api.token(nurse)
    asked = post(admin, "/team/users/disable", username="leeds.nurse")
    assert asked.status_code == 200
    assert "Disable leeds.nurse?" in asked.text
    assert "<title>Disable a user – ContactPoint</title>" in asked.text
    assert not user(api, "leeds.nurse").disabled

    done = admin.post(
        "/team/users/disable",
        data={"csrf_token": csrf_token(asked.text), "username": "leeds.nurse", "confirmed": "yes"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/team/users"
    listing = admin.get("/team/users")
    assert "leeds.nurse can no longer sign in" in listing.text
    assert "leeds.nurse can no longer sign in" not in admin.get("/team/users").text
    assert user(api, "leeds.nurse").disabled
    assert api.get(WHOAMI, token).status_code == 401
    (entry,) = api.audit("user.disable")
    assert entry["outcome"] == "ok"
    assert entry["actor"] == "leeds.admin"
    assert entry["details"]["tokens_revoked"] == 1


@pytest.mark.parametrize(
    ("area", "status", "message"),
    [
        ("Bristol", 403, "That user belongs to another area"),
        (None, 303, None),
    ],
)
def test_disabling_keeps_to_the_area_and_unattached_users(
    api: Api, admin: TestClient, area: str | None, status: int, message: str | None
) -> None:
    api.add("other.nurse", Role.PRACTITIONER, area=area)
    answer = post(admin, "/team/users/disable", username="other.nurse", confirmed="yes")
    assert answer.status_code == status
    if message is not None:
        assert message in answer.text
        assert 'href="#account_username"' in answer.text
    assert user(api, "other.nurse").disabled is (area is None)
    (entry,) = api.audit("user.disable")
    assert entry["outcome"] == ("refused" if area else "ok")


def test_disabling_an_unknown_user_says_so(api: Api, admin: TestClient) -> None:
    answer = post(admin, "/team/users/disable", username="nobody.here", confirmed="yes")
    assert answer.status_code == 404
    assert "There is no user with that username" in answer.text
    assert post(admin, "/team/users/disable", username="").status_code == 400


# --- resetting the second factor ---------------------------------------------------------


def test_a_reset_code_replaces_the_old_one_for_sign_in(api: Api, admin: TestClient) -> None:
    nurse = api.add("leeds.nurse", Role.PRACTITIONER, area="Leeds")
    token = api.token(nurse)
    asked = post(admin, "/team/users/reset-totp", username="leeds.nurse")
    assert asked.status_code == 200
    assert "Reset the code for leeds.nurse?" in asked.text
    before = user(api, "leeds.nurse").totp_secret_enc

    answer = admin.post(
        "/team/users/reset-totp",
        data={"csrf_token": csrf_token(asked.text), "username": "leeds.nurse", "confirmed": "yes"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/team/users/code-reset"
    shown = admin.get("/team/users/code-reset")
    assert "<title>Code reset – ContactPoint</title>" in shown.text
    secret, uri = secrets_shown(shown)
    assert parse_qs(urlparse(uri).query)["secret"] == [secret]
    assert secret != nurse.secret
    assert "There is nothing to show" in admin.get("/team/users/code-reset").text

    assert user(api, "leeds.nurse").totp_secret_enc != before
    assert secret.encode() not in user(api, "leeds.nurse").totp_secret_enc
    assert api.get(WHOAMI, token).status_code == 401, "their sessions ended"
    api.next_step()
    assert api.sign_in(nurse).status_code == 401, "the old code no longer works"
    api.next_step()
    assert api.sign_in(Account("leeds.nurse", secret)).status_code == 200
    (entry,) = api.audit("user.reset_totp")
    assert entry["outcome"] == "ok"
    assert entry["actor"] == "leeds.admin"
    assert entry["details"]["username"] == "leeds.nurse"
    assert entry["details"]["tokens_revoked"] == 1
    assert secret not in entry["raw"]
    api.assert_audit_chain_intact()


@pytest.mark.parametrize(
    ("username", "area", "status", "message"),
    [
        ("bristol.nurse", "Bristol", 403, "only for users of your own area"),
        ("no.area", None, 403, "only for users of your own area"),
        ("leeds.admin", "Leeds", 403, "You cannot reset your own code here"),
        ("nobody.here", "Leeds", 404, "There is no user with that username"),
    ],
)
def test_a_reset_is_refused_outside_the_area_and_for_oneself(
    api: Api, admin: TestClient, username: str, area: str | None, status: int, message: str
) -> None:
    if username not in ("leeds.admin", "nobody.here"):
        api.add(username, Role.PRACTITIONER, area=area)
    before = None if username == "nobody.here" else user(api, username).totp_secret_enc
    answer = post(admin, "/team/users/reset-totp", username=username, confirmed="yes")
    assert answer.status_code == status
    assert message in answer.text
    assert "<code>" not in answer.text
    if before is not None:
        assert user(api, username).totp_secret_enc == before
    (entry,) = api.audit("user.reset_totp")
    assert entry["outcome"] == "refused"


def test_no_username_in_any_url_or_title(api: Api, admin: TestClient) -> None:
    api.add("leeds.nurse", Role.PRACTITIONER, area="Leeds")
    added = add(admin)
    responses = [
        admin.get("/team/users"),
        add(admin, username=""),
        added,
        admin.get("/team/users/added"),
        post(admin, "/team/users/reset-totp", username="leeds.nurse"),
        post(admin, "/team/users/reset-totp", username="leeds.nurse", confirmed="yes"),
        admin.get("/team/users/code-reset"),
        post(admin, "/team/users/disable", username="leeds.nurse"),
        post(admin, "/team/users/disable", username="leeds.nurse", confirmed="yes"),
    ]
    checked = 0
    for response in responses:
        urls = [html.unescape(u) for u in URL.findall(response.text)]
        urls.append(response.headers.get("location", ""))
        title = TITLE.search(response.text)
        for text in [*urls, title.group(1) if title else ""]:
            checked += 1
            for word in ("leeds.nurse", "r.okafor", "leeds.admin"):
                assert word not in text, (word, text)
    assert checked

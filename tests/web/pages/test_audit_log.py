"""The auditor's pages: searching the audit log and checking its chain, both audited."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from starlette.datastructures import FormData

from contactpoint.audit.trail import Actor, record
from contactpoint.domain.contactpoint_id import new_contactpoint_id
from contactpoint.domain.vocabulary import Role
from contactpoint.services.audit_search import PAGE_SIZE
from contactpoint.web.pages.audit_log import SearchForm, detail_lines
from contactpoint.web.pages.sign_in import HOME
from tests.web.conftest import Api
from tests.web.pages.conftest import Pages, csrf_token

_ROW = re.compile(r'<th scope="row" class="govuk-table__header">(\d+)</th>')
_ATTRIBUTES = re.compile(r'(?:href|action|src|formaction)="([^"]*)"')
_FORMS = re.compile(r"<form\b(.*?)</form>", re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ERRORS = re.compile(r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', re.S)


def seed(
    api: Api,
    *,
    actor: str = "pat.practitioner",
    child_id: str | None = None,
    action: str = "child.view",
    times: int = 1,
    step: timedelta = timedelta(minutes=1),
    details: dict[str, object] | None = None,
) -> list[int]:
    """Entries written as the service writes them, the clock moving on after each."""
    written = []
    with api.sessions.begin() as session:
        for _ in range(times):
            written.append(
                record(
                    session,
                    key=api.runtime.keyring.audit_key,
                    clock=api.clock,
                    actor=Actor(actor, "practitioner", "Leeds Park Primary School"),
                    action=action,
                    outcome="shown",
                    child_id=child_id,
                    reason_code="assessment",
                    details=details if details is not None else {"view": "practitioner"},
                )
            )
            api.clock.advance(step)
    return written


def audit_search(client: TestClient, fields: dict[str, str]) -> httpx.Response:
    page = client.get("/audit")
    assert page.status_code == 200, page.text
    return client.post("/audit/search", data={"csrf_token": csrf_token(page.text), **fields})


def rows(page: str) -> list[int]:
    return [int(seq) for seq in _ROW.findall(page)]


def errors(page: str) -> str:
    found = _ERRORS.search(page)
    assert found is not None, "no error summary"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def title(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    assert found is not None
    return " ".join(found.group(1).split())


def older_form(page: str) -> dict[str, str] | None:
    """The fields of the "Show older entries" form, as the browser would post them."""
    for form in _FORMS.findall(page):
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}
        if "before_seq" in fields:
            assert 'action="/audit/search"' in form
            assert 'method="post"' in form
            return fields
    return None


def assert_no_id_in_urls(response: httpx.Response, child_id: str) -> None:
    compact = child_id.replace("-", "").lower()
    places = [str(response.request.url), response.headers.get("location", "")]
    places += _ATTRIBUTES.findall(response.text)
    for place in places:
        flat = place.replace("-", "").lower()
        assert compact not in flat, place
    if response.text:
        assert child_id not in title(response.text)


@pytest.fixture
def auditor(pages: Pages) -> TestClient:
    return pages.sign_in(Role.AUDITOR, username="audrey.auditor")


def test_search_by_user_shows_their_entries_newest_first(api: Api, auditor: TestClient) -> None:
    child = new_contactpoint_id()
    theirs = seed(api, actor="pat.one", child_id=child, times=3)
    seed(api, actor="pat.two", child_id=child, times=2)

    answer = audit_search(auditor, {"user": "pat.one"})

    assert answer.status_code == 200, answer.text
    assert rows(answer.text) == sorted(theirs, reverse=True)
    assert "3 entries" in answer.text
    assert "pat.two" not in answer.text
    assert child in answer.text, "the child's ID is shown as text"
    assert "view: practitioner" in answer.text, "details are shown as key: value"
    assert "Leeds Park Primary School" in answer.text
    assert "24 Nov 2026, 12:0" in answer.text
    assert "GMT" in answer.text
    assert 'href="/children' not in answer.text, "no link from the log to a child"
    assert_no_id_in_urls(answer, child)
    assert title(answer.text) == "Search the audit log – ContactPoint"
    assert answer.headers["cache-control"] == "no-store"


def test_search_by_child_is_audited_against_the_child(api: Api, auditor: TestClient) -> None:
    child, other = new_contactpoint_id(), new_contactpoint_id()
    theirs = seed(api, actor="pat.one", child_id=child, times=2)
    seed(api, actor="pat.one", child_id=other, times=2)
    typed = child.replace("-", " ").lower()

    answer = audit_search(auditor, {"child_id": typed})

    assert answer.status_code == 200, answer.text
    assert rows(answer.text) == sorted(theirs, reverse=True)
    assert other not in answer.text
    (entry,) = api.audit("audit.search")
    assert entry["actor"] == "audrey.auditor"
    assert entry["role"] == "auditor"
    assert entry["details"]["criteria"] == {}
    assert entry["details"]["shown"] == 2
    assert child not in entry["raw"], "the child is the entry's child_id, not a detail"
    again = audit_search(auditor, {"child_id": child})
    assert rows(again.text)[0] > max(theirs), "the first search is in the child's history"
    assert "audit.search" in again.text


def test_search_by_time_range_in_uk_time(api: Api, pages: Pages) -> None:
    api.clock.advance(datetime(2026, 11, 25, 9, 0, tzinfo=UTC) - api.clock.now())  # GMT
    at_nine, at_half_past, at_ten = seed(
        api, actor="early.bird", times=3, step=timedelta(minutes=30)
    )
    auditor = pages.sign_in(Role.AUDITOR)  # at 10:30, after its session would have ended
    day = {"from-day": "25", "from-month": "11", "from-year": "2026"}
    to_day = {"to-day": "25", "to-month": "11", "to-year": "2026"}

    window = audit_search(auditor, {**day, "from-time": "09:15", **to_day, "to-time": "09:59"})
    assert window.status_code == 200, window.text
    assert rows(window.text) == [at_half_past]

    until_ten = audit_search(auditor, {**day, **to_day, "to-time": "10:00"})
    assert rows(until_ten.text) == [at_ten, at_half_past, at_nine], "to includes its minute"

    whole_day = audit_search(auditor, {**day, **to_day, "action": "child.view"})
    assert rows(whole_day.text) == [at_ten, at_half_past, at_nine]
    criteria = api.audit("audit.search")[0]["details"]["criteria"]
    assert criteria == {"from": "2026-11-25T09:15:00+00:00", "to": "2026-11-25T10:00:00+00:00"}


def test_uk_summer_time_is_converted_to_utc() -> None:
    form = SearchForm.read(
        FormData(
            {
                "from-day": "1",
                "from-month": "7",
                "from-year": "2026",
                "from-time": "0930",
                "to-day": "1",
                "to-month": "7",
                "to-year": "2026",
            }
        )
    )
    query = form.query()
    assert query is not None, form.errors
    assert query.start == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    assert query.end == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)


def test_a_search_with_nothing_to_search_by_says_what_to_enter(
    api: Api, auditor: TestClient
) -> None:
    answer = audit_search(auditor, {"action": "child.view", "outcome": "shown"})

    assert answer.status_code == 400
    assert errors(answer.text) == (
        "Enter a username, a child's ContactPoint ID, or a date to search from or to"
    )
    assert 'href="#user"' in answer.text
    assert title(answer.text) == "Error: Search the audit log – ContactPoint"
    assert 'value="child.view" selected' in answer.text, "what was chosen is kept"
    assert api.audit("audit.search") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"child_id": "7K2M-QX9D-4TB5"}, "Enter the ContactPoint ID as it is written"),
        ({"from-day": "31", "from-month": "2", "from-year": "2026"}, "must be a real date"),
        ({"from-day": "3", "from-year": "2026"}, "The from date must include a month"),
        ({"to-time": "17:00"}, "Enter a to date as well as a time"),
        (
            {"from-day": "3", "from-month": "2", "from-year": "2026", "from-time": "25:00"},
            "Enter the from time on the 24-hour clock",
        ),
        (
            {
                **{"from-day": "3", "from-month": "2", "from-year": "2026"},
                **{"to-day": "2", "to-month": "2", "to-year": "2026"},
            },
            "The to date and time must be after the from date and time",
        ),
        ({"user": "pat.one", "action": "drop.tables"}, "Select an action from the list"),
    ],
)
def test_a_wrong_field_is_named(
    api: Api, auditor: TestClient, fields: dict[str, str], message: str
) -> None:
    answer = audit_search(auditor, fields)

    assert answer.status_code == 400
    assert message in errors(answer.text)
    assert api.audit("audit.search") == []


def test_paging_shows_the_latest_200_then_older_ones(api: Api, auditor: TestClient) -> None:
    child = new_contactpoint_id()
    seqs = seed(api, actor="busy.user", child_id=child, times=PAGE_SIZE + 5, step=timedelta(0))

    first = audit_search(auditor, {"user": "busy.user", "child_id": child})
    assert first.status_code == 200, first.text
    assert rows(first.text) == sorted(seqs, reverse=True)[:PAGE_SIZE]
    assert "Showing the latest 200 entries" in first.text
    assert "Narrow the search" in first.text
    fields = older_form(first.text)
    assert fields is not None
    assert fields["child_id"] == child, "the criteria go in the form's body"
    assert_no_id_in_urls(first, child)

    older = auditor.post("/audit/search", data=fields)
    assert older.status_code == 200, older.text
    assert rows(older.text) == sorted(seqs, reverse=True)[PAGE_SIZE:]
    assert "Older entries" in older.text
    assert older_form(older.text) is None
    assert_no_id_in_urls(older, child)
    logged = api.audit("audit.search")
    assert [entry["details"]["more"] for entry in logged] == [True, False]
    assert logged[1]["details"]["before_seq"] == rows(first.text)[-1]


def test_no_contactpoint_id_in_any_url(api: Api, auditor: TestClient) -> None:
    child = new_contactpoint_id()
    seed(api, actor="pat.one", child_id=child, times=2)

    responses = [auditor.get("/audit"), audit_search(auditor, {"child_id": child})]
    responses.append(audit_search(auditor, {"child_id": child + "X"}))
    responses.append(auditor.get("/audit/search"))

    for response in responses:
        assert_no_id_in_urls(response, child)
    assert responses[-1].status_code == 303
    assert responses[-1].headers["location"] == "/audit"


def test_long_details_are_cut_short_with_the_whole_on_request() -> None:
    children = [new_contactpoint_id() for _ in range(10)]
    lines, cut = detail_lines('{"children":' + str(children).replace("'", '"') + ',"n":10}')
    assert cut
    assert [line.key for line in lines] == ["children", "n"]
    assert lines[0].short.endswith("…")
    assert len(lines[0].short) == 80
    assert lines[0].full == ", ".join(children)
    assert detail_lines('{"n":1}') == ([detail_lines('{"n":1}')[0][0]], False)


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.LA_ADMIN, Role.EMERGENCY, Role.FEED])
def test_other_roles_are_refused(api: Api, pages: Pages, role: Role) -> None:
    client = pages.sign_in(role)
    seed(api, actor="pat.one")

    for path in ("/audit", "/audit/verify"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "You cannot use this page" in page.text
    token = csrf_token(client.get(HOME[role]).text)
    searched = client.post("/audit/search", data={"csrf_token": token, "user": "pat.one"})
    checked = client.post("/audit/verify", data={"csrf_token": token})

    assert searched.status_code == checked.status_code == 403
    assert "pat.one" not in searched.text
    assert api.audit("audit.search") == api.audit("audit.verify") == []
    assert api.audit("auth.role_refused")


def test_signed_out_goes_to_sign_in(pages: Pages) -> None:
    client = pages.client()
    answer = client.get("/audit")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in"


def test_a_post_without_the_form_token_is_refused(api: Api, auditor: TestClient) -> None:
    answer = auditor.post("/audit/search", data={"user": "pat.one"})
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    assert api.audit("audit.search") == []


def test_verify_says_intact_on_a_fresh_log_and_is_audited(api: Api, auditor: TestClient) -> None:
    explained = auditor.get("/audit/verify")
    assert explained.status_code == 200
    assert "Check the audit log" in explained.text
    assert "contactpoint audit verify" in explained.text
    before = len(api.audit())

    answer = auditor.post("/audit/verify", data={"csrf_token": csrf_token(explained.text)})

    assert answer.status_code == 200, answer.text
    assert "The audit log is intact" in answer.text
    assert f"All {before:,} entries were checked" in answer.text
    assert title(answer.text) == "Check the audit log – ContactPoint"
    (entry,) = api.audit("audit.verify")
    assert entry["actor"] == "audrey.auditor"
    assert entry["outcome"] == "intact"
    assert entry["details"]["verified"] == before
    assert f"recorded as entry {entry['seq']:,}" in answer.text
    api.assert_audit_chain_intact()


def test_verify_reports_where_a_tampered_log_breaks(
    api: Api, auditor: TestClient, connection: Connection
) -> None:
    seqs = seed(api, actor="pat.one", times=3)
    tampered = seqs[1]
    if connection.dialect.name == "postgresql":
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
    connection.execute(
        text("""UPDATE audit_log SET details = '{"view":"full"}' WHERE seq = :s"""),
        {"s": tampered},
    )
    page = auditor.get("/audit/verify")

    answer = auditor.post("/audit/verify", data={"csrf_token": csrf_token(page.text)})

    assert answer.status_code == 200, answer.text
    assert "The audit log has been altered or damaged" in answer.text
    assert f"The chain breaks at entry {tampered:,}" in answer.text
    assert "altered" in answer.text
    before = connection.execute(
        text("SELECT COUNT(*) FROM audit_log WHERE seq < :s"), {"s": tampered}
    ).scalar_one()
    assert f"{before:,} entries before it checked out" in answer.text
    assert "intact" not in answer.text
    (entry,) = api.audit("audit.verify")
    assert entry["outcome"] == "broken"
    assert entry["details"]["first_bad_seq"] == tampered

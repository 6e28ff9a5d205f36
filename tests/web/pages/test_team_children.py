"""The team's records of children no feed covers, over real SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from contactpoint.domain.search_policy import RawQuery, Scope
from contactpoint.domain.vocabulary import Role
from contactpoint.services.records import load_child_record
from contactpoint.services.search import Result, search
from contactpoint.services.sign_in import Principal
from contactpoint.store.tables import Child, ReviewItem, SourceRecord
from contactpoint.web.api.search import search_tools
from tests.feeds.lines import line
from tests.services.helpers import Ingest
from tests.web.conftest import Api
from tests.web.pages.conftest import Pages, csrf_token

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
URL = re.compile(r'(?:href|action|formaction)="([^"]*)"')
NAMES = ("Yonas", "Tesfay", "Gebremedhin", "Harehills", "LS8 5DL", "Okafor", "0113 496 0100")

FORM: dict[str, str] = {
    "given_names": "Yonas Tesfay",
    "family_name": "Gebremedhin",
    "preferred_name": "",
    "former_family_names": "",
    "dob-day": "3",
    "dob-month": "9",
    "dob-year": "2010",
    "gender": "male",
    "situation": "unaccompanied_asylum_seeking",
    "nhs_number": "",
    "whereabouts": "current",
    "address_line_1": "Flat 2, 14 Harehills Lane",
    "address_line_2": "",
    "town": "Leeds",
    "postcode": "LS8 5DL",
    "team": "Leeds Children's Social Care",
    "lead_name": "R Okafor",
    "lead_role": "Social worker",
    "lead_phone": "0113 496 0100",
    "lead_email": "",
    "reason_code": "data_quality",
    "reason_detail": "Referral 2291",
}


@pytest.fixture
def team(pages: Pages) -> TestClient:
    return pages.sign_in(Role.LA_ADMIN)


def create(client: TestClient, **changes: str) -> httpx.Response:
    page = client.get("/team/children/new")
    assert page.status_code == 200, page.text
    return client.post(
        "/team/children/new", data={**FORM, **changes, "csrf_token": csrf_token(page.text)}
    )


def done(client: TestClient, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/team/children/done"
    shown = client.get("/team/children/done")
    assert shown.status_code == 200, shown.text
    return shown


def team_records(api: Api) -> list[tuple[str, str]]:
    with api.sessions() as session:
        rows = session.execute(
            select(SourceRecord.source_record_id, SourceRecord.child_id)
            .where(SourceRecord.source_record_id.like("team:%"))
            .order_by(SourceRecord.received_at, SourceRecord.source_record_id)
        )
        return [(r.source_record_id, r.child_id) for r in rows]


def open_record(client: TestClient, child_id: str, **changes: str) -> httpx.Response:
    start = client.get("/team/children")
    return client.post(
        "/team/children/edit",
        data={
            "csrf_token": csrf_token(start.text),
            "child_id": child_id,
            "reason_code": "data_quality",
            "reason_detail": "",
            **changes,
        },
    )


def practitioner() -> Principal:
    return Principal(
        user_id=999,
        username="j.patel",
        role=Role.PRACTITIONER,
        organisation="Leeds Park Primary School",
        area=None,
        token_id=uuid.uuid4(),
    )


def assert_nothing_personal(api: Api, responses: Iterable[httpx.Response]) -> None:
    with api.sessions() as session:
        children = list(session.execute(select(Child.id)).scalars())
    forbidden = [*NAMES, *children, *(c.replace("-", "") for c in children)]
    checked = 0
    for response in responses:
        urls = [html.unescape(u) for u in URL.findall(response.text)]
        urls += [response.headers.get("location", "")]
        title = TITLE.search(response.text)
        for text in [*urls, title.group(1) if title else ""]:
            checked += 1
            for word in forbidden:
                assert word.lower() not in text.lower(), (word, text)
    assert checked


# --- the start page ---------------------------------------------------------------------


def test_the_start_page_explains_and_lists_no_children(api: Api, team: TestClient) -> None:
    done(team, create(team))
    page = team.get("/team/children")
    assert page.status_code == 200
    assert "<title>Children no feed covers – ContactPoint</title>" in page.text
    assert 'href="/team/children/new"' in page.text
    assert "Create a record" in page.text
    assert "Yonas" not in page.text
    ((_, child_id),) = team_records(api)
    assert child_id not in page.text


def test_a_practitioner_is_refused_every_page_and_action(pages: Pages, api: Api) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    for path in ("/team/children", "/team/children/new", "/team/children/done"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "You cannot use this page" in refused.text
    token = csrf_token(client.get("/search").text)
    for path in ("/team/children/new", "/team/children/edit", "/team/children/update"):
        refused = client.post(path, data={**FORM, "csrf_token": token})
        assert refused.status_code == 403, path
    assert team_records(api) == []


def test_a_form_without_its_csrf_token_is_refused(api: Api, team: TestClient) -> None:
    refused = team.post("/team/children/new", data=FORM)
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert team_records(api) == []


# --- creating ---------------------------------------------------------------------------


def test_an_empty_form_shows_every_error_and_stores_nothing(api: Api, team: TestClient) -> None:
    answer = create(team, **dict.fromkeys(FORM, ""))
    assert answer.status_code == 400
    assert "<title>Error: Create a record of a child – ContactPoint</title>" in answer.text
    assert "There is a problem" in answer.text
    for message, anchor in [
        ("Enter the child&#39;s given names", "#given_names"),
        ("Enter the child&#39;s family name", "#family_name"),
        ("Enter the child&#39;s date of birth", "#dob-day"),
        ("Select the child&#39;s gender", "#gender"),
        ("Select why no feed covers the child", "#situation"),
        ("Select where the child lives", "#whereabouts"),
        ("Enter the name of the team responsible for the child", "#team"),
        ("Enter a work telephone number or email address", "#lead_phone"),
        ("Select why you are recording this", "#reason_code"),
    ]:
        assert message in answer.text, message
        assert f'href="{anchor}"' in answer.text, anchor
    assert team_records(api) == []
    assert not api.audit("team.child.create")


@pytest.mark.parametrize(
    ("changes", "message", "anchor"),
    [
        ({"dob-day": "31", "dob-month": "2"}, "Date of birth must be a real date", "#dob-day"),
        ({"dob-month": ""}, "Date of birth must include a month", "#dob-month"),
        ({"dob-year": "2030"}, "Date of birth must be today or in the past", "#dob-day"),
        ({"postcode": "not a postcode"}, "Enter a real postcode, like LS1 4AB", "#postcode"),
        ({"nhs_number": "1234567890"}, "Enter a real NHS number", "#nhs_number"),
        ({"team": "Bristol Children's Services"}, "must start with", "#team"),
        ({"situation": "no_fixed_abode"}, "Select &#39;No fixed abode&#39;", "#whereabouts"),
        ({"lead_email": "nobody"}, "Enter an email address in the right form", "#lead_email"),
        ({"reason_detail": "x" * 201}, "200 characters or fewer", "#reason_detail"),
    ],
)
def test_each_field_error_says_what_to_do_and_keeps_the_answers(
    api: Api, team: TestClient, changes: dict[str, str], message: str, anchor: str
) -> None:
    answer = create(team, **changes)
    assert answer.status_code == 400
    assert message in answer.text
    assert f'href="{anchor}"' in answer.text
    assert 'value="Gebremedhin"' in answer.text, "what was typed is shown again"
    assert team_records(api) == []


def test_a_new_child_is_found_by_a_practitioners_search_with_full_details(
    api: Api, team: TestClient
) -> None:
    shown = done(team, create(team))
    ((source_record_id, child_id),) = team_records(api)
    assert "Record created" in shown.text
    assert "ContactPoint knew no child with these details" in shown.text
    assert f"<strong>{child_id}</strong>" in shown.text, "the ContactPoint ID is in the page body"

    again = team.get("/team/children/done")
    assert "There is nothing to show" in again.text
    assert child_id not in again.text, "the outcome is shown once"

    (entry,) = api.audit("team.child.create")
    assert entry["outcome"] == "new_child"
    assert entry["reason_code"] == "data_quality"
    assert entry["details"]["source"] == "local-authority"
    assert entry["details"]["source_record_id"] == source_record_id
    assert entry["details"]["reason_detail_length"] == len("Referral 2291")
    for word in NAMES:
        assert word not in entry["raw"]
    with api.sessions() as session:
        stored = session.execute(
            select(SourceRecord).where(SourceRecord.source_record_id == source_record_id)
        ).scalar_one()
        assert stored.source == "local-authority"
        assert b"Gebremedhin" not in stored.family_name_enc
        assert stored.match_enc is not None

    with api.sessions.begin() as session:
        answer = search(
            session,
            search_tools(api.runtime),
            principal=practitioner(),
            scope=Scope.STANDARD,
            raw=RawQuery(given_name="Yonas", family_name="Gebremedhin", date_of_birth="2010-09-03"),
            reason_code="coordinating_services",
            reason_detail=None,
        )
    assert answer.result is Result.MATCH
    assert answer.view is not None
    child = answer.view.to_json()
    assert child["contactpoint_id"] == child_id
    assert child["view"] == "practitioner"
    assert child["circumstances"] == ["unaccompanied_asylum_seeking"]
    assert child["address"]["postcode"] == "LS8 5DL"
    (service,) = child["services"]
    assert service["organisation"] == "Leeds Children's Social Care"
    assert service["practitioner"]["phone"] == "0113 496 0100"
    assert service["lead_professional"] is True
    api.assert_audit_chain_intact()


def test_a_second_identical_record_links_or_queues_and_never_duplicates(
    api: Api, team: TestClient
) -> None:
    done(team, create(team))
    second = done(team, create(team))
    (first_record, second_record) = team_records(api)
    with api.sessions() as session:
        queued = session.execute(select(func.count()).select_from(ReviewItem)).scalar_one()
    if first_record[1] == second_record[1]:
        assert "matched a child ContactPoint already knew" in second.text
        assert queued == 0
    else:
        assert "sent for review" in second.text
        assert queued == 1
    outcomes = [e["outcome"] for e in api.audit("team.child.create")]
    assert outcomes[0] == "new_child"
    assert outcomes[1] in ("linked", "queued_for_review")


def test_a_record_of_a_child_a_feed_knows_joins_that_child(
    api: Api, team: TestClient, tmp_path: Path
) -> None:
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    report = ingest("nhs-pds", line(_source_record_id="P1", circumstances=[]))
    assert report.counts.created == 1
    with api.sessions() as session:
        feed_child = session.execute(select(SourceRecord.child_id)).scalar_one()
    shown = done(
        team,
        create(
            team,
            given_names="Amelia Rose",
            family_name="Khan",
            **{"dob-day": "7", "dob-month": "3", "dob-year": "2014"},
            gender="female",
            nhs_number="943 476 5919",
            postcode="LS1 4AB",
            address_line_1="12 High Street",
        ),
    )
    ((_, child_id),) = team_records(api)
    assert child_id == feed_child
    assert "matched a child ContactPoint already knew" in shown.text
    assert feed_child in shown.text


def test_a_record_that_may_be_a_shielded_child_is_shielded_and_queued(
    api: Api, team: TestClient, tmp_path: Path
) -> None:
    """Shielding follows identity: a near match of a shielded child is not a way round it."""
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    ingest("nhs-pds", line(_source_record_id="P1", circumstances=[]))
    with api.sessions.begin() as session:
        feed_child = session.execute(select(SourceRecord.child_id)).scalar_one()
        held = session.get(Child, feed_child)
        assert held is not None
        held.shielded = True
        held.shield_origin = "local_authority"
    shown = done(
        team,
        create(
            team,
            given_names="Amelia",
            family_name="Khan",
            **{"dob-day": "7", "dob-month": "3", "dob-year": "2014"},
            gender="female",
            nhs_number="4010232137",
            postcode="LS1 4AB",
            address_line_1="12 High Street",
        ),
    )
    ((_, child_id),) = team_records(api)
    with api.sessions() as session:
        child = session.get(Child, child_id)
        assert child is not None
        assert child.shielded
    assert "This record is shielded" in shown.text
    (entry,) = api.audit("team.child.create")
    assert entry["details"]["shielded"] is True


# --- maintaining ------------------------------------------------------------------------


def test_the_team_opens_and_updates_its_own_record(api: Api, team: TestClient) -> None:
    done(team, create(team))
    ((source_record_id, child_id),) = team_records(api)

    opened = open_record(team, child_id, reason_detail="Moved placement")
    assert opened.status_code == 200, opened.text
    assert "<title>Change your team’s record of a child – ContactPoint</title>" in opened.text
    assert 'value="Gebremedhin"' in opened.text
    assert 'value="LS8 5DL"' in opened.text
    assert f'name="child_id" value="{child_id}"' in opened.text
    (read,) = api.audit("team.child.read")
    assert read["outcome"] == "shown"
    assert read["reason_code"] == "data_quality"
    assert read["details"]["source_record_id"] == source_record_id

    form = {
        **FORM,
        "csrf_token": csrf_token(opened.text),
        "child_id": child_id,
        "whereabouts": "last_known",
        "address_line_1": "",
        "town": "",
        "postcode": "LS9 7TF",
        "situation": "runaway",
    }
    shown = done(team, team.post("/team/children/update", data=form))
    assert "Record updated" in shown.text
    assert child_id in shown.text
    assert team_records(api) == [(source_record_id, child_id)], "a new version, not a new record"
    with api.sessions() as session:
        record = load_child_record(session, api.vault, child_id)
    assert record is not None
    assert record.address is not None
    assert record.address.value.postcode == "LS9 7TF"
    assert record.address_status is not None
    assert record.address_status.value.value == "last_known"
    assert {c.value for c in record.circumstances} == {"missing"}
    (update,) = api.audit("team.child.update")
    assert update["outcome"] == "updated"

    unchanged = done(team, team.post("/team/children/update", data=form))
    assert "No changes made" in unchanged.text
    assert [e["outcome"] for e in api.audit("team.child.update")] == ["updated", "unchanged"]
    api.assert_audit_chain_intact()


def test_an_update_with_errors_changes_nothing(api: Api, team: TestClient) -> None:
    done(team, create(team))
    ((_, child_id),) = team_records(api)
    opened = open_record(team, child_id)
    answer = team.post(
        "/team/children/update",
        data={
            **FORM,
            "csrf_token": csrf_token(opened.text),
            "child_id": child_id,
            "family_name": "",
        },
    )
    assert answer.status_code == 400
    assert "Enter the child&#39;s family name" in answer.text
    assert f'name="child_id" value="{child_id}"' in answer.text
    assert not api.audit("team.child.update")
    with api.sessions() as session:
        record = load_child_record(session, api.vault, child_id)
    assert record is not None
    assert record.family_name.value == "Gebremedhin"


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"child_id": ""}, 400, "Enter the child&#39;s ContactPoint ID"),
        ({"child_id": "not an id"}, 400, "Enter a ContactPoint ID in the right form"),
        ({"reason_code": ""}, 400, "Select why you are opening the record"),
    ],
)
def test_opening_a_record_checks_the_id_and_the_reason(
    api: Api, team: TestClient, changes: dict[str, str], status: int, message: str
) -> None:
    done(team, create(team))
    ((_, child_id),) = team_records(api)
    given = {"child_id": child_id, **changes}
    answer = open_record(team, given.pop("child_id"), **given)
    assert answer.status_code == status
    assert message in answer.text
    assert not api.audit("team.child.read")


def test_feed_records_and_other_areas_records_cannot_be_opened_or_changed(
    api: Api, pages: Pages, team: TestClient, tmp_path: Path
) -> None:
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    ingest("local-authority", line(_source_record_id="L1"))
    with api.sessions() as session:
        feed_child = session.execute(select(SourceRecord.child_id)).scalar_one()
    refused = open_record(team, feed_child)
    assert refused.status_code == 404
    assert "Your team has no record of its own for that ContactPoint ID" in refused.text
    assert "Amelia" not in refused.text

    done(team, create(team))
    ((_, leeds_child),) = team_records(api)
    bristol = pages.sign_in(Role.LA_ADMIN, area="Bristol")
    assert open_record(bristol, leeds_child).status_code == 404
    page = bristol.get("/team/children")
    changed = bristol.post(
        "/team/children/update",
        data={
            **FORM,
            "team": "Bristol Children's Services",
            "csrf_token": csrf_token(page.text),
            "child_id": leeds_child,
            "family_name": "Changed",
        },
    )
    assert changed.status_code == 404
    assert [e["outcome"] for e in api.audit("team.child.read")] == ["not_found"] * 2
    assert [e["outcome"] for e in api.audit("team.child.update")] == ["not_found"]
    with api.sessions() as session:
        record = load_child_record(session, api.vault, leeds_child)
    assert record is not None
    assert record.family_name.value == "Gebremedhin"


def test_no_personal_data_in_any_url_or_title(api: Api, team: TestClient) -> None:
    responses: list[httpx.Response] = [team.get("/team/children"), team.get("/team/children/new")]
    errors = create(team, family_name="")
    created = create(team)
    responses += [errors, created, done(team, created)]
    ((_, child_id),) = team_records(api)
    opened = open_record(team, child_id)
    updated = team.post(
        "/team/children/update",
        data={**FORM, "csrf_token": csrf_token(opened.text), "child_id": child_id, "town": ""},
    )
    responses += [opened, updated, done(team, updated)]
    assert_nothing_personal(api, responses)

"""The search pages: the API's rules and audit, shown as GOV.UK pages, nothing in URLs."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from contactpoint.domain.vocabulary import Role
from tests.services.search_population import BY_KEY, Population
from tests.web.conftest import Api
from tests.web.pages.conftest import Pages, csrf_token

JACK = {
    "given_name": "Jack",
    "family_name": "Brown",
    "date_of_birth-day": "12",
    "date_of_birth-month": "5",
    "date_of_birth-year": "2016",
}
REASON = {"reason_code": "assessment", "reason_detail": "early help"}
_ATTRIBUTES = re.compile(r'(?:href|action|src)="([^"]*)"')


def search(client: TestClient, fields: dict[str, str], path: str = "/search") -> httpx.Response:
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token(page.text), **fields})


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found is not None
    return found.group(1)


def banner(html: str) -> str:
    found = re.search(r'class="govuk-notification-banner__content">(.*?)</div>', html, re.S)
    assert found is not None, "no notification banner"
    return " ".join(found.group(1).split())


def assert_nothing_personal_in_links(html: str, *values: str) -> None:
    for link in _ATTRIBUTES.findall(html):
        for value in values:
            assert value.lower() not in link.lower(), (value, link)


def test_full_detail_with_a_nickname_finds_the_one_child(
    api: Api, pages: Pages, population: Population
) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    answer = search(client, {**JACK, "given_name": "Jak", **REASON})

    assert answer.status_code == 200
    assert population["jack"] in answer.text
    assert "Services and practitioners" in answer.text
    assert title(answer.text) == "Child's record – ContactPoint"
    assert_nothing_personal_in_links(answer.text, population["jack"], "Brown", "Jack")
    entry = api.audit("search")[-1]
    assert entry["outcome"] == "match"
    assert entry["reason_code"] == "assessment"
    assert entry["details"]["reason_detail_length"] == len("early help")
    assert "Brown" not in str(entry)


def test_too_little_detail_says_what_to_add_and_shows_no_child(
    pages: Pages, population: Population
) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    answer = search(client, {"family_name": "Brown", **REASON})

    assert answer.status_code == 422
    assert title(answer.text).startswith("Error: Find a child")
    assert "Not enough detail to search" in answer.text
    assert "Add " in answer.text
    assert population["jack"] not in answer.text
    assert population["thomas"] not in answer.text


def test_a_birth_year_alone_is_not_a_date_of_birth(pages: Pages, population: Population) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    answer = search(
        client,
        {"given_name": "Jack", "family_name": "Brown", "date_of_birth-year": "2016", **REASON},
    )
    assert answer.status_code == 422
    assert "A birth year or month is not enough" in answer.text


def test_none_and_several_get_the_same_advice(pages: Pages, population: Population) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    shape = {"family_name": "Brown", "gender": "male", "postcode": "LS6 2AB", **REASON}
    twins = search(client, {**shape, **{k: v for k, v in JACK.items() if "date" in k}})
    nobody = search(
        client,
        {
            **shape,
            "date_of_birth-day": "13",
            "date_of_birth-month": "5",
            "date_of_birth-year": "2016",
        },
    )
    assert twins.status_code == nobody.status_code == 200
    assert banner(twins.text) == banner(nobody.text)
    assert "No single child matched" in banner(twins.text)
    for answer in (twins, nobody):
        assert population["jack"] not in answer.text
        assert population["thomas"] not in answer.text


def test_no_reason_no_search(api: Api, pages: Pages, population: Population) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    answer = search(client, JACK)
    assert answer.status_code == 422
    assert "Choose why you are searching" in answer.text
    assert population["jack"] not in answer.text
    assert api.audit("search")[-1]["outcome"] == "no_reason"


def test_a_field_the_form_does_not_have_is_refused_and_audited(
    api: Api, pages: Pages, population: Population
) -> None:
    client = pages.sign_in(Role.PRACTITIONER)
    answer = search(client, {**JACK, **REASON, "town": "Leeds"})
    assert population["jack"] not in answer.text
    assert api.audit("search")[-1]["outcome"] == "insufficient_detail"


def test_a_shielded_child_shows_only_the_minimum_and_whom_to_call(
    pages: Pages, population: Population
) -> None:
    zara = BY_KEY["zara"]
    client = pages.sign_in(Role.PRACTITIONER)
    year, month, day = zara.born.split("-")
    answer = search(
        client,
        {
            "given_name": zara.given,
            "family_name": zara.family,
            "date_of_birth-day": day,
            "date_of_birth-month": month,
            "date_of_birth-year": year,
            **REASON,
        },
    )
    assert answer.status_code == 200
    assert "This child&#39;s record is shielded" in answer.text
    assert "Who to contact" in answer.text
    assert zara.postcode not in answer.text
    assert "Services and practitioners" not in answer.text
    assert zara.nhs_number not in answer.text


def test_the_team_shields_a_child_and_the_practitioners_view_changes(
    api: Api, pages: Pages, population: Population
) -> None:
    practitioner = pages.sign_in(Role.PRACTITIONER)
    before = search(practitioner, {**JACK, **REASON})
    assert BY_KEY["jack"].postcode in before.text

    team = pages.sign_in(Role.LA_ADMIN, area="Leeds")
    record = search(team, {**JACK, "reason_code": "data_quality"})
    assert "Shield this child" in record.text
    asked = team.post(
        "/team/shielding",
        data={
            "csrf_token": csrf_token(record.text),
            "child_id": population["jack"],
            "action": "shield",
        },
    )
    assert asked.status_code == 200
    no_reason = pages.submit(
        team,
        asked.text,
        "/team/shielding/confirm",
        {"child_id": population["jack"], "action": "shield"},
    )
    assert no_reason.status_code == 422
    assert "Choose the reason for shielding this child" in no_reason.text
    done = pages.submit(
        team,
        asked.text,
        "/team/shielding/confirm",
        {"child_id": population["jack"], "action": "shield", "reason_code": "court_order"},
    )
    assert done.status_code == 200
    assert "Child shielded" in done.text
    assert api.audit("identity.shield")

    after = search(practitioner, {**JACK, **REASON})
    assert "This child&#39;s record is shielded" in after.text
    assert BY_KEY["jack"].postcode not in after.text


def test_shielding_is_for_the_local_authority_team_only(
    api: Api, pages: Pages, population: Population
) -> None:
    practitioner = pages.sign_in(Role.PRACTITIONER)
    page = practitioner.get("/search")
    shields = len(api.audit("identity.shield"))
    answer = pages.submit(
        practitioner,
        page.text,
        "/team/shielding/confirm",
        {"child_id": population["jack"], "action": "shield", "reason_code": "court_order"},
    )
    assert answer.status_code == 403
    assert len(api.audit("identity.shield")) == shields


def test_emergency_staff_get_the_emergency_view(pages: Pages, population: Population) -> None:
    client = pages.sign_in(Role.EMERGENCY)
    answer = search(client, {**JACK, "reason_code": "emergency_care"}, path="/emergency/search")
    assert answer.status_code == 200
    assert "Emergency view" in answer.text
    assert "Child protection plan" in answer.text
    assert BY_KEY["jack"].postcode not in answer.text
    assert "Services and practitioners" not in answer.text


def test_emergency_staff_cannot_use_the_standard_search(pages: Pages) -> None:
    client = pages.sign_in(Role.EMERGENCY)
    assert client.get("/search").status_code == 403

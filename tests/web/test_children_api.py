"""``GET /api/v1/children/{child_id}`` over real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contactpoint.domain.views import Denial, ViewKind
from contactpoint.domain.vocabulary import Role
from contactpoint.store.tables import SourceRecord
from tests.feeds.lines import line
from tests.services.child_states import (
    DENIED_TEXT,
    EXPECTED_FIELDS,
    EXPECTED_KIND,
    SHIELDED_DENIED_TEXT,
    STATES,
    outcome_of,
    place_child,
)
from tests.services.helpers import Ingest
from tests.web.conftest import Api

REASON = "child_protection_enquiry: strategy meeting ref 2291"
USERS: dict[str, tuple[Role, str | None]] = {
    "practitioner": (Role.PRACTITIONER, None),
    "emergency": (Role.EMERGENCY, None),
    "la_admin_in_area": (Role.LA_ADMIN, "Leeds"),
    "la_admin_elsewhere": (Role.LA_ADMIN, "Wakefield"),
    "auditor": (Role.AUDITOR, None),
    "feed": (Role.FEED, None),
}
STATUS = {Denial.NOT_FOUND: 404, Denial.REFUSED: 403}


def place(api: Api, state: str) -> str:
    api.vault.prepare()
    return place_child(
        api.sessions,
        vault=api.vault,
        clock=api.clock,
        audit_key=api.runtime.keyring.audit_key,
        actor=api.actor,
        state=state,
    )


def token_for(api: Api, who: str) -> str:
    role, area = USERS[who]
    return api.token(api.add(who.replace("_", "."), role, area=area))


def get_child(
    api: Api, child_id: str, token: str, reason: str | bytes | None = REASON
) -> httpx.Response:
    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {token}"}
    if reason is not None:
        headers["X-Access-Reason"] = reason
    return api.client().get(f"/api/v1/children/{child_id}", headers=headers)


def views(api: Api) -> list[dict[str, Any]]:
    return api.audit("child.view")


@pytest.mark.parametrize("who", list(USERS))
def test_every_role_and_state_over_http(api: Api, who: str) -> None:
    children = {state: place(api, state) for state in STATES}
    token = token_for(api, who)
    for state, child_id in children.items():
        expected = EXPECTED_KIND[who][state]
        response = get_child(api, child_id, token)
        assert response.headers["Cache-Control"] == "no-store"
        if isinstance(expected, Denial):
            assert response.status_code == STATUS[expected], (who, state, response.text)
        else:
            assert response.status_code == 200, (who, state, response.text)
            body = response.json()
            assert body.pop("view") == expected.value
            assert set(body) == EXPECTED_FIELDS[expected]
            if expected is not ViewKind.FULL:
                for denied in DENIED_TEXT:
                    assert denied not in response.text, (who, state, denied)
            if expected in (ViewKind.SHIELDED, ViewKind.EMERGENCY):
                for denied in SHIELDED_DENIED_TEXT:
                    assert denied not in response.text, (who, state, denied)
        entry = views(api)[-1]
        assert entry["outcome"] == outcome_of(expected, state), (who, state)
        assert entry["role"] == USERS[who][0].value
        assert "2291" not in entry["raw"]
        assert "strategy" not in entry["raw"]
    assert len(views(api)) == len(STATES)
    api.assert_audit_chain_intact()


def test_not_there_looks_the_same_whatever_the_cause(api: Api) -> None:
    archived = place(api, "archived")
    token = token_for(api, "practitioner")
    answers = [
        get_child(api, child_id, token)
        for child_id in (archived, "7K2M-QX9D-4TB4", "not-an-id", "Amelia%20Khan")
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert "7K2M-QX9D-4TB4" in answers[0].json()["detail"], "the format is the advice"
    assert [e["outcome"] for e in views(api)] == ["not_found"] * 4
    assert all("Amelia" not in e["raw"] for e in api.audit())


@pytest.mark.parametrize(
    "reason", [None, "", "curiosity", "because: I wanted to", ": just text", "assessment: a\tb"]
)
def test_no_reason_no_answer(api: Api, reason: str | None) -> None:
    child_id = place(api, "ordinary")
    response = get_child(api, child_id, token_for(api, "practitioner"), reason)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "X-Access-Reason" in detail
    if reason in (None, "", "curiosity", "because: I wanted to", ": just text"):
        assert "child_protection_enquiry" in detail
    assert "Amelia" not in response.text
    (entry,) = views(api)
    assert entry["outcome"] == "refused"
    assert entry["details"]["cause"] == "no_reason"
    assert "wanted" not in entry["raw"]
    assert "curiosity" not in entry["raw"]


@pytest.mark.parametrize("who", ["auditor", "feed"])
def test_auditors_and_feeds_are_refused_before_their_reason_is_read(api: Api, who: str) -> None:
    child_id = place(api, "ordinary")
    response = get_child(api, child_id, token_for(api, who), reason=None)
    assert response.status_code == 403
    assert "Amelia" not in response.text
    (entry,) = views(api)
    assert (entry["outcome"], entry["details"]["cause"]) == ("refused", "role")


def test_signed_out_callers_get_401_and_no_child(api: Api) -> None:
    child_id = place(api, "ordinary")
    response = api.client().get(
        f"/api/v1/children/{child_id}", headers={"X-Access-Reason": "assessment"}
    )
    assert response.status_code == 401
    assert "Amelia" not in response.text


def test_free_text_in_utf8_is_read_and_only_fingerprinted(api: Api) -> None:
    child_id = place(api, "ordinary")
    token = token_for(api, "practitioner")
    response = get_child(api, child_id, token, "health_care: Zoë's GP referral".encode())
    assert response.status_code == 200, response.text
    (entry,) = views(api)
    assert entry["details"]["reason_detail_length"] == len("Zoë's GP referral")
    assert "Zo" not in entry["raw"]


def test_a_child_ingested_from_a_feed_is_shown_to_a_practitioner(api: Api, tmp_path: Path) -> None:
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    ingest("school-census", line())
    with api.sessions() as session:
        child_id = session.execute(select(SourceRecord.child_id)).scalar_one()
    response = get_child(api, child_id, token_for(api, "practitioner"), "education_welfare")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["view"] == "practitioner"
    assert body["contactpoint_id"] == child_id
    assert (body["given_names"], body["family_name"]) == ("Amelia Rose", "Khan")
    assert body["provenance"]["family_name"]["source"] == "school-census"
    (school,) = body["services"]
    assert school["practitioner"]["phone"] == "0113 496 0001"
    assert body["carers"][0]["name"] == "Sara Khan"


def test_the_route_is_described_with_its_reason_header(api: Api) -> None:
    spec = api.client().get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/children/{child_id}"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"child_id", "x-access-reason"}
    assert {"200", "403", "404", "422"} <= set(operation["responses"])

"""``POST /api/v1/search`` and ``/api/v1/emergency/search`` over real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import JSONResponse
from sqlalchemy import select

from contactpoint.domain.vocabulary import Role
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.store.tables import Alert
from contactpoint.web.api import search as search_api
from tests.services.helpers import Ingest
from tests.services.search_population import (
    BY_KEY,
    Population,
    build_population,
    nhs,
    plain_values,
)
from tests.web.conftest import Api

SEARCH = "/api/v1/search"
EMERGENCY = "/api/v1/emergency/search"
REASON = {"code": "assessment", "detail": "early help assessment"}
JACK = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}


def token_for(api: Api, username: str, role: Role = Role.PRACTITIONER) -> str:
    token = api.token(api.add(username, role))
    api.next_step()
    return token


def post(
    api: Api,
    token: str,
    body: dict[str, Any],
    path: str = SEARCH,
    reason: dict[str, Any] | None = REASON,
) -> httpx.Response:
    payload = dict(body)
    if reason is not None:
        payload["reason"] = reason
    return api.client().post(path, json=payload, headers={"Authorization": f"Bearer {token}"})


def test_one_child_matched_with_confidence_is_returned(api: Api, population: Population) -> None:
    token = token_for(api, "j.patel")
    response = post(api, token, {**JACK, "given_name": "jak"})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["result"] == "match"
    assert body["child"]["contactpoint_id"] == population["jack"]
    assert body["child"]["view"] == "practitioner"
    assert set(body) == {"result", "child"}


def test_none_and_several_are_byte_identical(api: Api, population: Population) -> None:
    token = token_for(api, "j.patel")
    twins = {"family_name": "Brown", "date_of_birth": "2016-05-12", "gender": "male"}
    several = post(api, token, {**twins, "postcode": "LS6 2AB"})
    none = post(api, token, {**twins, "postcode": "LS6 2AD"})
    assert several.status_code == none.status_code == 200
    assert several.content == none.content
    assert several.json()["result"] == "no_unique_match"
    assert set(several.json()) == {"result", "advice"}
    assert {k: v for k, v in several.headers.items() if k != "date"} == {
        k: v for k, v in none.headers.items() if k != "date"
    }


LOW_KNOWLEDGE: list[dict[str, Any]] = [
    {"family_name": "Brown"},
    {"family_name": "Brown", "town": "Leeds"},
    {"given_name": "Jack", "date_of_birth": "2016-05-12"},
    {"family_name": "Brown", "date_of_birth": "2016"},
    {"postcode": "LS6 2AB"},
    {"given_name": "J*", "family_name": "Brown", "date_of_birth": "2016-05-12"},
    {"given_name": "Jack", "family_name": "Br%", "date_of_birth": "2016-05-12"},
    {"given_name": "Jack", "family_name": "Brow_", "date_of_birth": "2016-05-12"},
    {"given_name": "Ja[c]k", "family_name": "Brown", "date_of_birth": "2016-05-12"},
    {},
]


@pytest.mark.parametrize("body", LOW_KNOWLEDGE)
def test_low_knowledge_is_refused_with_advice(
    api: Api, population: Population, body: dict[str, Any]
) -> None:
    token = token_for(api, "j.patel")
    response = post(api, token, body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["result"] == "insufficient_detail"
    assert set(answer) == {"result", "advice"}
    assert answer["advice"]
    assert api.audit("search")[-1]["outcome"] == "insufficient_detail"


def test_no_reason_is_refused_and_audited(api: Api, population: Population) -> None:
    token = token_for(api, "j.patel")
    for reason in (None, {}, {"code": "curiosity"}):
        response = post(api, token, JACK, reason=reason)
        assert response.status_code == 422
        assert "reason" in response.json()["detail"]
    assert [e["outcome"] for e in api.audit("search")] == ["no_reason"] * 3
    assert api.audit("search.view") == []


@pytest.mark.parametrize(
    ("role", "path", "allowed"),
    [
        (Role.PRACTITIONER, SEARCH, True),
        (Role.LA_ADMIN, SEARCH, True),
        (Role.EMERGENCY, SEARCH, False),
        (Role.AUDITOR, SEARCH, False),
        (Role.FEED, SEARCH, False),
        (Role.EMERGENCY, EMERGENCY, True),
        (Role.PRACTITIONER, EMERGENCY, False),
        (Role.LA_ADMIN, EMERGENCY, False),
        (Role.AUDITOR, EMERGENCY, False),
    ],
)
def test_who_may_search(
    api: Api, population: Population, role: Role, path: str, allowed: bool
) -> None:
    token = token_for(api, "someone", role)
    response = post(api, token, JACK, path=path)
    assert response.status_code == (200 if allowed else 403), response.text
    if allowed:
        assert response.json()["child"]["contactpoint_id"] == population["jack"]
    else:
        assert [e["action"] for e in api.audit("auth.role_refused")] == ["auth.role_refused"]


def test_no_token_no_search(api: Api, population: Population) -> None:
    assert api.client().post(SEARCH, json={**JACK, "reason": REASON}).status_code == 401


@pytest.mark.parametrize("path", [SEARCH, EMERGENCY])
def test_a_refused_token_searches_nothing_and_the_refusal_is_audited(
    api: Api, population: Population, path: str
) -> None:
    """The token is checked in the search's own transaction: a revoked token gets 401 with
    the challenge, its refusal is committed, and no search entry is written; a token that
    names nobody is refused without an entry."""
    role = Role.EMERGENCY if path == EMERGENCY else Role.PRACTITIONER
    token = token_for(api, "rory.revoked", role)
    assert api.post("/api/v1/auth/revoke", token).status_code == 204

    revoked = post(api, token, JACK, path=path)
    unknown = post(api, "A" * 43, JACK, path=path)

    assert (revoked.status_code, unknown.status_code) == (401, 401)
    assert revoked.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    [refusal] = api.audit("auth.token_refused")
    assert refusal["actor"] == "rory.revoked"
    assert refusal["details"]["reason"] == "revoked"
    assert refusal["details"]["route"] == f"POST {path.removeprefix('/api/v1')}"  # its router's
    searched = {"search", "emergency.search", "search.view", "emergency.search.view"}
    assert not [e for e in api.audit() if e["action"] in searched]
    api.assert_audit_chain_intact()


def test_emergency_search_fewer_details_minimal_view_and_an_alert(
    api: Api, population: Population
) -> None:
    token = token_for(api, "a.nurse", Role.EMERGENCY)
    response = post(
        api,
        token,
        {"nhs_number": BY_KEY["jack"].nhs_number},
        path=EMERGENCY,
        reason={"code": "emergency_care"},
    )
    assert response.status_code == 200, response.text
    child = response.json()["child"]
    assert child["view"] == "emergency"
    assert child["contactpoint_id"] == population["jack"]
    assert {"child_protection_plan", "looked_after", "team_contact"} <= set(child)
    assert "services" not in child
    assert "address" not in child
    nothing = post(api, token, {"nhs_number": nhs(99)}, path=EMERGENCY)
    assert nothing.json()["result"] == "no_unique_match"
    with api.sessions() as session:
        alerts = list(session.execute(select(Alert.kind, Alert.actor, Alert.child_id)).all())
    assert sorted(alerts, key=str) == sorted(
        [
            ("emergency_search", "a.nurse", population["jack"]),
            ("emergency_search", "a.nurse", None),
        ],
        key=str,
    )


def test_a_shielded_child_is_never_returned_to_a_postcode_search(
    api: Api, population: Population
) -> None:
    token = token_for(api, "j.patel")
    zara = BY_KEY["zara"]
    by_name = {"given_name": "Zara", "family_name": "Wilberforce", "date_of_birth": zara.born}
    shown = post(api, token, by_name)
    assert shown.json()["child"]["view"] == "shielded"
    assert "address" not in shown.json()["child"]
    with_postcode = post(api, token, {**by_name, "postcode": zara.postcode})
    assert with_postcode.json()["result"] == "no_unique_match"


def test_the_rate_limit_answers_429_and_alerts(api: Api, population: Population) -> None:
    api.runtime.settings = api.runtime.settings.model_copy(
        update={"search_limit_per_minute": 4, "search_probe_weight": 2}
    )
    token = token_for(api, "j.patel")
    assert post(api, token, JACK).status_code == 200
    assert post(api, token, {"family_name": "Brown"}).status_code == 422
    assert post(api, token, JACK).status_code == 200
    refused = post(api, token, JACK)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "minute" in refused.json()["detail"]
    assert [e["details"]["window"] for e in api.audit("alert.search_rate")] == ["minute"]


def test_the_audit_log_holds_no_search_term_and_still_verifies(
    api: Api, population: Population
) -> None:
    token = token_for(api, "j.patel")
    nurse = token_for(api, "a.nurse", Role.EMERGENCY)
    for person in BY_KEY.values():
        first = person.given.split()[0]
        post(
            api,
            token,
            {"given_name": first, "family_name": person.family, "date_of_birth": person.born},
        )
        post(
            api,
            token,
            {
                "family_name": person.family,
                "date_of_birth": person.born,
                "gender": person.gender,
                "postcode": person.postcode,
            },
        )
        post(api, token, {"family_name": person.family, "postcode": person.postcode})
        post(api, nurse, {"nhs_number": person.nhs_number}, path=EMERGENCY)
    entries = api.audit()
    searches = [e for e in entries if e["action"] in ("search", "emergency.search")]
    assert len(searches) == 4 * len(BY_KEY)
    assert {e["outcome"] for e in searches} >= {"match", "no_unique_match", "insufficient_detail"}
    text = " ".join(e["raw"] for e in entries).casefold()
    for value in plain_values():
        assert value.casefold() not in text, value
    assert "early help" not in text
    api.assert_audit_chain_intact()


def test_the_openapi_description_lists_both_searches(api: Api) -> None:
    paths = api.client().get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths[SEARCH]
    assert "post" in paths[EMERGENCY]
    assert set(paths[SEARCH]["post"]["responses"]) >= {"200", "422", "429"}


@pytest.mark.parametrize("threads", [1, 3])
def test_a_process_runs_no_more_searches_at_once_than_its_search_threads(
    api: Api, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    api.runtime.settings = api.runtime.settings.model_copy(  # type: ignore[misc]
        update={"search_threads": threads}
    )
    running = 0
    most = 0
    lock = threading.Lock()

    def slow_search(*args: object) -> JSONResponse:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return JSONResponse({"result": "no_unique_match", "advice": "test"})

    monkeypatch.setattr(search_api, "_run", slow_search)

    async def six_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cp") as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        SEARCH,
                        json={**JACK, "reason": REASON},
                        headers={"Authorization": "Bearer anything"},
                    )
                    for _ in range(6)
                )
            )
        return [r.status_code for r in responses]

    # A thread of its own: a browser test in the same worker may leave an event loop
    # running on this one.
    with ThreadPoolExecutor(max_workers=1) as runner:
        assert runner.submit(asyncio.run, six_at_once()).result() == [200] * 6
    assert most == threads


def test_a_search_that_owns_its_transaction_commits_with_its_audit(
    committing_api: Api, tmp_path: Path
) -> None:
    """Served for real, a search's audit entries carry its transaction's COMMIT: what it
    wrote is there for everyone after the answer, the chain verifies, and the
    connection it gave back serves the next search."""
    api = committing_api
    api.vault.prepare()
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    api.runtime.linker = ProbabilisticLinker(load_model())  # type: ignore[misc]
    population = build_population(
        ingest,
        api.sessions,
        clock=api.clock,
        audit_key=api.runtime.keyring.audit_key,
        actor=api.actor,
    )
    token = token_for(api, "j.patel")
    found = post(api, token, JACK)
    assert found.status_code == 200, found.text
    assert found.json()["child"]["contactpoint_id"] == population["jack"]
    nobody = post(api, token, {**JACK, "date_of_birth": "2016-05-13"})
    assert nobody.json()["result"] == "no_unique_match"
    searches = api.audit("search")
    assert [e["outcome"] for e in searches] == ["match", "no_unique_match"]
    api.assert_audit_chain_intact()

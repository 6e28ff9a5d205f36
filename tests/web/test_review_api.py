"""The identity-review JSON API over real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from contactpoint.domain.vocabulary import Role
from contactpoint.store.tables import Child, SourceRecord
from tests.feeds.lines import line
from tests.services.helpers import Ingest
from tests.web.conftest import Api

NHS_B = "4010232137"


@pytest.fixture
def queued(api: Api, tmp_path: Path) -> dict[str, Any]:
    """Two records alike in all but NHS number: the second waits for review."""
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    ingest("nhs-pds", line(_source_record_id="P1"))
    report = ingest("local-authority", line(_source_record_id="L1", nhs_number=NHS_B))
    assert report.counts.queued_for_review == 1
    with api.sessions() as session:
        rows = session.execute(select(SourceRecord.source_record_id, SourceRecord.child_id))
        placement = {row.source_record_id: row.child_id for row in rows}
    return {"held": placement["P1"], "provisional": placement["L1"]}


def admin_token(api: Api) -> str:
    return api.token(api.add("team.leeds", Role.LA_ADMIN, area="Leeds"))


def post(api: Api, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    return api.client().post(path, headers={"Authorization": f"Bearer {token}"}, json=body)


def test_an_admin_works_an_item_and_can_undo_it(api: Api, queued: dict[str, Any]) -> None:
    token = admin_token(api)
    listing = api.get("/api/v1/review/items", token)
    assert listing.status_code == 200, listing.text
    (item,) = listing.json()["items"]
    assert item["reason"] == "conflicting_identifier"

    shown = api.get(f"/api/v1/review/items/{item['id']}", token)
    assert shown.status_code == 200, shown.text
    assert [c["child_id"] for c in shown.json()["candidates"]] == [queued["held"]]
    assert api.audit("review.view"), "showing children is a read, and audited"

    accepted = post(
        api, f"/api/v1/review/items/{item['id']}/accept", token, {"child_id": queued["held"]}
    )
    assert accepted.status_code == 200, accepted.text
    with api.sessions() as session:
        assert session.get(Child, queued["provisional"]).status == "merged"  # type: ignore[union-attr]

    again = post(
        api, f"/api/v1/review/items/{item['id']}/accept", token, {"child_id": queued["held"]}
    )
    assert again.status_code == 409

    undone = post(api, f"/api/v1/identity-changes/{accepted.json()['change_id']}/undo", token)
    assert undone.status_code == 200, undone.text
    with api.sessions() as session:
        assert session.get(Child, queued["provisional"]).status == "active"  # type: ignore[union-attr]
    assert api.get("/api/v1/review/items", token).json()["items"][0]["id"] == item["id"]
    api.assert_audit_chain_intact()


def test_merge_then_split_over_the_api(api: Api, queued: dict[str, Any]) -> None:
    token = admin_token(api)
    merged = post(
        api,
        "/api/v1/children/merge",
        token,
        {"from_child_id": queued["provisional"], "into_child_id": queued["held"]},
    )
    assert merged.status_code == 200, merged.text
    (move,) = [m for m in merged.json()["moves"]]
    split = post(
        api, f"/api/v1/children/{queued['held']}/split", token, {"record_ids": [move["record_id"]]}
    )
    assert split.status_code == 200, split.text
    with api.sessions() as session:
        rows = session.execute(select(SourceRecord.source_record_id, SourceRecord.child_id))
        owners = {row.source_record_id: row.child_id for row in rows}
    assert owners["P1"] == queued["held"]
    assert owners["L1"] == split.json()["new_child_id"]


def test_only_la_admins_may_review(api: Api, queued: dict[str, Any]) -> None:
    practitioner = api.token(api.add("j.patel", Role.PRACTITIONER))
    assert api.get("/api/v1/review/items", practitioner).status_code == 403
    assert api.get("/api/v1/review/items", None).status_code == 401


def test_bad_identifiers_get_advice_not_a_trace(api: Api, queued: dict[str, Any]) -> None:
    token = admin_token(api)
    missing = api.get("/api/v1/review/items/3f2b1c9e-8d7a-4e61-9b0f-2c5d4a6e7f81", token)
    assert missing.status_code == 404
    assert "review list" in missing.text
    bad_child = post(
        api,
        "/api/v1/children/merge",
        token,
        {"from_child_id": "NOT-A-CHILD-ID", "into_child_id": queued["held"]},
    )
    assert bad_child.status_code == 422
    assert "ContactPoint ID" in bad_child.text

"""The team's review queue pages over real SQLite and PostgreSQL: list, compare, decide, undo."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from contactpoint.domain.vocabulary import Role
from contactpoint.store.tables import Child, ReviewItem, SourceRecord
from contactpoint.web.pages import team_review
from tests.feeds.lines import line
from tests.services.helpers import Ingest
from tests.services.placement import add_child, add_item, add_record, details
from tests.web.conftest import Api
from tests.web.pages.conftest import Pages

NHS_B = "4010232137"
PERSONAL = ("Amelia", "Khan", "Millie", "Smith", "Sara", "9434765919", NHS_B, "LS1 4AB")
URL = re.compile(r'(?:href|action)="([^"]*)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


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
        (item_id,) = session.execute(select(ReviewItem.id)).scalars()
    return {"held": placement["P1"], "provisional": placement["L1"], "item": item_id}


@pytest.fixture
def team(pages: Pages) -> TestClient:
    return pages.sign_in(Role.LA_ADMIN)


def child_ids(api: Api) -> list[str]:
    with api.sessions() as session:
        return list(session.execute(select(Child.id)).scalars())


def urls(response: httpx.Response) -> list[str]:
    found = [html.unescape(u) for u in URL.findall(response.text)]
    if "location" in response.headers:
        found.append(response.headers["location"])
    return found


def assert_nothing_personal_in_urls_or_title(api: Api, responses: Iterable[httpx.Response]) -> None:
    """No ContactPoint ID (with or without its dashes) or personal detail in any link,
    form action or redirect, nor in the page title."""
    children = child_ids(api)
    assert children
    forbidden = [*PERSONAL, *children, *(c.replace("-", "") for c in children)]
    seen = 0
    for response in responses:
        for url in urls(response):
            seen += 1
            for word in forbidden:
                assert word.lower() not in url.lower(), (word, url)
        title = TITLE.search(response.text)
        if title is not None:
            for word in forbidden:
                assert word.lower() not in title.group(1).lower(), (word, title.group(1))
    assert seen, "no URLs were checked"


def state(api: Api, child_id: str) -> tuple[str, str | None]:
    with api.sessions() as session:
        child = session.get(Child, child_id)
        assert child is not None
        return child.status, child.merged_into


def item_status(api: Api, item_id: uuid.UUID) -> str:
    with api.sessions() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        return item.status


def owner(api: Api, source_record_id: str) -> str:
    with api.sessions() as session:
        return session.execute(
            select(SourceRecord.child_id).where(SourceRecord.source_record_id == source_record_id)
        ).scalar_one()


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"]


def path_of(url: str) -> str:
    return url.split("?", 1)[0]


def form_action(page: httpx.Response, ends_with: str) -> str:
    actions = [html.unescape(a) for a in re.findall(r'action="([^"]*)"', page.text)]
    matching = [a for a in actions if path_of(a).endswith(ends_with)]
    assert matching, (ends_with, actions)
    return matching[0]


# --- the queue ------------------------------------------------------------------------


def test_the_queue_lists_the_item_and_its_page_compares_the_children(
    api: Api, pages: Pages, team: TestClient, queued: dict[str, Any]
) -> None:
    listing = team.get("/team/review")
    assert listing.status_code == 200, listing.text
    assert "1 record is waiting for review" in listing.text
    assert "local-authority" in listing.text
    assert "Conflicting identifier" in listing.text
    assert f'href="/team/review/{queued["item"]}"' in listing.text
    assert "Amelia" not in listing.text, "the queue shows no personal data"
    assert queued["held"] not in listing.text
    assert not api.audit("review.view"), "listing reads no child"

    shown = team.get(f"/team/review/{queued['item']}")
    assert shown.status_code == 200, shown.text
    assert "<title>Review a record – ContactPoint</title>" in shown.text
    assert queued["held"] in shown.text
    assert queued["provisional"] in shown.text
    assert "Amelia Rose" in shown.text
    assert NHS_B in shown.text
    assert "Match weight" in shown.text
    assert "Link to this child" in shown.text
    assert "Not the same child: keep as a new child" in shown.text
    views = api.audit("review.view")
    assert sorted(v["details"]["item_id"] for v in views) == [str(queued["item"])] * 2

    team.get(f"/team/review/{queued['item']}")
    assert len(api.audit("review.view")) == 4, "every page view is a read of each child"
    assert_nothing_personal_in_urls_or_title(api, [listing, shown])


def test_an_empty_queue_says_so(api: Api, team: TestClient) -> None:
    listing = team.get("/team/review")
    assert listing.status_code == 200
    assert "There are no records waiting for review." in listing.text
    assert "<table" not in listing.text


def test_the_queue_pages_with_a_cursor_of_no_personal_data(
    api: Api, team: TestClient, queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.clock.advance(timedelta(minutes=1))
    with api.sessions.begin() as session:
        child = add_child(session, api.clock.now())
        record = add_record(session, api.vault, child, api.clock.now())
        second = add_item(session, record, child, [queued["held"]], api.clock.now())
    monkeypatch.setattr(team_review, "PAGE_SIZE", 1)

    first = team.get("/team/review")
    assert f"/team/review/{queued['item']}" in first.text
    assert f"/team/review/{second}" not in first.text
    (next_href,) = [u for u in urls(first) if u.startswith("/team/review?cursor=")]
    assert re.fullmatch(r"/team/review\?cursor=\d+\.[0-9a-f]{32}", next_href)
    following = team.get(next_href)
    assert following.status_code == 200
    assert f"/team/review/{second}" in following.text
    assert f"/team/review/{queued['item']}" not in following.text
    assert "Back to the oldest records in the queue" in following.text
    assert not [u for u in urls(following) if "cursor=" in u], "the last page has no next"

    stale = team.get("/team/review?cursor=not-a-cursor")
    assert stale.status_code == 400
    assert "cannot be shown" in stale.text
    assert "Traceback" not in stale.text
    assert_nothing_personal_in_urls_or_title(api, [first, following])


def test_a_practitioner_is_refused_every_page_and_action(
    api: Api, pages: Pages, queued: dict[str, Any]
) -> None:
    practitioner = pages.sign_in(Role.PRACTITIONER)
    own_page = practitioner.get("/search")
    token = re.search(r'name="csrf_token" value="([^"]+)"', own_page.text)
    form = {"csrf_token": token.group(1) if token else "", "child_id": queued["held"]}
    answers = [
        practitioner.get("/team/review"),
        practitioner.get(f"/team/review/{queued['item']}"),
        practitioner.post(f"/team/review/{queued['item']}/accept", data=form),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert "You cannot use this page" in answer.text
        assert queued["held"] not in answer.text
    assert not api.audit("review.view")
    assert state(api, queued["provisional"]) == ("active", None)
    assert item_status(api, queued["item"]) == "open"


def test_signed_out_browsers_are_sent_to_sign_in(pages: Pages, queued: dict[str, Any]) -> None:
    browser = pages.client()
    answer = browser.get(f"/team/review/{queued['item']}")
    assert location(answer) == "/sign-in"


def test_unknown_and_malformed_items_are_page_not_found(
    team: TestClient, queued: dict[str, Any]
) -> None:
    for path in (f"/team/review/{uuid.uuid4()}", "/team/review/not-an-item"):
        answer = team.get(path)
        assert answer.status_code == 404, answer.text
        assert "Review item not found" in answer.text
    assert team.get(f"/team/review/changes/{uuid.uuid4()}").status_code == 404


# --- deciding -------------------------------------------------------------------------


def test_accept_links_the_record_and_undo_restores_it(
    api: Api, pages: Pages, team: TestClient, queued: dict[str, Any]
) -> None:
    shown = team.get(f"/team/review/{queued['item']}")
    accepted = pages.submit(
        team, shown.text, form_action(shown, "/accept"), {"child_id": queued["held"]}
    )
    change_href = location(accepted)
    assert re.fullmatch(
        rf"/team/review/changes/[0-9a-f-]{{36}}\?item={queued['item']}", change_href
    ), "only UUIDs of a change and an item"
    assert state(api, queued["provisional"]) == ("merged", queued["held"])
    assert owner(api, "L1") == queued["held"]
    assert item_status(api, queued["item"]) == "accepted"
    assert [e["details"]["item_id"] for e in api.audit("identity.accept")] == [str(queued["item"])]

    outcome = team.get(change_href)
    assert outcome.status_code == 200, outcome.text
    assert "<title>Record linked to a child – ContactPoint</title>" in outcome.text
    assert f"now with child {queued['held']}" in outcome.text
    assert 'href="/team/review"' in outcome.text
    assert "There are no records waiting for review." in team.get("/team/review").text

    undone = pages.submit(team, outcome.text, form_action(outcome, "/undo"))
    undo_href = location(undone)
    assert undo_href != change_href
    assert state(api, queued["provisional"]) == ("active", None)
    assert owner(api, "L1") == queued["provisional"]
    assert item_status(api, queued["item"]) == "open"
    after_undo = team.get(undo_href)
    assert "Change undone" in after_undo.text
    assert f'href="/team/review/{queued["item"]}"' in after_undo.text, "back to the item"
    assert "/undo" not in after_undo.text, "an undo is not undone"

    again = team.get(change_href)
    assert "This change has been undone" in again.text
    assert "/undo" not in again.text
    assert f"/team/review/{queued['item']}" in team.get("/team/review").text
    api.assert_audit_chain_intact()
    assert_nothing_personal_in_urls_or_title(
        api, [shown, accepted, outcome, undone, after_undo, again]
    )


def test_reject_keeps_the_record_as_a_new_child(
    api: Api, pages: Pages, team: TestClient, queued: dict[str, Any]
) -> None:
    shown = team.get(f"/team/review/{queued['item']}")
    rejected = pages.submit(team, shown.text, form_action(shown, "/reject"))
    outcome = team.get(location(rejected))
    assert "Record kept as a separate child" in outcome.text
    assert state(api, queued["provisional"]) == ("active", None)
    assert state(api, queued["held"]) == ("active", None)
    assert owner(api, "L1") == queued["provisional"] != owner(api, "P1")
    assert item_status(api, queued["item"]) == "rejected"

    decided = team.get(f"/team/review/{queued['item']}")
    assert "kept as a separate child" in decided.text
    assert "/accept" not in decided.text
    assert "/reject" not in decided.text
    assert path_of(location(rejected)) in decided.text, "the item leads to its decision"
    assert_nothing_personal_in_urls_or_title(api, [shown, rejected, outcome, decided])


def test_a_form_without_its_csrf_token_changes_nothing(
    api: Api, pages: Pages, team: TestClient, queued: dict[str, Any]
) -> None:
    item = f"/team/review/{queued['item']}"
    shown = team.get(item)
    attempts = [
        team.post(f"{item}/accept", data={"child_id": queued["held"]}),
        team.post(f"{item}/accept", data={"child_id": queued["held"], "csrf_token": "forged"}),
        team.post(f"{item}/reject", data={}),
        team.post(
            f"{item}/merge",
            data={"from_child_id": queued["provisional"], "into_child_id": queued["held"]},
        ),
    ]
    for attempt in attempts:
        assert attempt.status_code == 403, attempt.text
        assert "This form has expired" in attempt.text
    assert state(api, queued["provisional"]) == ("active", None)
    assert item_status(api, queued["item"]) == "open"
    assert not api.audit("identity.accept")
    assert not api.audit("identity.merge")

    accepted = pages.submit(
        team, shown.text, form_action(shown, "/accept"), {"child_id": queued["held"]}
    )
    change = path_of(location(accepted))
    assert team.post(f"{change}/undo", data={}).status_code == 403
    assert state(api, queued["provisional"]) == ("merged", queued["held"])


def test_deciding_a_decided_item_is_an_error_message_not_a_trace(
    api: Api, pages: Pages, team: TestClient, queued: dict[str, Any]
) -> None:
    shown = team.get(f"/team/review/{queued['item']}")
    first = pages.submit(team, shown.text, form_action(shown, "/reject"))
    assert first.status_code == 303
    again = pages.submit(
        team, shown.text, form_action(shown, "/accept"), {"child_id": queued["held"]}
    )
    assert again.status_code == 409, again.text
    assert "There is a problem" in again.text
    assert "already rejected" in again.text
    assert "<title>Error: Review a record – ContactPoint</title>" in again.text
    assert "Traceback" not in again.text
    assert state(api, queued["provisional"]) == ("active", None)

    stranger = pages.submit(
        team, shown.text, form_action(shown, "/accept"), {"child_id": "not a child"}
    )
    assert stranger.status_code in (400, 409)
    assert "There is a problem" in stranger.text


def test_undo_refused_while_a_later_change_depends_on_it(
    api: Api, pages: Pages, team: TestClient, queued: dict[str, Any]
) -> None:
    shown = team.get(f"/team/review/{queued['item']}")
    accepted = location(
        pages.submit(team, shown.text, form_action(shown, "/accept"), {"child_id": queued["held"]})
    )
    decided = team.get(f"/team/review/{queued['item']}")
    assert "Split a record off" in decided.text, "the child now holds both records"
    split = pages.submit(
        team,
        decided.text,
        form_action(decided, "/split"),
        {"child_id": queued["held"], "record_id": _record_id(api, "L1")},
    )
    split_page = team.get(location(split))
    assert "Record split off to a new child" in split_page.text

    outcome = team.get(accepted)
    refused = pages.submit(team, outcome.text, form_action(outcome, "/undo"))
    assert refused.status_code == 409, refused.text
    assert "There is a problem" in refused.text
    assert "later change" in refused.text
    assert "Traceback" not in refused.text
    assert state(api, queued["provisional"]) == ("merged", queued["held"])
    assert_nothing_personal_in_urls_or_title(api, [decided, split, split_page, refused])


def _record_id(api: Api, source_record_id: str) -> str:
    with api.sessions() as session:
        return str(
            session.execute(
                select(SourceRecord.id).where(SourceRecord.source_record_id == source_record_id)
            ).scalar_one()
        )


# --- merge and split from the comparison ----------------------------------------------


@pytest.fixture
def two_candidates(api: Api) -> dict[str, Any]:
    """A record that might be either of two children, who are in fact one child."""
    now = api.clock.now()
    with api.sessions.begin() as session:
        first = add_child(session, now)
        add_record(session, api.vault, first, now, source="nhs-pds", source_record_id="A1")
        second = add_child(session, now)
        add_record(session, api.vault, second, now, source="school-census", source_record_id="B1")
        provisional = add_child(session, now)
        record = add_record(
            session,
            api.vault,
            provisional,
            now,
            source="local-authority",
            source_record_id="C1",
            child=details(nhs_number=None),
        )
        item = add_item(session, record, provisional, [first, second], now, reason="ambiguous")
    return {"first": first, "second": second, "provisional": provisional, "item": item}


def test_two_possible_children_can_be_merged_from_the_comparison(
    api: Api, pages: Pages, team: TestClient, two_candidates: dict[str, Any]
) -> None:
    first, second = two_candidates["first"], two_candidates["second"]
    shown = team.get(f"/team/review/{two_candidates['item']}")
    assert "Merge these children" in shown.text
    assert "More than one possible child" in shown.text

    missing = pages.submit(team, shown.text, form_action(shown, "/merge"), {"from_child_id": first})
    assert missing.status_code == 400
    assert 'href="#into_child_id"' in missing.text
    assert "Select the child that should keep the records" in missing.text
    same = pages.submit(
        team,
        shown.text,
        form_action(shown, "/merge"),
        {"from_child_id": first, "into_child_id": first},
    )
    assert same.status_code == 400
    assert "Select a different child" in same.text
    assert state(api, first) == ("active", None)

    merged = pages.submit(
        team,
        shown.text,
        form_action(shown, "/merge"),
        {"from_child_id": first, "into_child_id": second},
    )
    outcome = team.get(location(merged))
    assert "Children merged" in outcome.text
    assert state(api, first) == ("merged", second)
    assert owner(api, "A1") == second
    assert item_status(api, two_candidates["item"]) == "open", "merging decides no item"
    assert f'href="/team/review/{two_candidates["item"]}"' in outcome.text, "back to the item"
    (entry,) = api.audit("identity.merge")
    assert entry["actor"].startswith("la.admin")

    undone = pages.submit(team, outcome.text, form_action(outcome, "/undo"))
    assert location(undone)
    assert state(api, first) == ("active", None)
    assert_nothing_personal_in_urls_or_title(api, [shown, missing, same, merged, outcome, undone])


def test_a_record_is_split_off_a_candidate_to_a_new_child(
    api: Api, pages: Pages, team: TestClient, two_candidates: dict[str, Any]
) -> None:
    first = two_candidates["first"]
    with api.sessions.begin() as session:
        add_record(
            session,
            api.vault,
            first,
            api.clock.now(),
            source="school-census",
            source_record_id="X9",
        )
    shown = team.get(f"/team/review/{two_candidates['item']}")
    assert "Split this record off" in shown.text
    split = pages.submit(
        team,
        shown.text,
        form_action(shown, "/split"),
        {"child_id": first, "record_id": _record_id(api, "X9")},
    )
    outcome = team.get(location(split))
    assert "Record split off to a new child" in outcome.text
    new_child = owner(api, "X9")
    assert new_child not in (first, two_candidates["second"])
    assert f"ContactPoint ID {new_child}" in outcome.text
    assert owner(api, "A1") == first
    assert len(api.audit("identity.split")) == 1

    elsewhere = pages.submit(
        team,
        shown.text,
        form_action(shown, "/split"),
        {"child_id": first, "record_id": _record_id(api, "B1")},
    )
    assert elsewhere.status_code == 409
    assert "does not hold" in elsewhere.text
    assert_nothing_personal_in_urls_or_title(api, [shown, split, outcome, elsewhere])

"""Identity resolution through ingest, on both databases: the issue's cases end to end."""

from __future__ import annotations

import json

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.services.candidate_pool import FeatureMemory
from contactpoint.services.identity_changes import merge
from contactpoint.services.shielding import shield
from contactpoint.store.tables import Child, ReviewItem, SourceRecord
from contactpoint.vault.keyring import Keyring
from tests.feeds.lines import line
from tests.services.helpers import Ingest, links

TEAM = Actor(name="team.leeds", role="la_admin", organisation="Leeds City Council")
NHS_TWIN = "4010232137"


def child_of(connection: Connection, source: str, record: str) -> str:
    return links(connection)[(source, record)]


def test_twins_stay_two_children(ingest: Ingest, connection: Connection) -> None:
    ingest("nhs-pds", line(_source_record_id="P1"))
    report = ingest(
        "nhs-pds",
        line(
            _source_record_id="P2",
            given_names="Isla Mae",
            preferred_name=None,
            nhs_number=NHS_TWIN,
            upn=None,
        ),
    )
    assert (report.counts.created, report.counts.linked, report.counts.queued_for_review) == (
        1,
        0,
        0,
    )
    benefit = ingest(
        "child-benefit",
        line(
            _source_record_id="C2",
            given_names="Isla",
            preferred_name=None,
            nhs_number=None,
            upn=None,
        ),
    )
    assert benefit.counts.linked == 1
    assert child_of(connection, "child-benefit", "C2") == child_of(connection, "nhs-pds", "P2")
    assert child_of(connection, "nhs-pds", "P1") != child_of(connection, "nhs-pds", "P2")


def test_a_nickname_and_a_moved_address_link(ingest: Ingest, connection: Connection) -> None:
    ingest("nhs-pds", line(_source_record_id="P1", given_names="Elizabeth Rose"))
    moved = line(
        _source_record_id="S1",
        given_names="Libby",
        nhs_number=None,
        upn="A123456789012",
        address={"lines": ["4 New Road"], "town": "Bristol", "postcode": "BS7 8AA"},
    )
    assert ingest("school-census", moved).counts.linked == 1
    assert child_of(connection, "school-census", "S1") == child_of(connection, "nhs-pds", "P1")


def test_a_transposed_birth_date_is_linked_or_queued_never_a_silent_duplicate(
    ingest: Ingest, connection: Connection, session: Session
) -> None:
    ingest("nhs-pds", line(_source_record_id="P1", date_of_birth="2014-03-07"))
    report = ingest(
        "child-benefit",
        line(_source_record_id="C1", nhs_number=None, date_of_birth="2014-07-03"),
    )
    assert report.counts.created == 0
    if report.counts.queued_for_review:
        item = session.execute(select(ReviewItem)).scalar_one()
        candidates = [c["child_id"] for c in json.loads(item.candidates)]
        assert candidates == [child_of(connection, "nhs-pds", "P1")]


def test_shielding_reaches_a_near_duplicate(
    ingest: Ingest,
    connection: Connection,
    sessions: sessionmaker[Session],
    session: Session,
    keyring: Keyring,
    clock: FixedClock,
) -> None:
    ingest("nhs-pds", line(_source_record_id="P1"))
    shielded_child = child_of(connection, "nhs-pds", "P1")
    with sessions.begin() as work:
        shield(
            work,
            clock=clock,
            audit_key=keyring.audit_key,
            actor=TEAM,
            child_id=shielded_child,
            reason_code="risk_of_significant_harm",
        )
    duplicate = line(_source_record_id="L1", nhs_number=NHS_TWIN)
    report = ingest("local-authority", duplicate)
    assert report.counts.queued_for_review == 1
    newcomer = session.get(Child, child_of(connection, "local-authority", "L1"))
    assert newcomer is not None
    assert newcomer.id != shielded_child
    assert (newcomer.shielded, newcomer.shield_origin) == (True, "review")


def test_a_twin_of_a_shielded_child_is_shielded_until_reviewed(
    ingest: Ingest,
    connection: Connection,
    sessions: sessionmaker[Session],
    session: Session,
    keyring: Keyring,
    clock: FixedClock,
) -> None:
    ingest("nhs-pds", line(_source_record_id="P1"))
    with sessions.begin() as work:
        shield(
            work,
            clock=clock,
            audit_key=keyring.audit_key,
            actor=TEAM,
            child_id=child_of(connection, "nhs-pds", "P1"),
            reason_code="risk_of_significant_harm",
        )
    twin = line(
        _source_record_id="P2",
        given_names="Isla Mae",
        preferred_name=None,
        nhs_number=NHS_TWIN,
        upn=None,
    )
    assert ingest("nhs-pds", twin).counts.queued_for_review == 1
    item = session.execute(select(ReviewItem)).scalar_one()
    assert item.reason == "shielded_candidate"
    newcomer = session.get(Child, child_of(connection, "nhs-pds", "P2"))
    assert newcomer is not None
    assert newcomer.shielded


def test_reingesting_after_review_items_is_still_a_no_op(
    ingest: Ingest, connection: Connection
) -> None:
    lines = [line(_source_record_id="P1"), line(_source_record_id="P2", nhs_number=NHS_TWIN)]
    first = ingest("nhs-pds", *lines)
    assert first.counts.queued_for_review == 1
    before = links(connection)
    again = ingest("nhs-pds", *lines)
    assert again.counts.unchanged == 2
    assert links(connection) == before


def test_a_record_sharing_no_key_counts_once_its_child_comes_near(
    ingest: Ingest,
    connection: Connection,
    sessions: sessionmaker[Session],
    session: Session,
    keyring: Keyring,
    clock: FixedClock,
) -> None:
    """Ingest reads a child whole once one of its records comes near the line: the
    child's other record, sharing no blocking key with the line, still holds an NHS
    number of its own, so the line waits for review instead of linking."""
    ingest("school-census", line(_source_record_id="S1", nhs_number=None))
    elsewhere = {"lines": ["3 Mill Lane"], "town": "Manchester", "postcode": "M1 1AA"}
    ingest(
        "nhs-pds",
        line(
            _source_record_id="P9",
            given_names="Zara",
            preferred_name=None,
            family_name="Okafor",
            former_family_names=[],
            date_of_birth="2011-11-23",
            nhs_number=NHS_TWIN,
            upn=None,
            address=elsewhere,
        ),
    )
    with sessions.begin() as work:
        merge(
            work,
            clock=clock,
            audit_key=keyring.audit_key,
            actor=TEAM,
            from_child_id=child_of(connection, "nhs-pds", "P9"),
            into_child_id=child_of(connection, "school-census", "S1"),
        )
    report = ingest("child-benefit", line(_source_record_id="C1", upn=None))
    assert (report.counts.linked, report.counts.queued_for_review) == (0, 1)
    item = session.execute(select(ReviewItem)).scalar_one()
    assert item.reason == "conflicting_identifier"
    assert [c["child_id"] for c in json.loads(item.candidates)] == [
        child_of(connection, "school-census", "S1")
    ]


def test_without_the_other_record_the_same_line_links(
    ingest: Ingest, connection: Connection
) -> None:
    """The control for the test above: the NHS number alone kept the line from linking."""
    ingest("school-census", line(_source_record_id="S1", nhs_number=None))
    report = ingest("child-benefit", line(_source_record_id="C1", upn=None))
    assert report.counts.linked == 1
    assert child_of(connection, "child-benefit", "C1") == child_of(
        connection, "school-census", "S1"
    )


def test_every_record_of_a_contender_is_read_though_the_feature_cache_is_full(
    ingest: Ingest, connection: Connection, session: Session
) -> None:
    """Decrypting a record's features makes room in the cache by forgetting the oldest:
    a record the cache held when the read began must not be forgotten before it is used
    (the child would be judged without it)."""
    ingest("school-census", line(_source_record_id="S1", nhs_number=None))
    ingest("nhs-pds", line(_source_record_id="P9", given_names="Zara", date_of_birth="2011-11-23"))
    ids = dict(
        connection.execute(select(SourceRecord.source_record_id, SourceRecord.id)).tuples().all()
    )
    s1, p9 = str(ids["S1"]), str(ids["P9"])
    memory = FeatureMemory(ingest.ingestor._tools.vault, 1)
    memory.read(session, [s1], remember=True)
    found, decrypted = memory.read(session, [p9, s1], remember=True)
    assert set(found) == {p9, s1}
    assert decrypted == {p9}
    assert len(memory) == 1
    assert memory.get(p9) is not None

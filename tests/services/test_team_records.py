"""The team's own records: the same path as a feed's lines, and out of every feed's reach."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.domain.team_entry import TeamChildEntry
from contactpoint.domain.vocabulary import Role
from contactpoint.errors import ContactPointError
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.services.feed_tools import FeedTools
from contactpoint.services.ingest import TEAM_ID_REFUSED
from contactpoint.services.initial_load import InitialLoader
from contactpoint.services.sign_in import Principal
from contactpoint.services.team_records import (
    Invalid,
    Saved,
    TeamOutcome,
    create_team_record,
)
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.feeds.lines import dumps, line
from tests.services.helpers import Ingest, links

ENTRY = TeamChildEntry(
    given_names="Yonas",
    family_name="Gebremedhin",
    dob_day="3",
    dob_month="9",
    dob_year="2010",
    gender="male",
    situation="traveller",
    whereabouts="no_fixed_abode",
    team="Leeds Children's Social Care",
    lead_email="team@leeds.example",
)


@pytest.fixture
def tools(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> FeedTools:
    return FeedTools(
        sessions,
        vault=vault,
        indexer=BlindIndexer(keyring),
        digester=ContentDigester(keyring),
        linker=ProbabilisticLinker(load_model()),
        clock=clock,
        audit_key=keyring.audit_key,
        actor=actor,
    )


def principal(role: Role = Role.LA_ADMIN, area: str | None = "Leeds") -> Principal:
    return Principal(
        user_id=1,
        username="leeds.admin",
        role=role,
        organisation="Leeds City Council",
        area=area,
        token_id=uuid.uuid4(),
    )


def test_a_feed_may_not_write_or_end_a_team_record(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
    connection: Connection,
) -> None:
    ingest = Ingest(tmp_path, sessions, vault, keyring, clock, actor)
    report = ingest(
        "local-authority",
        line(_source_record_id="team:0123456789abcdef"),
        {"source_record_id": "team:0123456789abcdef", "action": "end"},
        line(_source_record_id="LA-1"),
    )
    assert [(r.line_number, r.reason) for r in report.rejections] == [
        (1, TEAM_ID_REFUSED),
        (2, TEAM_ID_REFUSED),
    ]
    assert set(links(connection)) == {("local-authority", "LA-1")}
    other = ingest("school-census", line(_source_record_id="team:1"))
    assert other.counts.accepted == 1, "other sources' ids are their own business"


def test_the_initial_load_refuses_team_record_ids_too(
    tools: FeedTools, tmp_path: Path, connection: Connection
) -> None:
    path = tmp_path / "la.jsonl"
    path.write_bytes(dumps(line(_source_record_id="team:abc"), line(_source_record_id="LA-1")))
    report = InitialLoader(tools).load([("local-authority", path)])
    (feed,) = report.feeds
    assert [(r.line_number, r.reason) for r in feed.rejections] == [(1, TEAM_ID_REFUSED)]
    assert set(links(connection)) == {("local-authority", "LA-1")}


def test_a_team_record_is_a_local_authority_source_record_with_its_own_id(
    tools: FeedTools, connection: Connection
) -> None:
    saved = create_team_record(
        tools, principal=principal(), entry=ENTRY, reason_code="data_quality", reason_detail=""
    )
    assert isinstance(saved, Saved)
    assert saved.outcome is TeamOutcome.NEW_CHILD
    ((source, source_record_id),) = links(connection)
    assert source == "local-authority"
    assert source_record_id.startswith("team:")
    assert len(source_record_id) == 37


def test_only_a_team_with_an_area_keeps_records(tools: FeedTools, connection: Connection) -> None:
    for who in (principal(Role.PRACTITIONER), principal(area=None)):
        with pytest.raises(ContactPointError):
            create_team_record(
                tools, principal=who, entry=ENTRY, reason_code="data_quality", reason_detail=""
            )
    assert links(connection) == {}


def test_an_invalid_entry_or_reason_writes_nothing(
    tools: FeedTools, connection: Connection
) -> None:
    bad = create_team_record(
        tools,
        principal=principal(),
        entry=ENTRY,
        reason_code="curiosity",
        reason_detail="",
    )
    assert isinstance(bad, Invalid)
    assert [e.field for e in bad.errors] == ["reason_code"]
    assert links(connection) == {}

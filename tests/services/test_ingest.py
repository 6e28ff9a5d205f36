"""Ingest against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.records import load_child_record
from contactpoint.store.tables import AuditEntry
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.feeds.lines import line
from tests.services.helpers import Ingest, counts, links


def test_new_record_creates_a_child(ingest: Ingest, connection: Connection) -> None:
    report = ingest("school-census", line())
    assert (report.counts.accepted, report.counts.created, report.counts.rejected) == (1, 1, 0)
    assert counts(connection)["children"] == 1


def test_same_nhs_number_links_across_sources(ingest: Ingest, connection: Connection) -> None:
    ingest("school-census", line(upn=None))
    report = ingest("nhs-pds", line(_source_record_id="PDS-1", given_names="Millie"))
    assert report.counts.linked == 1
    found = links(connection)
    assert found[("school-census", "SC-000123")] == found[("nhs-pds", "PDS-1")]


def test_same_upn_links_when_nhs_numbers_do_not_conflict(
    ingest: Ingest, connection: Connection
) -> None:
    ingest("school-census", line(nhs_number=None))
    report = ingest("local-authority", line(_source_record_id="LA-9"))
    assert report.counts.linked == 1
    assert len(set(links(connection).values())) == 1


def test_different_nhs_numbers_are_never_linked_even_with_same_upn(
    ingest: Ingest, connection: Connection
) -> None:
    ingest("nhs-pds", line())
    report = ingest("school-census", line(_source_record_id="X-1", nhs_number="4010232137"))
    assert report.counts.linked == 0
    assert report.counts.queued_for_review == 1, "all else agrees: a person must look"
    assert len(set(links(connection).values())) == 2


def test_no_identifier_links_on_agreeing_details(ingest: Ingest, connection: Connection) -> None:
    ingest("nhs-pds", line())
    report = ingest("child-benefit", line(_source_record_id="CB-1", nhs_number=None, upn=None))
    assert report.counts.linked == 1
    assert len(set(links(connection).values())) == 1


def test_links_within_one_batch(ingest: Ingest, connection: Connection) -> None:
    report = ingest(
        "nhs-pds",
        line(_source_record_id="A"),
        line(_source_record_id="B", upn=None),
    )
    assert (report.counts.created, report.counts.linked) == (1, 1)
    assert len(set(links(connection).values())) == 1


def test_reingesting_the_same_file_changes_nothing(ingest: Ingest, connection: Connection) -> None:
    lines = [line(_source_record_id=f"R{i}", nhs_number=None, upn=None) for i in range(5)]
    ingest("school-census", *lines)
    before = (counts(connection), links(connection))
    report = ingest("school-census", *lines)
    assert report.counts.unchanged == 5
    assert report.counts.created + report.counts.updated + report.counts.linked == 0
    assert (counts(connection), links(connection)) == before


def test_update_changes_the_record_and_keeps_the_child(
    ingest: Ingest, connection: Connection, vault: Vault, session: Session
) -> None:
    ingest("school-census", line())
    report = ingest("school-census", line(family_name="Khan-Smith"))
    assert report.counts.updated == 1
    (child_id,) = set(links(connection).values())
    record = load_child_record(session, vault, child_id)
    assert record is not None
    assert record.family_name.value == "Khan-Smith"


def test_end_removes_the_record_from_view_and_index(
    ingest: Ingest, connection: Connection, vault: Vault, session: Session
) -> None:
    ingest("school-census", line())
    tokens_before = counts(connection)["tokens"]
    report = ingest("school-census", {"source_record_id": "SC-000123", "action": "end"})
    assert report.counts.ended == 1
    assert tokens_before > 0
    assert counts(connection)["tokens"] == 0
    (child_id,) = set(links(connection).values())
    assert load_child_record(session, vault, child_id) is None
    again = ingest("school-census", {"source_record_id": "SC-000123", "action": "end"})
    assert again.counts.unchanged == 1


def test_ending_an_unknown_record_is_rejected(ingest: Ingest) -> None:
    report = ingest("school-census", {"source_record_id": "NOPE", "action": "end"})
    assert report.counts.rejected == 1
    assert "never sent" in report.rejections[0].reason


def test_bad_lines_leave_nothing_and_others_go_on(ingest: Ingest, connection: Connection) -> None:
    report = ingest(
        "school-census",
        line(_source_record_id="OK1", nhs_number=None, upn=None),
        line(_source_record_id="BAD", photo="x"),
        line(_source_record_id="OK2", nhs_number=None, upn=None),
    )
    assert report.counts.accepted == 2
    assert [r.line_number for r in report.rejections] == [2]
    assert set(links(connection)) == {("school-census", "OK1"), ("school-census", "OK2")}


@pytest.mark.parametrize(
    "names",
    [
        {"given_names": "Robert'); DROP TABLE children;--", "family_name": "O'Brien"},
        {"given_names": "Zoë Siân", "family_name": "Łukasiewicz-Ó Súilleabháin"},
        {"given_names": "小龍", "family_name": "李"},
        {"given_names": "محمد", "family_name": "الحسن"},
        {"given_names": "Ольга", "family_name": "Петренко"},
    ],
)
def test_names_round_trip_intact(
    ingest: Ingest, vault: Vault, session: Session, connection: Connection, names: dict[str, str]
) -> None:
    report = ingest(
        "school-census", line(**names, former_family_names=[names["family_name"] + "x"])
    )
    assert report.counts.created == 1
    (child_id,) = set(links(connection).values())
    record = load_child_record(session, vault, child_id)
    assert record is not None
    assert record.given_names.value == names["given_names"]
    assert record.family_name.value == names["family_name"]
    assert record.former_family_names[0].value == names["family_name"] + "x"


def test_record_keeps_provenance_of_every_field(
    ingest: Ingest, vault: Vault, session: Session, connection: Connection
) -> None:
    ingest("nhs-pds", line(_source_record_id="P1", upn=None))
    ingest("school-census", line(upn="A123456789012", preferred_name=None))
    (child_id,) = set(links(connection).values())
    record = load_child_record(session, vault, child_id)
    assert record is not None
    assert record.upn is not None
    assert record.upn.provenance.source == "school-census"
    (school,) = record.services
    assert school.provenance.source == "school-census", "the census is the school's own return"
    assert "services" not in record.alternatives


def test_every_batch_is_audited_and_chain_verifies(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
    session: Session,
) -> None:
    small_batches = Ingest(tmp_path, sessions, vault, keyring, clock, actor, batch_size=2)
    lines = [line(_source_record_id=f"R{i}", nhs_number=None, upn=None) for i in range(5)]
    small_batches("school-census", *lines)
    actions = session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars().all()
    assert actions.count("ingest.batch") == 3
    assert actions[-1] == "ingest.file"
    assert verify_audit(session, keyring.audit_key).ok


def test_the_collector_runs_between_batches_and_not_during_them(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Into a large index automatic collections took a third of an ingest
    (services/collection.py): each batch's end is counted, and none runs inside."""
    import gc

    from contactpoint.services import ingest as ingest_module

    enabled_at_batch_end: list[tuple[bool, int]] = []
    real_collect = ingest_module.collect_after_batch

    def watched(batches_done: int) -> None:
        enabled_at_batch_end.append((gc.isenabled(), batches_done))
        real_collect(batches_done)

    monkeypatch.setattr(ingest_module, "collect_after_batch", watched)
    small_batches = Ingest(tmp_path, sessions, vault, keyring, clock, actor, batch_size=2)
    lines = [line(_source_record_id=f"R{i}", nhs_number=None, upn=None) for i in range(5)]
    small_batches("school-census", *lines)
    assert enabled_at_batch_end == [(False, 1), (False, 2), (False, 3)]
    assert gc.isenabled()


def test_a_batch_the_database_refuses_is_applied_line_by_line(
    ingest: Ingest, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One line the database refuses costs only that line, never the batch."""
    from sqlalchemy.exc import IntegrityError

    from contactpoint.services import ingest as ingest_module

    real_apply = ingest_module.FeedIngestor._apply

    def refuse_bad(self, session, source, batch, read=None):  # type: ignore[no-untyped-def]
        if any(p.source_record_id == "POISON" for p in batch):
            raise IntegrityError("simulated", None, Exception("refused"))
        return real_apply(self, session, source, batch, read)

    monkeypatch.setattr(ingest_module.FeedIngestor, "_apply", refuse_bad)
    report = ingest(
        "school-census",
        line(_source_record_id="A", nhs_number=None, upn=None),
        line(_source_record_id="POISON", nhs_number=None, upn=None),
        line(_source_record_id="B", nhs_number=None, upn=None),
    )
    assert report.counts.accepted == 2
    assert [r.line_number for r in report.rejections] == [2]
    assert "database refused" in report.rejections[0].reason
    assert set(links(connection)) == {("school-census", "A"), ("school-census", "B")}


def test_bad_source_name_is_refused(ingest: Ingest) -> None:
    from contactpoint.errors import ContactPointError

    with pytest.raises(ContactPointError, match="lower-case"):
        ingest("School Census!", line())


@pytest.mark.parametrize(
    ("changes", "status", "has_address"),
    [
        ({"address_status": "left_england"}, "left_england", True),
        ({"address_status": "none_known", "address": None}, "none_known", False),
        ({}, None, True),
    ],
)
def test_address_status_round_trips(
    ingest: Ingest,
    vault: Vault,
    session: Session,
    connection: Connection,
    changes: dict[str, object],
    status: str | None,
    has_address: bool,
) -> None:
    ingest("local-authority", line(**changes))
    (child_id,) = set(links(connection).values())
    record = load_child_record(session, vault, child_id)
    assert record is not None
    assert (record.address_status.value if record.address_status else None) == status
    assert (record.address is not None) == has_address

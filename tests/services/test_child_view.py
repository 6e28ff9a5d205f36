"""Viewing a child: every role and every state, on SQLite and PostgreSQL, every look audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor, AuditBatch
from contactpoint.clock import FixedClock
from contactpoint.domain.reasons import AccessReason, ReasonCode
from contactpoint.domain.views import ChildView, Denial, Viewer, ViewKind, view_of
from contactpoint.domain.vocabulary import Role
from contactpoint.services import identity_changes
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.child_view import VIEW_FIELDS, AccessRefusedError, view_child
from contactpoint.services.records import (
    IDENTITY_FIELDS,
    NOT_DECRYPTED,
    RECORD_FIELDS,
    load_child_record,
)
from contactpoint.services.sign_in import Principal
from contactpoint.store import identity as identity_store
from contactpoint.store.tables import AuditEntry
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.services.child_states import (
    DENIED_TEXT,
    EXPECTED_FIELDS,
    EXPECTED_KIND,
    SHIELDED_DENIED_TEXT,
    STATES,
    outcome_of,
    place_child,
)
from tests.services.placement import snapshot
from tests.sql_statements import watch

REASON = AccessReason(ReasonCode.CHILD_PROTECTION_ENQUIRY, "strategy meeting about Amelia Khan")
TEAM = "ContactPoint team, 0300 000 0000"

PRINCIPALS = {
    "practitioner": (Role.PRACTITIONER, None),
    "emergency": (Role.EMERGENCY, None),
    "la_admin_in_area": (Role.LA_ADMIN, "Leeds"),
    "la_admin_elsewhere": (Role.LA_ADMIN, "Wakefield"),
    "auditor": (Role.AUDITOR, None),
    "feed": (Role.FEED, None),
}


def principal(who: str) -> Principal:
    role, area = PRINCIPALS[who]
    return Principal(
        user_id=7,
        username=f"user.{who}",
        role=role,
        organisation="Leeds Park Primary School",
        area=area,
        token_id=uuid.uuid4(),
    )


class Viewing:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: Vault,
        keyring: Keyring,
        clock: FixedClock,
        actor: Actor,
    ) -> None:
        self.sessions, self.vault, self.keyring, self.clock, self.actor = (
            sessions,
            vault,
            keyring,
            clock,
            actor,
        )

    def place(self, state: str) -> str:
        return place_child(
            self.sessions,
            vault=self.vault,
            clock=self.clock,
            audit_key=self.keyring.audit_key,
            actor=self.actor,
            state=state,
        )

    def view(
        self,
        who: str | Principal,
        child_id: str,
        reason: AccessReason = REASON,
        **options: str,
    ) -> ChildView | AccessRefusedError | None:
        caller = principal(who) if isinstance(who, str) else who
        with self.sessions.begin() as session:
            try:
                return view_child(
                    session,
                    vault=self.vault,
                    clock=self.clock,
                    audit_key=self.keyring.audit_key,
                    principal=caller,
                    child_id=child_id,
                    reason=reason,
                    team_contact=TEAM,
                    **options,
                )
            except AccessRefusedError as refused:
                return refused

    def entries(self, action: str = "child.view") -> list[AuditEntry]:
        with self.sessions() as session:
            return list(
                session.execute(
                    select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
                ).scalars()
            )

    def chain_verifies(self) -> bool:
        with self.sessions() as session:
            return verify_audit(session, self.keyring.audit_key).ok


@pytest.fixture
def viewing(
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> Viewing:
    vault.prepare()
    return Viewing(sessions, vault, keyring, clock, actor)


@pytest.mark.parametrize("who", list(PRINCIPALS))
def test_every_role_and_state_gives_exactly_the_allowed_fields_and_is_audited(
    viewing: Viewing, who: str
) -> None:
    children = {state: viewing.place(state) for state in STATES}
    for state, child_id in children.items():
        expected = EXPECTED_KIND[who][state]
        result = viewing.view(who, child_id)
        if expected is Denial.REFUSED:
            assert isinstance(result, AccessRefusedError)
        elif expected is Denial.NOT_FOUND:
            assert result is None
        else:
            assert isinstance(result, ChildView), (who, state)
            assert result.kind is expected
            assert set(result.fields) == EXPECTED_FIELDS[expected]
            assert result.fields["contactpoint_id"] == child_id
            text = json.dumps(result.to_json())
            if expected is not ViewKind.FULL:
                for denied in DENIED_TEXT:
                    assert denied not in text, (who, state, denied)
            if expected in (ViewKind.SHIELDED, ViewKind.EMERGENCY):
                for denied in SHIELDED_DENIED_TEXT:
                    assert denied not in text, (who, state, denied)
            if expected is ViewKind.FULL and state == "sensitive_not_consented":
                assert "Headingley" in text
            if expected is ViewKind.PRACTITIONER and state == "sensitive_consented":
                assert "Leeds CAMHS" in text
        entry = viewing.entries()[-1]
        assert entry.outcome == outcome_of(expected, state), (who, state)
        assert entry.child_id == child_id
        assert entry.actor == f"user.{who}"
        assert entry.role == PRINCIPALS[who][0].value
        assert entry.organisation == "Leeds Park Primary School"
        assert entry.reason_code == "child_protection_enquiry"
    assert len(viewing.entries()) == len(STATES)
    assert viewing.chain_verifies()


def test_the_audit_holds_no_personal_data_and_fingerprints_the_free_text(
    viewing: Viewing,
) -> None:
    child_id = viewing.place("ordinary")
    viewing.view("practitioner", child_id)
    viewing.view("practitioner", child_id)
    viewing.view("practitioner", child_id, AccessReason(ReasonCode.ASSESSMENT, ""))
    first, second, third = viewing.entries()
    for entry in (first, second, third):
        for personal in ("Amelia", "Khan", "Leeds", "2014", "strategy", "LS1"):
            assert personal not in entry.details
    details = json.loads(first.details)
    assert details["reason_detail_length"] == len(REASON.detail)
    assert (
        details["reason_detail_fingerprint"]
        == json.loads(second.details)["reason_detail_fingerprint"]
    )
    assert details["view"] == "practitioner"
    assert json.loads(third.details) == {
        "token_id": json.loads(third.details)["token_id"],
        "reason_detail_length": 0,
        "view": "practitioner",
    }


@pytest.mark.parametrize("child_id", ["7K2M-QX9D-4TB4", "not an id", "", "Amelia Khan 2014-03-07"])
def test_unknown_and_malformed_ids_are_not_found_and_audited_without_the_input(
    viewing: Viewing, child_id: str
) -> None:
    assert viewing.view("practitioner", child_id) is None
    (entry,) = viewing.entries()
    assert entry.outcome == "not_found"
    assert "Amelia" not in entry.details
    assert entry.child_id in (None, "7K2M-QX9D-4TB4")


def test_an_old_id_leads_to_the_child_it_was_merged_into(viewing: Viewing) -> None:
    old = viewing.place("ordinary")
    survivor = viewing.place("ordinary")
    with viewing.sessions.begin() as session:
        identity_changes.merge(
            session,
            clock=viewing.clock,
            audit_key=viewing.keyring.audit_key,
            actor=viewing.actor,
            from_child_id=old,
            into_child_id=survivor,
        )
    view = viewing.view("practitioner", old)
    assert isinstance(view, ChildView)
    assert view.fields["contactpoint_id"] == survivor
    (entry,) = viewing.entries()
    assert entry.child_id == survivor
    assert json.loads(entry.details)["requested_child_id"] == old


def test_a_merge_carries_the_shield_to_the_view(viewing: Viewing) -> None:
    shielded = viewing.place("shielded")
    other = viewing.place("ordinary")
    with viewing.sessions.begin() as session:
        identity_changes.merge(
            session,
            clock=viewing.clock,
            audit_key=viewing.keyring.audit_key,
            actor=viewing.actor,
            from_child_id=shielded,
            into_child_id=other,
        )
    for child_id in (shielded, other):
        view = viewing.view("practitioner", child_id)
        assert isinstance(view, ChildView)
        assert view.kind is ViewKind.SHIELDED


def test_a_child_becomes_invisible_to_practitioners_on_the_eighteenth_birthday(
    viewing: Viewing, clock: FixedClock
) -> None:
    child_id = viewing.place("archived")
    clock.advance(timedelta(days=-1))
    assert isinstance(viewing.view("practitioner", child_id), ChildView)
    clock.advance(timedelta(days=1))
    assert viewing.view("practitioner", child_id) is None
    assert isinstance(viewing.view("la_admin_in_area", child_id), ChildView)
    assert [e.outcome for e in viewing.entries()] == ["shown", "not_found", "shown"]
    assert [json.loads(e.details).get("why") for e in viewing.entries()] == [
        None,
        "archived",
        None,
    ]


def test_a_refusal_is_audited_in_the_callers_transaction(viewing: Viewing) -> None:
    child_id = viewing.place("ordinary")
    refused = viewing.view("auditor", child_id)
    assert isinstance(refused, AccessRefusedError)
    assert "auditors read the audit log" in str(refused)
    (entry,) = viewing.entries()
    assert (entry.outcome, entry.child_id, entry.role) == ("refused", child_id, "auditor")
    assert json.loads(entry.details)["cause"] == "role"


def test_a_search_renders_its_child_under_its_own_audit_action(viewing: Viewing) -> None:
    child_id = viewing.place("shielded")
    view = viewing.view("practitioner", child_id, audit_action="search.view")
    assert isinstance(view, ChildView)
    assert viewing.entries() == []
    (entry,) = viewing.entries("search.view")
    assert entry.outcome == "shielded_view"


def test_a_view_changes_nothing_but_the_audit_log(viewing: Viewing) -> None:
    child_id = viewing.place("ordinary")
    with viewing.sessions() as session:
        before = snapshot(session)
    viewing.view("practitioner", child_id)
    viewing.view("la_admin_in_area", child_id)
    with viewing.sessions() as session:
        assert snapshot(session) == before
    assert [e.action for e in viewing.entries()] == ["child.view", "child.view"]
    assert viewing.chain_verifies()


def test_a_view_can_leave_its_entry_to_the_callers_batch(viewing: Viewing) -> None:
    """A search hands its batch in, so the view's entry goes into the chain with the
    search's own, in the same transaction, under one lock."""
    child_id = viewing.place("ordinary")
    batch = AuditBatch()
    with viewing.sessions.begin() as session:
        view = view_child(
            session,
            vault=viewing.vault,
            clock=viewing.clock,
            audit_key=viewing.keyring.audit_key,
            principal=principal("practitioner"),
            child_id=child_id,
            reason=REASON,
            audit_action="search.view",
            audit_batch=batch,
        )
        assert isinstance(view, ChildView)
        assert len(batch) == 1
        assert session.execute(select(AuditEntry)).first() is None
        batch.write(session, key=viewing.keyring.audit_key, clock=viewing.clock)
    (entry,) = viewing.entries("search.view")
    assert (entry.outcome, entry.child_id) == ("shown", child_id)
    assert viewing.chain_verifies()


def test_a_child_is_read_with_its_state_in_one_statement(
    viewing: Viewing, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id = viewing.place("shielded")
    sent = watch(connection, monkeypatch)

    view = viewing.view("practitioner", child_id)
    assert isinstance(view, ChildView)
    assert view.kind is ViewKind.SHIELDED
    reads = [s for s in sent if "children" in s or "source_records" in s]
    assert len(reads) == 1, reads


class DecryptionSpy:
    """Which columns of the records the vault is asked to open."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.columns: list[str] = []
        self._decrypt = vault.decrypt

    def __call__(self, blob: bytes, aad: bytes) -> Any:
        table, _, column = aad.decode().split("|")
        if table == "source_records":
            self.columns.append(column)
        return self._decrypt(blob, aad)


@pytest.mark.parametrize("who", [w for w in PRINCIPALS if w not in ("auditor", "feed")])
def test_each_view_is_built_from_only_the_fields_it_shows_and_is_the_same(
    viewing: Viewing, who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every role and state: the view is exactly the one built from the whole record,
    and nothing it does not show was decrypted to build it."""
    children = {state: viewing.place(state) for state in STATES}
    spy = DecryptionSpy(viewing.vault)
    for state, child_id in children.items():
        with viewing.sessions() as session:
            state_now = identity_store.child_states(session, {child_id})[child_id]
            whole = load_child_record(session, viewing.vault, child_id)
        assert whole is not None
        caller = principal(who)
        expected = view_of(
            whole,
            Viewer(caller.role, caller.area),
            shield=state_now.shield,
            today=viewing.clock.today(),
            team_contact=TEAM,
        )
        spy.columns.clear()
        monkeypatch.setattr(viewing.vault, "decrypt", spy)
        got = viewing.view(caller, child_id)
        monkeypatch.undo()
        if isinstance(expected, Denial):
            assert got is None, (who, state)
            continue
        assert isinstance(got, ChildView), (who, state)
        assert got == expected, (who, state)
        assert set(spy.columns) <= VIEW_FIELDS[got.kind], (who, state)


def test_a_shielded_childs_whereabouts_are_never_decrypted_for_a_practitioner(
    viewing: Viewing, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id = viewing.place("shielded")
    spy = DecryptionSpy(viewing.vault)
    monkeypatch.setattr(viewing.vault, "decrypt", spy)
    view = viewing.view("practitioner", child_id)
    assert isinstance(view, ChildView)
    assert view.kind is ViewKind.SHIELDED
    assert spy.columns
    for hidden in ("address", "nhs_number", "upn", "preferred_name", "former_family_names"):
        assert hidden not in spy.columns


def test_every_field_left_encrypted_reads_as_not_stated() -> None:
    assert set(NOT_DECRYPTED) == set(RECORD_FIELDS) - IDENTITY_FIELDS
    assert set(VIEW_FIELDS) == set(ViewKind)
    assert all(IDENTITY_FIELDS <= fields <= set(RECORD_FIELDS) for fields in VIEW_FIELDS.values())

"""Minimum-knowledge search against real SQLite and PostgreSQL, every outcome audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor, record
from contactpoint.clock import FixedClock
from contactpoint.domain.search_policy import RawQuery, Scope, SearchLimits, Term, allowed_shape
from contactpoint.domain.views import ViewKind
from contactpoint.domain.vocabulary import Role
from contactpoint.identity.model import load_model
from contactpoint.services import identity_changes
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.search import (
    MATCHED_ACTION,
    RATE_ALERT_ACTION,
    TALLY,
    Result,
    SearchAnswer,
    SearchTools,
    search,
)
from contactpoint.services.sign_in import Principal
from contactpoint.store.tables import Alert, AuditEntry
from contactpoint.vault.blind_index import BlindIndexer
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from tests.services.helpers import Ingest
from tests.services.search_population import BY_KEY, Population, build_population, plain_values
from tests.sql_statements import watch, watch_round_trips

REASON = ("child_protection_enquiry", "strategy meeting")
LIMITS = SearchLimits(per_minute=1000, per_day=10000, probe_weight=3)


def principal(role: Role = Role.PRACTITIONER, username: str = "j.patel") -> Principal:
    return Principal(
        user_id=1,
        username=username,
        role=role,
        organisation="Leeds Park Primary School",
        area="Leeds" if role is Role.LA_ADMIN else None,
        token_id=uuid.uuid4(),
    )


class Searching:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: Vault,
        keyring: Keyring,
        clock: FixedClock,
        population: Population,
    ) -> None:
        self.sessions = sessions
        self.keyring = keyring
        self.clock = clock
        self.population = population
        self.tools = SearchTools(
            vault=vault,
            indexer=BlindIndexer(keyring),
            model=load_model(),
            keyring=keyring,
            clock=clock,
            limits=LIMITS,
        )

    def __call__(
        self,
        who: Principal | None = None,
        *,
        scope: Scope = Scope.STANDARD,
        reason: tuple[str | None, str | None] = REASON,
        unknown: tuple[str, ...] = (),
        limits: SearchLimits | None = None,
        **terms: str,
    ) -> SearchAnswer:
        tools = self.tools
        if limits is not None:
            tools = SearchTools(
                vault=tools.vault,
                indexer=tools.indexer,
                model=tools.model,
                keyring=tools.keyring,
                clock=tools.clock,
                limits=limits,
            )
        with self.sessions.begin() as session:
            return search(
                session,
                tools,
                principal=who or principal(),
                scope=scope,
                raw=RawQuery(**terms),
                reason_code=reason[0],
                reason_detail=reason[1],
                unknown_terms=unknown,
            )

    def found(self, answer: SearchAnswer) -> str | None:
        return answer.view.child_id if answer.view is not None else None

    def entries(self, *actions: str) -> list[AuditEntry]:
        with self.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.seq)
            if actions:
                query = query.where(AuditEntry.action.in_(actions))
            return list(session.execute(query).scalars())


@pytest.fixture
def searching(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
) -> Searching:
    vault.prepare()
    ingest = Ingest(tmp_path, sessions, vault, keyring, clock, actor)
    population = build_population(
        ingest, sessions, clock=clock, audit_key=keyring.audit_key, actor=actor
    )
    return Searching(sessions, vault, keyring, clock, population)


AMELIA = BY_KEY["amelia"]

LOW_KNOWLEDGE: list[dict[str, Any]] = [
    {"family_name": "Featherstonehaugh"},
    {"given_name": "Amelia", "date_of_birth": "2014-03-07"},
    {"family_name": "Featherstonehaugh", "date_of_birth": "2014"},
    {"family_name": "Featherstonehaugh", "date_of_birth": "2014-03"},
    {"postcode": "LS1 4AB"},
    {"postcode": "LS1 4AB", "date_of_birth": "2014-03-07", "gender": "female"},
    {"family_name": "Featherstonehaugh", "postcode": "LS1 4AB", "gender": "female"},
    {"nhs_number": AMELIA.nhs_number},
    {"given_name": "A", "family_name": "Featherstonehaugh", "date_of_birth": "2014-03-07"},
    {"given_name": "Amelia", "family_name": "Featherstonehaugh", "date_of_birth": "2014-03-0*"},
    {"given_name": "Amelia", "family_name": "Feather*", "date_of_birth": "2014-03-07"},
    {"given_name": "Amelia", "family_name": "Feather%", "date_of_birth": "2014-03-07"},
    {"given_name": "Am?lia", "family_name": "Featherstonehaugh", "date_of_birth": "2014-03-07"},
    {"given_name": "[A]melia", "family_name": "Featherstonehaugh", "date_of_birth": "2014-03-07"},
    {"given_name": "Amelia", "family_name": "Featherstonehaug_", "date_of_birth": "2014-03-07"},
    {"family_name": "Featherstonehaugh", "date_of_birth": "2014-03-07", "postcode": "LS1"},
    {"family_name": "Featherstonehaugh", "gender": "female", "date_of_birth": "2014-03-07"},
]


@pytest.mark.parametrize("terms", LOW_KNOWLEDGE)
def test_low_knowledge_queries_never_return_a_child(
    searching: Searching, terms: dict[str, Any]
) -> None:
    answer = searching(**terms)
    assert answer.result is Result.INSUFFICIENT_DETAIL
    assert answer.view is None
    assert answer.advice
    assert set(answer.to_json()) == {"result", "advice"}


def test_family_name_and_town_is_refused_as_an_unknown_term(searching: Searching) -> None:
    answer = searching(family_name="Featherstonehaugh", unknown=("town",))
    assert answer.result is Result.INSUFFICIENT_DETAIL
    assert "searches only on" in (answer.advice or "")


FULL_KNOWLEDGE = [
    ("amelia", {"given_name": "Amelia", "family_name": "Featherstonehaugh"}),
    ("amelia", {"given_name": "amelia rose", "family_name": "FEATHERSTONEHAUGH"}),
    ("amelia", {"given_name": "Amelai", "family_name": "Featherstonehaugh"}),
    ("amelia", {"given_name": "Amelia", "family_name": "Featherstonhaugh"}),
    ("amelia", {"given_name": "Millie", "family_name": "Featherstonehaugh"}),
    (
        "amelia",
        {"given_name": "Amelia", "family_name": "Featherstonehaugh", "date_of_birth": "2014-07-03"},
    ),
    ("elizabeth", {"given_name": "Libby", "family_name": "Okonkwo"}),
    ("elizabeth", {"given_name": "Beth", "family_name": "Okonkow"}),
    ("jack", {"given_name": "Jack", "family_name": "Brown"}),
    ("thomas", {"given_name": "Tom", "family_name": "Brown"}),
]


@pytest.mark.parametrize(("key", "terms"), FULL_KNOWLEDGE)
def test_full_knowledge_with_typos_and_nicknames_finds_the_right_child(
    searching: Searching, key: str, terms: dict[str, str]
) -> None:
    person = BY_KEY[key]
    query = {
        "date_of_birth": person.born,
        "gender": person.gender,
        "postcode": person.postcode,
        **terms,
    }
    answer = searching(**query)
    assert answer.result is Result.MATCH, answer
    assert searching.found(answer) == searching.population[key]
    assert answer.view is not None
    assert answer.view.kind is ViewKind.PRACTITIONER


@pytest.mark.parametrize(
    "terms",
    [
        {"given_name": "Amelia", "family_name": "Featherstonehaugh", "date_of_birth": "2014-03-07"},
        {
            "family_name": "Featherstonehaugh",
            "date_of_birth": "2014-03-07",
            "gender": "female",
            "postcode": "ls14ab",
        },
        {
            "given_name": "Amelia",
            "date_of_birth": "2014-03-07",
            "gender": "female",
            "postcode": "LS1 4AB",
        },
        {"nhs_number": AMELIA.nhs_number, "family_name": "Featherstonehaugh"},
        {
            "nhs_number": AMELIA.nhs_number[:3] + " " + AMELIA.nhs_number[3:],
            "date_of_birth": "2014-03-07",
        },
        {"upn": "a123456789012", "date_of_birth": "2014-03-07"},
    ],
)
def test_each_allowed_shape_finds_the_child(searching: Searching, terms: dict[str, str]) -> None:
    answer = searching(**terms)
    assert searching.found(answer) == searching.population["amelia"]


def test_a_contactpoint_id_with_a_detail_finds_the_child(searching: Searching) -> None:
    child = searching.population["amelia"]
    assert searching.found(searching(child_id=child, date_of_birth="2014-03-07")) == child
    assert (
        searching.found(searching(child_id=child.lower(), family_name="Featherstonehaugh")) == child
    )
    wrong = searching(child_id=child, family_name="Brown")
    assert wrong.result is Result.NO_UNIQUE_MATCH


def test_an_identifier_that_disagrees_is_not_a_match(searching: Searching) -> None:
    answer = searching(nhs_number=BY_KEY["jack"].nhs_number, family_name="Featherstonehaugh")
    assert answer.result is Result.NO_UNIQUE_MATCH
    conflicting = searching(
        given_name="Amelia",
        family_name="Featherstonehaugh",
        date_of_birth="2014-03-07",
        nhs_number=BY_KEY["jack"].nhs_number,
    )
    assert conflicting.result is Result.NO_UNIQUE_MATCH


def test_none_and_several_are_the_same_answer(searching: Searching) -> None:
    twins = {"family_name": "Brown", "date_of_birth": "2016-05-12", "gender": "male"}
    several = searching(postcode="LS6 2AB", **twins)
    none = searching(postcode="LS6 2AD", **twins)
    assert several.result is none.result is Result.NO_UNIQUE_MATCH
    assert json.dumps(several.to_json()) == json.dumps(none.to_json())
    matched = searching.entries(MATCHED_ACTION)
    assert {e.child_id for e in matched} == {
        searching.population["jack"],
        searching.population["thomas"],
    }


def test_twins_are_told_apart_by_given_name(searching: Searching) -> None:
    for key in ("jack", "thomas"):
        person = BY_KEY[key]
        answer = searching(given_name=person.given, family_name="Brown", date_of_birth=person.born)
        assert searching.found(answer) == searching.population[key]


def test_every_matched_child_is_audited_and_the_terms_only_as_fingerprints(
    searching: Searching,
) -> None:
    jack = BY_KEY["jack"]
    answer = searching(given_name="Jack", family_name="Brown", date_of_birth=jack.born)
    searching(family_name="Brown", date_of_birth=jack.born, gender="male", postcode=jack.postcode)
    searching(family_name="Featherstonehaugh")
    searching(given_name="Zara", family_name="Wilberforce", date_of_birth="2012-11-02")
    searching(nhs_number=AMELIA.nhs_number, date_of_birth=AMELIA.born)
    entries = searching.entries("search", "search.view", MATCHED_ACTION)
    first = next(e for e in entries if e.action == "search")
    assert first.outcome == "match"
    assert first.child_id == searching.found(answer) == searching.population["jack"]
    assert first.reason_code == "child_protection_enquiry"
    details = json.loads(first.details)
    assert set(details["terms"]) == {"given_name", "family_name", "date_of_birth"}
    assert details["shape"] == "names_and_birth"
    assert searching.population["jack"] in details["matched"]
    views = [e for e in entries if e.action == "search.view"]
    assert {e.child_id for e in views} >= {searching.population["jack"]}
    text = " ".join(e.details + (e.child_id or "") for e in searching.entries()).casefold()
    for value in plain_values():
        assert value.casefold() not in text, value
    assert "strategy meeting" not in text


def test_the_same_terms_give_the_same_fingerprints(searching: Searching) -> None:
    searching(given_name="Jack", family_name="Brown", date_of_birth="2016-05-12")
    searching(given_name=" JACK ", family_name="brown", date_of_birth="2016-05-12")
    first, second = (json.loads(e.details)["terms"] for e in searching.entries("search"))
    assert first == second


def test_a_shielded_child_is_found_only_through_what_its_record_shows(
    searching: Searching,
) -> None:
    zara = BY_KEY["zara"]
    child = searching.population["zara"]
    by_name = searching(given_name="Zara", family_name="Wilberforce", date_of_birth=zara.born)
    assert searching.found(by_name) == child
    assert by_name.view is not None
    assert by_name.view.kind is ViewKind.SHIELDED
    assert searching.found(searching(child_id=child, date_of_birth=zara.born)) == child
    for terms in (
        {
            "given_name": "Zara",
            "family_name": "Wilberforce",
            "date_of_birth": zara.born,
            "postcode": zara.postcode,
        },
        {
            "family_name": "Wilberforce",
            "date_of_birth": zara.born,
            "gender": "female",
            "postcode": zara.postcode,
        },
        {
            "given_name": "Zara",
            "date_of_birth": zara.born,
            "gender": "female",
            "postcode": zara.postcode,
        },
        {"nhs_number": zara.nhs_number, "date_of_birth": zara.born},
        {"nhs_number": zara.nhs_number, "family_name": "Wilberforce"},
    ):
        answer = searching(**terms)
        assert answer.result is Result.NO_UNIQUE_MATCH, terms
    hidden = searching(
        postcode=zara.postcode, family_name="Wilberforce", date_of_birth=zara.born, gender="female"
    )
    nobody = searching(
        postcode="LS7 3AB", family_name="Wilberforce", date_of_birth=zara.born, gender="female"
    )
    assert hidden.to_json() == nobody.to_json()
    matched = [e.child_id for e in searching.entries(MATCHED_ACTION)]
    assert child in matched, "a shielded child a search matched is audited all the same"


def test_an_archived_child_is_not_found_by_practitioners_or_emergency(
    searching: Searching,
) -> None:
    nathan = BY_KEY["nathan"]
    terms = {"given_name": "Nathan", "family_name": "Pemberton", "date_of_birth": nathan.born}
    practitioner = searching(**terms)
    emergency = searching(principal(Role.EMERGENCY), scope=Scope.EMERGENCY, **terms)
    for answer in (practitioner, emergency):
        assert answer.result is Result.NO_UNIQUE_MATCH
    matched = searching.entries("search", "emergency.search")
    assert [json.loads(e.details)["matched"] for e in matched] == [
        [searching.population["nathan"]]
    ] * 2


def test_a_merged_childs_old_id_finds_the_survivor(
    searching: Searching, keyring: Keyring, actor: Actor
) -> None:
    old, survivor = searching.population["elizabeth"], searching.population["amelia"]
    with searching.sessions.begin() as session:
        identity_changes.merge(
            session,
            clock=searching.clock,
            audit_key=keyring.audit_key,
            actor=actor,
            from_child_id=old,
            into_child_id=survivor,
        )
    answer = searching(child_id=old, date_of_birth=AMELIA.born)
    assert searching.found(answer) == survivor


def test_no_reason_no_search(searching: Searching) -> None:
    terms = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    for reason in ((None, None), ("", "x"), ("curiosity", None)):
        answer = searching(reason=reason, **terms)
        assert answer.result is Result.NO_REASON
        assert answer.view is None
        assert "reason" in (answer.advice or "")
    refusals = searching.entries("search")
    assert [e.outcome for e in refusals] == ["no_reason"] * 3
    assert not searching.entries("search.view")


def test_emergency_search_needs_fewer_details_and_alerts_every_use(
    searching: Searching,
) -> None:
    emergency = principal(Role.EMERGENCY, "a.nurse")
    jack = BY_KEY["jack"]
    by_number = searching(emergency, scope=Scope.EMERGENCY, nhs_number=jack.nhs_number)
    assert searching.found(by_number) == searching.population["jack"]
    assert by_number.view is not None
    assert by_number.view.kind is ViewKind.EMERGENCY
    assert set(by_number.view.fields) >= {"child_protection_plan", "looked_after", "team_contact"}
    at_home = searching(
        emergency,
        scope=Scope.EMERGENCY,
        given_name="Jack",
        family_name="Brown",
        postcode=jack.postcode,
    )
    assert searching.found(at_home) == searching.population["jack"]
    standard = searching(nhs_number=jack.nhs_number)
    assert standard.result is Result.INSUFFICIENT_DETAIL
    vague = searching(emergency, scope=Scope.EMERGENCY, family_name="Brown")
    assert vague.result is Result.INSUFFICIENT_DETAIL
    with searching.sessions() as session:
        alerts = list(session.execute(select(Alert).order_by(Alert.raised_at)).scalars())
    assert [a.kind for a in alerts] == ["emergency_search"] * 3
    assert {a.actor for a in alerts} == {"a.nurse"}
    entries = searching.entries("emergency.search")
    assert all("alert_id" in json.loads(e.details) for e in entries)


def test_the_search_roles(searching: Searching) -> None:
    terms = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    admin = searching(principal(Role.LA_ADMIN, "la.team"), **terms)
    assert searching.found(admin) == searching.population["jack"]
    for role, scope in (
        (Role.AUDITOR, Scope.STANDARD),
        (Role.FEED, Scope.STANDARD),
        (Role.EMERGENCY, Scope.STANDARD),
        (Role.PRACTITIONER, Scope.EMERGENCY),
    ):
        refused = searching(principal(role), scope=scope, **terms)
        assert refused.result is Result.ROLE
        assert refused.view is None
    assert [e.outcome for e in searching.entries("search", "emergency.search")][1:] == [
        "role_refused"
    ] * 4


def test_the_rate_limit_counts_failures_more_and_alerts_once(searching: Searching) -> None:
    limits = SearchLimits(per_minute=5, per_day=100, probe_weight=3)
    good = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    for _ in range(4):
        assert searching(limits=limits, **good).result is Result.MATCH
    assert searching(limits=limits, family_name="Brown").result is Result.INSUFFICIENT_DETAIL
    refused = searching(limits=limits, **good)
    assert refused.result is Result.RATE_LIMITED
    assert refused.retry_after == 60
    assert refused.view is None
    assert searching(limits=limits, **good).result is Result.RATE_LIMITED
    assert len(searching.entries(RATE_ALERT_ACTION)) == 1
    searching.clock.advance(timedelta(seconds=61))
    assert searching(limits=limits, **good).result is Result.MATCH
    other = searching(principal(username="someone.else"), limits=limits, **good)
    assert other.result is Result.MATCH


def test_probing_trips_the_limit_sooner(searching: Searching) -> None:
    limits = SearchLimits(per_minute=5, per_day=100, probe_weight=3)
    probe = {
        "family_name": "Brown",
        "date_of_birth": "2016-05-12",
        "gender": "male",
        "postcode": "LS6 2AB",
    }
    assert searching(limits=limits, **probe).result is Result.NO_UNIQUE_MATCH
    assert searching(limits=limits, **probe).result is Result.NO_UNIQUE_MATCH
    assert searching(limits=limits, **probe).result is Result.RATE_LIMITED


def test_the_daily_limit_alerts(searching: Searching) -> None:
    limits = SearchLimits(per_minute=100, per_day=3, probe_weight=1)
    good = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    for _ in range(3):
        searching(limits=limits, **good)
        searching.clock.advance(timedelta(minutes=5))
    refused = searching(limits=limits, **good)
    assert refused.result is Result.RATE_LIMITED
    assert "daily" in (refused.advice or "")
    with searching.sessions() as session:
        alert = session.execute(select(Alert)).scalar_one()
    assert alert.kind == "search_rate"
    assert json.loads(alert.details)["window"] == "day"
    searching.clock.advance(timedelta(hours=24))
    assert searching(limits=limits, **good).result is Result.MATCH


def test_the_audit_chain_verifies_after_a_mixed_workload(
    searching: Searching, keyring: Keyring
) -> None:
    emergency = principal(Role.EMERGENCY, "a.nurse")
    limits = SearchLimits(per_minute=6, per_day=100, probe_weight=3)
    workload: list[dict[str, Any]] = [
        {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"},
        {
            "family_name": "Brown",
            "date_of_birth": "2016-05-12",
            "gender": "male",
            "postcode": "LS6 2AB",
        },
        {"family_name": "Brown"},
        {"given_name": "Zara", "family_name": "Wilberforce", "date_of_birth": "2012-11-02"},
        {"reason": (None, None), "family_name": "Brown"},
        {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"},
        {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"},
    ]
    for terms in workload:
        searching(limits=limits, **terms)
        searching(
            emergency,
            scope=Scope.EMERGENCY,
            limits=limits,
            **{k: v for k, v in terms.items() if k != "reason"},
        )
    outcomes = {e.outcome for e in searching.entries("search")}
    assert {
        "match",
        "no_unique_match",
        "insufficient_detail",
        "no_reason",
        "rate_limited",
    } <= outcomes
    with searching.sessions() as session:
        result = verify_audit(session, keyring.audit_key)
    assert result.ok, result


TERMS_OF: dict[str, str] = {
    "given_name": "given",
    "family_name": "family",
    "date_of_birth": "born",
    "gender": "gender",
    "postcode": "postcode",
    "nhs_number": "nhs_number",
}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    key=st.sampled_from(sorted(BY_KEY)),
    terms=st.sets(st.sampled_from(sorted(TERMS_OF))),
    slip=st.sampled_from([None, "given_name", "family_name"]),
)
def test_no_query_ever_returns_another_child(
    searching: Searching, key: str, terms: set[str], slip: str | None
) -> None:
    """Whatever subset of a child's details is given, with or without a typing slip,
    the answer is that child, nobody, or a refusal: never a different child."""
    person = BY_KEY[key]
    query = {term: str(getattr(person, TERMS_OF[term])) for term in terms}
    if slip in query:
        query[slip] = query[slip][:-1] + ("x" if query[slip][-1] != "x" else "y")
    answer = searching(**query)
    allowed = allowed_shape(frozenset(Term(t) for t in query), Scope.STANDARD)
    if allowed is None:
        assert answer.result is Result.INSUFFICIENT_DETAIL
    if answer.view is not None:
        assert answer.view.child_id == searching.population[key]


def appended_last(sent: list[str], connection: Connection) -> None:
    """The audit insert is the last statement, straight after the chain's head is read
    (on PostgreSQL after its lock, in one statement with the entries' numbers)."""
    inserts = [i for i, s in enumerate(sent) if s.upper().startswith("INSERT INTO AUDIT_LOG")]
    assert inserts == [len(sent) - 1], sent
    if connection.dialect.name == "postgresql":
        lock, head = sent[-3:-1]
        assert lock.startswith("SELECT pg_advisory_xact_lock"), sent
        assert "nextval('audit_log_seq')" in head, sent
        assert head.startswith("SELECT (SELECT hash FROM audit_log WHERE chain"), sent
    else:
        head = sent[-3]
        assert head.startswith("SELECT hash FROM audit_log WHERE chain"), sent


def test_a_search_appends_all_its_entries_at_once_after_its_reads(
    searching: Searching,
    connection: Connection,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chain lock is held from the search's audit write until it commits, so the
    write comes last, as one insert of every entry: the view, the search, and each
    other child matched, each pointing back at the search."""
    jack = BY_KEY["jack"]
    sent = watch(connection, monkeypatch)
    several = searching(
        family_name="Brown", date_of_birth=jack.born, gender="male", postcode=jack.postcode
    )
    assert several.result is Result.NO_UNIQUE_MATCH
    appended_last(sent, connection)
    search_entry, *matched = searching.entries("search", MATCHED_ACTION)
    assert search_entry.action == "search"
    assert {e.child_id for e in matched} == {
        searching.population["jack"],
        searching.population["thomas"],
    }
    for entry in matched:
        assert json.loads(entry.details)["search_seq"] == search_entry.seq
        assert entry.at == search_entry.at
    assert [e.seq for e in matched] == [search_entry.seq + 1, search_entry.seq + 2]

    sent.clear()
    found = searching(given_name="Jack", family_name="Brown", date_of_birth=jack.born)
    assert searching.found(found) == searching.population["jack"]
    appended_last(sent, connection)
    assert len(sent) == (7 if connection.dialect.name == "postgresql" else 6), (
        "the user's lock (PostgreSQL), their count, the candidates, the child with its "
        "records, the chain's lock (PostgreSQL), its head and numbers, the audit"
    )
    view, search_entry = searching.entries()[-2:]
    assert (view.action, view.child_id) == ("search.view", searching.population["jack"])
    if connection.dialect.name == "postgresql":
        rounds = watch_round_trips(connection, monkeypatch)
        searching(given_name="Jack", family_name="Brown", date_of_birth=jack.born)
        assert [len(r) for r in rounds] == [3, 1, 2, 1], rounds
        assert "FROM blind_index" in rounds[0][2], "the candidates come with the user's lock"
    assert (search_entry.action, search_entry.outcome) == ("search", "match")
    assert search_entry.seq == view.seq + 1
    with searching.sessions() as session:
        assert verify_audit(session, keyring.audit_key).ok


def tallies(searching: Searching, username: str) -> list[dict[str, int] | None]:
    return [
        json.loads(e.details).get(TALLY)
        for e in searching.entries("search", "emergency.search")
        if e.actor == username
    ]


def test_each_counted_search_carries_the_users_running_count(
    searching: Searching, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each search the limits count writes the user's tally so far, so the next search
    reads three entries (the latest, and the last before each window) instead of a
    day of them; refusals that do not count carry none."""
    limits = SearchLimits(per_minute=100, per_day=1000, probe_weight=3)
    good = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    searching(limits=limits, **good)
    searching(limits=limits, family_name="Brown")
    searching(limits=limits, reason=(None, None), **good)
    searching(limits=limits, family_name="Brown", date_of_birth="2016-05-12", gender="male")
    sent = watch(connection, monkeypatch)
    searching(limits=limits, **good)
    assert tallies(searching, "j.patel") == [
        {"match": 1, "probe": 0},
        {"match": 1, "probe": 1},
        None,
        {"match": 1, "probe": 2},
        {"match": 2, "probe": 2},
    ]
    assert not [s for s in sent if "GROUP BY outcome" in s], "no walk over the day's searches"
    searching(principal(username="someone.else"), limits=limits, **good)
    assert tallies(searching, "someone.else") == [{"match": 1, "probe": 0}]


def test_the_windows_are_the_tally_less_the_last_one_before_them(searching: Searching) -> None:
    limits = SearchLimits(per_minute=4, per_day=7, probe_weight=2)
    good = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    searching(limits=limits, **good)
    searching(limits=limits, family_name="Brown")  # 1 + 2 = 3 in the minute
    assert searching(limits=limits, **good).result is Result.MATCH  # 4: the minute is full
    assert searching(limits=limits, **good).result is Result.RATE_LIMITED
    searching.clock.advance(timedelta(seconds=61))
    assert searching(limits=limits, **good).result is Result.MATCH  # the day: 5
    assert searching(limits=limits, family_name="Brown").result is Result.INSUFFICIENT_DETAIL
    refused = searching(limits=limits, **good)  # the day: 7
    assert refused.result is Result.RATE_LIMITED
    assert "daily" in (refused.advice or "")
    searching.clock.advance(timedelta(hours=24))
    assert searching(limits=limits, **good).result is Result.MATCH
    assert tallies(searching, "j.patel")[-1] == {"match": 4, "probe": 2}


def test_searches_counted_before_entries_carried_a_tally_still_count(
    searching: Searching, keyring: Keyring
) -> None:
    """Entries written before this release carry no tally: the limits count them the
    long way, and the first new entry carries the user's whole count."""
    who = principal(username="old.hand")
    with searching.sessions.begin() as session:
        for outcome in ("match", "match", "no_unique_match", "insufficient_detail"):
            record(
                session,
                key=keyring.audit_key,
                clock=searching.clock,
                actor=who.actor(),
                action="search",
                outcome=outcome,
                details={"scope": "standard"},
            )
    limits = SearchLimits(per_minute=9, per_day=100, probe_weight=3)
    good = {"given_name": "Jack", "family_name": "Brown", "date_of_birth": "2016-05-12"}
    assert searching(who, limits=limits, **good).result is Result.MATCH  # 2 + 6, then 9
    assert searching(who, limits=limits, **good).result is Result.RATE_LIMITED
    assert tallies(searching, "old.hand")[4] == {"match": 3, "probe": 2}
    searching.clock.advance(timedelta(seconds=61))
    assert searching(who, limits=limits, **good).result is Result.MATCH
    assert tallies(searching, "old.hand")[-1] == {"match": 4, "probe": 2}


def test_a_new_probe_weight_applies_to_searches_already_counted(searching: Searching) -> None:
    probe = {"family_name": "Brown"}
    for _ in range(3):
        searching(limits=SearchLimits(per_minute=100, per_day=100, probe_weight=1), **probe)
    stricter = SearchLimits(per_minute=9, per_day=100, probe_weight=3)
    assert searching(limits=stricter, **probe).result is Result.RATE_LIMITED

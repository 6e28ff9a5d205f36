from __future__ import annotations

from datetime import UTC, date, datetime
from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactpoint.domain.child import (
    Address,
    Carer,
    ChildDetails,
    ChildRecord,
    Practitioner,
    Provenance,
    ServiceInvolvement,
    Sourced,
)
from contactpoint.domain.precedence import (
    FIELD_PRECEDENCE,
    SERVICE_PRECEDENCE,
    Statement,
    combine,
)
from contactpoint.domain.vocabulary import AddressStatus, Circumstance, Gender, ServiceType

PDS, LA, CENSUS, BENEFIT = "nhs-pds", "local-authority", "school-census", "child-benefit"
HIGH_ST = Address(("12 High Street",), "Leeds", "LS1 4AB")
NEW_RD = Address(("9 New Road",), "Leeds", "LS2 7AB")


def statement(
    source: str,
    day: int,
    *,
    record_id: str | None = None,
    carers: tuple[Carer, ...] = (),
    services: tuple[ServiceInvolvement, ...] = (),
    **changes: Any,
) -> Statement:
    base: dict[str, Any] = {
        "given_names": "Amelia",
        "family_name": "Khan",
        "date_of_birth": date(2014, 3, 7),
        "gender": Gender.FEMALE,
    }
    base.update(changes)
    return Statement(
        provenance=Provenance(
            source, record_id or f"{source}-1", datetime(2026, 1, day, tzinfo=UTC)
        ),
        child=ChildDetails(**base),
        carers=carers,
        services=services,
    )


def sources_of(values: list[Sourced[object]]) -> list[str]:
    return [v.provenance.source for v in values]


def gp(name: str, **changes: Any) -> ServiceInvolvement:
    return ServiceInvolvement(ServiceType.GP, name, **changes)


def school(name: str, **changes: Any) -> ServiceInvolvement:
    return ServiceInvolvement(ServiceType.SCHOOL, name, **changes)


# --- identity fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("better", "worse"),
    [(PDS, LA), (LA, CENSUS), (CENSUS, BENEFIT), (BENEFIT, "youth-justice")],
)
def test_identity_source_order_beats_recency(better: str, worse: str) -> None:
    old = statement(better, 1, family_name="Khan", preferred_name="Millie")
    new = statement(worse, 9, family_name="Kahn", preferred_name="Mia")
    record = combine("X", [new, old])
    assert record.family_name.value == "Khan"
    assert record.family_name.provenance.source == better
    assert record.preferred_name is not None
    assert record.preferred_name.value == "Millie"
    assert sources_of(record.alternatives["family_name"]) == [worse]
    assert record.alternatives["family_name"][0].value == "Kahn"


def test_identity_order_is_the_documented_one() -> None:
    for name in ("given_names", "family_name", "date_of_birth", "gender", "preferred_name"):
        assert FIELD_PRECEDENCE[name] == (PDS, LA, CENSUS, BENEFIT)
    assert FIELD_PRECEDENCE["nhs_number"][0] == PDS
    assert FIELD_PRECEDENCE["upn"][0] == CENSUS
    assert SERVICE_PRECEDENCE == {ServiceType.GP: (PDS,), ServiceType.SCHOOL: (CENSUS,)}


def test_within_a_source_the_most_recent_wins() -> None:
    old = statement(CENSUS, 1, record_id="C1", given_names="Amelia")
    new = statement(CENSUS, 5, record_id="C2", given_names="Amelia Rose")
    record = combine("X", [old, new])
    assert record.given_names.value == "Amelia Rose"
    assert record.alternatives["given_names"][0].provenance.source_record_id == "C1"


def test_unknown_sources_rank_after_known_ones_and_by_recency_among_themselves() -> None:
    benefit = statement(BENEFIT, 1, family_name="Khan")
    newer_unknown = statement("youth-justice", 9, family_name="Kahn")
    older_unknown = statement("early-years", 5, family_name="Kan")
    record = combine("X", [older_unknown, newer_unknown, benefit])
    assert record.family_name.provenance.source == BENEFIT
    assert sources_of(record.alternatives["family_name"]) == ["youth-justice", "early-years"]
    alone = combine("X", [older_unknown, newer_unknown])
    assert alone.family_name.provenance.source == "youth-justice"


def test_a_tie_in_rank_and_time_is_settled_the_same_way_whatever_the_order() -> None:
    a = statement("agency-a", 3, family_name="Khan")
    b = statement("agency-b", 3, family_name="Kahn")
    first = combine("X", [a, b])
    assert first == combine("X", [b, a])
    assert first.family_name.provenance.source == "agency-a"
    same_source = [
        statement(CENSUS, 3, record_id="C2", family_name="Kahn"),
        statement(CENSUS, 3, record_id="C1", family_name="Khan"),
    ]
    assert combine("X", same_source).family_name.provenance.source_record_id == "C1"


def test_an_unknown_gender_does_not_hide_a_known_one() -> None:
    pds = statement(PDS, 9, gender=Gender.UNKNOWN)
    census = statement(CENSUS, 1, gender=Gender.MALE)
    record = combine("X", [pds, census])
    assert record.gender.value is Gender.MALE
    assert record.alternatives["gender"][0].value is Gender.UNKNOWN
    assert combine("X", [pds]).gender.value is Gender.UNKNOWN


def test_the_age_assessment_wins_for_an_unaccompanied_asylum_seeking_child() -> None:
    claimed = statement(PDS, 9, date_of_birth=date(2012, 5, 4))
    assessed = statement(
        LA,
        1,
        date_of_birth=date(2009, 1, 1),
        circumstances=frozenset({Circumstance.UNACCOMPANIED_ASYLUM_SEEKING}),
    )
    record = combine("X", [claimed, assessed])
    assert record.date_of_birth.value == date(2009, 1, 1)
    assert record.alternatives["date_of_birth"][0].value == date(2012, 5, 4)
    not_uasc = statement(LA, 1, date_of_birth=date(2009, 1, 1))
    assert combine("X", [claimed, not_uasc]).date_of_birth.value == date(2012, 5, 4)


def test_former_family_names_are_the_union_with_the_best_sources_provenance() -> None:
    la = statement(LA, 1, former_family_names=("Smith",))
    pds = statement(PDS, 1, former_family_names=("Smith", "Jones"))
    record = combine("X", [la, pds])
    assert [(f.value, f.provenance.source) for f in record.former_family_names] == [
        ("Smith", PDS),
        ("Jones", PDS),
    ]


# --- identifiers -------------------------------------------------------------------


def test_nhs_number_comes_from_pds_first() -> None:
    pds = statement(PDS, 1, nhs_number="9434765919")
    la = statement(LA, 9, nhs_number="9434765870")
    record = combine("X", [la, pds])
    assert record.nhs_number is not None
    assert record.nhs_number.provenance.source == PDS
    assert [a.value for a in record.alternatives["nhs_number"]] == ["9434765870"]


def test_a_source_that_says_nothing_does_not_erase_another() -> None:
    with_nhs = statement(LA, 1, nhs_number="9434765919")
    without = statement(PDS, 9)
    record = combine("X", [with_nhs, without])
    assert record.nhs_number is not None
    assert record.nhs_number.value == "9434765919"
    assert "nhs_number" not in record.alternatives


def test_upn_comes_from_the_school_census_first() -> None:
    census = statement(CENSUS, 1, upn="A123456789012")
    la = statement(LA, 9, upn="B123456789012")
    pds = statement(PDS, 9, upn="C123456789012")
    record = combine("X", [pds, la, census])
    assert record.upn is not None
    assert record.upn.provenance.source == CENSUS
    assert sources_of(record.alternatives["upn"]) == [LA, PDS]


# --- where the child lives ---------------------------------------------------------


def test_the_newest_address_wins_whatever_the_source() -> None:
    old = statement(PDS, 1, address=HIGH_ST)
    new = statement(BENEFIT, 5, address=NEW_RD)
    record = combine("X", [old, new])
    assert record.address == Sourced(NEW_RD, new.provenance)
    assert sources_of(record.alternatives["address"]) == [PDS]


def test_whereabouts_come_from_one_statement_and_a_gap_is_not_filled_from_another() -> None:
    older = statement(CENSUS, 1, address=HIGH_ST, address_status=AddressStatus.LAST_KNOWN)
    newer = statement(PDS, 5, address=NEW_RD)
    record = combine("X", [older, newer])
    assert record.address is not None
    assert record.address.value == NEW_RD
    assert record.address_status is None
    assert record.alternatives["address_status"][0].value is AddressStatus.LAST_KNOWN


def test_a_statement_silent_about_the_address_does_not_count_as_newest() -> None:
    spoke = statement(PDS, 1, address=HIGH_ST)
    silent = statement(CENSUS, 9)
    record = combine("X", [spoke, silent])
    assert record.address == Sourced(HIGH_ST, spoke.provenance)
    assert record.no_fixed_abode == Sourced(False, spoke.provenance)
    nothing = combine("X", [silent])
    assert nothing.address is None
    assert nothing.no_fixed_abode == Sourced(False, silent.provenance)


def test_a_newer_no_fixed_abode_is_not_filled_in_with_an_older_address() -> None:
    census = statement(CENSUS, 1, address=HIGH_ST)
    pds = statement(PDS, 5, no_fixed_abode=True)
    record = combine("X", [census, pds])
    assert record.address is None
    assert record.no_fixed_abode == Sourced(True, pds.provenance)
    assert record.alternatives["address"] == [Sourced(HIGH_ST, census.provenance)]
    assert record.alternatives["no_fixed_abode"] == [Sourced(False, census.provenance)]


def test_a_local_authority_no_fixed_abode_holds_against_a_later_dated_address() -> None:
    la = statement(LA, 3, no_fixed_abode=True)
    census = statement(CENSUS, 9, address=HIGH_ST)
    record = combine("X", [census, la])
    assert record.address is None
    assert record.no_fixed_abode == Sourced(True, la.provenance)
    assert record.alternatives["address"] == [Sourced(HIGH_ST, census.provenance)]


def test_a_local_authority_left_england_holds_against_a_later_dated_address() -> None:
    la = statement(LA, 3, address=HIGH_ST, address_status=AddressStatus.LEFT_ENGLAND)
    benefit = statement(BENEFIT, 9, address=NEW_RD)
    record = combine("X", [benefit, la])
    assert record.address == Sourced(HIGH_ST, la.provenance)
    assert record.address_status == Sourced(AddressStatus.LEFT_ENGLAND, la.provenance)
    assert record.alternatives["address"] == [Sourced(NEW_RD, benefit.provenance)]


def test_only_a_newer_local_authority_statement_clears_its_marking() -> None:
    marked = statement(LA, 3, record_id="LA1", no_fixed_abode=True)
    census = statement(CENSUS, 9, address=HIGH_ST)
    rehoused = statement(LA, 5, record_id="LA2", address=NEW_RD)
    record = combine("X", [marked, census, rehoused])
    assert record.address == Sourced(HIGH_ST, census.provenance)
    assert record.no_fixed_abode is not None
    assert record.no_fixed_abode.value is False
    assert record.alternatives["no_fixed_abode"] == [Sourced(True, marked.provenance)]


def test_other_sources_no_fixed_abode_and_none_known_follow_recency() -> None:
    pds = statement(PDS, 3, no_fixed_abode=True)
    la = statement(LA, 3, address_status=AddressStatus.NONE_KNOWN)
    census = statement(CENSUS, 9, address=HIGH_ST)
    record = combine("X", [pds, la, census])
    assert record.address == Sourced(HIGH_ST, census.provenance)
    assert record.address_status is None
    assert record.alternatives["address_status"] == [
        Sourced(AddressStatus.NONE_KNOWN, la.provenance)
    ]


# --- services ----------------------------------------------------------------------


def test_the_gp_from_pds_wins_and_others_are_kept() -> None:
    pds = statement(PDS, 1, services=(gp("Park Surgery", organisation_id="B86001"),))
    la = statement(LA, 9, services=(gp("Hill Surgery", organisation_id="B86002"),))
    record = combine("X", [la, pds])
    gps = [s for s in record.services if s.value.type is ServiceType.GP]
    assert [(s.value.organisation, s.provenance.source) for s in gps] == [("Park Surgery", PDS)]
    assert record.alternatives["services"] == [Sourced(la.services[0], la.provenance)]


def test_the_school_from_the_census_wins_and_others_are_kept() -> None:
    census = statement(CENSUS, 1, services=(school("Leeds Park Primary"),))
    la = statement(LA, 9, services=(school("Roundhay School"),))
    unknown = statement("early-years", 9, services=(school("Little Acorns"),))
    record = combine("X", [unknown, la, census])
    assert [s.value.organisation for s in record.services] == ["Leeds Park Primary"]
    assert sources_of(record.alternatives["services"]) == [LA, "early-years"]
    without_census = combine("X", [la, statement(BENEFIT, 2, services=(school("Old"),))])
    assert [s.value.organisation for s in without_census.services] == ["Roundhay School"]


def test_the_same_single_valued_service_from_two_sources_is_shown_once() -> None:
    pds = statement(PDS, 1, services=(gp("Park Surgery"),))
    la = statement(LA, 9, services=(gp("Park Surgery"),))
    record = combine("X", [pds, la])
    assert [s.provenance.source for s in record.services] == [PDS]
    assert "services" not in record.alternatives


def test_many_valued_services_are_the_union_of_all_sources() -> None:
    social = ServiceInvolvement(ServiceType.SOCIAL_CARE, "Leeds Children's Services")
    visitor = ServiceInvolvement(ServiceType.HEALTH_VISITOR, "Leeds Community Health")
    pds = statement(PDS, 1, services=(visitor, gp("Park Surgery")))
    la = statement(LA, 2, services=(social,))
    record = combine("X", [la, pds])
    assert [(s.value.type, s.provenance.source) for s in record.services] == [
        (ServiceType.GP, PDS),
        (ServiceType.HEALTH_VISITOR, PDS),
        (ServiceType.SOCIAL_CARE, LA),
    ]


def test_many_valued_services_are_deduplicated_by_organisation_newest_first() -> None:
    old = ServiceInvolvement(
        ServiceType.SOCIAL_CARE,
        "Leeds Children's Services",
        organisation_id="LA383",
        practitioner=Practitioner("A Jones", "Social worker", None, None),
    )
    new = ServiceInvolvement(
        ServiceType.SOCIAL_CARE,
        "Leeds City Council Children's Services",
        organisation_id="LA383",
        practitioner=Practitioner("B Okafor", "Social worker", None, None),
    )
    by_name_old = ServiceInvolvement(ServiceType.CAMHS, "Leeds  CAMHS", consent_to_show=True)
    by_name_new = ServiceInvolvement(ServiceType.CAMHS, "leeds camhs", consent_to_show=False)
    a = statement(LA, 1, record_id="LA1", services=(old, by_name_old))
    b = statement(PDS, 5, services=(new, by_name_new))
    record = combine("X", [a, b])
    assert [s.value for s in record.services] == [new, by_name_new]
    assert record.alternatives["services"] == [
        Sourced(old, a.provenance),
        Sourced(by_name_old, a.provenance),
    ]


# --- carers and circumstances -----------------------------------------------------


def test_carers_are_deduplicated_by_name_and_relationship_newest_first() -> None:
    old_mum = Carer("Sara Khan", "mother", True, phone="0113 496 0000")
    new_mum = Carer("SARA  KHAN", "Mother", True, phone="0113 496 0999")
    dad = Carer("Imran Khan", "father", True)
    carer_named_like_mum = Carer("Sara Khan", "aunt", False)
    old = statement(CENSUS, 1, carers=(old_mum, dad))
    new = statement(BENEFIT, 5, carers=(new_mum, carer_named_like_mum))
    record = combine("X", [old, new])
    assert [c.value for c in record.carers] == [new_mum, carer_named_like_mum, dad]
    assert record.alternatives["carers"] == [Sourced(old_mum, old.provenance)]


def test_the_same_carer_from_two_sources_is_shown_once() -> None:
    mum = Carer("Sara Khan", "mother", True)
    record = combine("X", [statement(PDS, 1, carers=(mum,)), statement(LA, 2, carers=(mum,))])
    assert [c.provenance.source for c in record.carers] == [LA]
    assert "carers" not in record.alternatives


def test_circumstances_from_every_source_are_kept() -> None:
    a = statement(LA, 1, circumstances=frozenset({Circumstance.LOOKED_AFTER}))
    b = statement(PDS, 2, circumstances=frozenset({Circumstance.TRAVELLER}))
    assert combine("X", [a, b]).circumstances == {
        Circumstance.LOOKED_AFTER,
        Circumstance.TRAVELLER,
    }


def test_no_statements_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        combine("X", [])


def test_two_statements_from_one_source_record_are_an_error() -> None:
    with pytest.raises(ValueError, match="only one statement"):
        combine("X", [statement(PDS, 1), statement(PDS, 2)])


# --- properties --------------------------------------------------------------------

SCALAR_FIELDS = (
    "given_names",
    "family_name",
    "date_of_birth",
    "gender",
    "preferred_name",
    "nhs_number",
    "upn",
    "address",
    "address_status",
    "no_fixed_abode",
)

_sources = st.sampled_from([PDS, LA, CENSUS, BENEFIT, "youth-justice", "early-years"])
_days = st.integers(min_value=1, max_value=4)
_addresses = st.sampled_from([None, HIGH_ST, NEW_RD])
_carers = st.builds(
    Carer,
    name=st.sampled_from(["Sara Khan", "sara khan", "Imran Khan"]),
    relationship=st.sampled_from([None, "mother", "Mother", "father"]),
    parental_responsibility=st.booleans(),
    phone=st.sampled_from([None, "0113 496 0000"]),
)
_services = st.builds(
    ServiceInvolvement,
    type=st.sampled_from(
        [ServiceType.GP, ServiceType.SCHOOL, ServiceType.SOCIAL_CARE, ServiceType.CAMHS]
    ),
    organisation=st.sampled_from(["Park", "park", "Hill"]),
    organisation_id=st.sampled_from([None, "O1", "O2"]),
    lead_professional=st.booleans(),
)
_details = st.builds(
    ChildDetails,
    given_names=st.sampled_from(["Amelia", "Amelia Rose"]),
    family_name=st.sampled_from(["Khan", "Kahn"]),
    date_of_birth=st.sampled_from([date(2014, 3, 7), date(2014, 7, 3)]),
    gender=st.sampled_from(list(Gender)),
    former_family_names=st.lists(st.sampled_from(["Smith", "Jones"]), max_size=2).map(tuple),
    preferred_name=st.sampled_from([None, "Millie", "Mia"]),
    nhs_number=st.sampled_from([None, "9434765919", "9434765870"]),
    upn=st.sampled_from([None, "A123456789012"]),
    address=_addresses,
    no_fixed_abode=st.booleans(),
    circumstances=st.frozensets(st.sampled_from(list(Circumstance)), max_size=2),
    address_status=st.sampled_from([None, *AddressStatus]),
)


@st.composite
def _statements(draw: st.DrawFn) -> list[Statement]:
    count = draw(st.integers(min_value=1, max_value=5))
    return [
        Statement(
            provenance=Provenance(
                draw(_sources), f"R{i}", datetime(2026, 1, draw(_days), tzinfo=UTC)
            ),
            child=draw(_details),
            carers=tuple(draw(st.lists(_carers, max_size=3))),
            services=tuple(draw(st.lists(_services, max_size=4))),
        )
        for i in range(count)
    ]


def _kept(record: ChildRecord, name: str, value: object, provenance: Provenance) -> bool:
    return Sourced(value, provenance) in record.alternatives.get(name, [])


@settings(max_examples=300, deadline=None)
@given(_statements())
def test_nothing_any_source_says_is_lost(statements: list[Statement]) -> None:
    record = combine("X", statements)
    for name in SCALAR_FIELDS:
        chosen = getattr(record, name)
        for s in statements:
            value = getattr(s.child, name)
            if value is None:
                continue
            shown = chosen is not None and chosen.value == value
            assert shown or _kept(record, name, value, s.provenance), name
        chosen_value = None if chosen is None else chosen.value
        assert all(alt.value != chosen_value for alt in record.alternatives.get(name, []))
    lists: dict[str, tuple[list[object], list[tuple[object, Provenance]]]] = {
        "carers": (
            [c.value for c in record.carers],
            [(c, s.provenance) for s in statements for c in s.carers],
        ),
        "services": (
            [v.value for v in record.services],
            [(v, s.provenance) for s in statements for v in s.services],
        ),
    }
    for name, (shown, given_values) in lists.items():
        for value, provenance in given_values:
            assert value in shown or _kept(record, name, value, provenance), name
        assert all(alt.value not in shown for alt in record.alternatives.get(name, []))
    former = {f.value for f in record.former_family_names}
    assert former == {n for s in statements for n in s.child.former_family_names}
    assert record.circumstances == frozenset().union(*(s.child.circumstances for s in statements))


@settings(max_examples=300, deadline=None)
@given(_statements(), st.randoms(use_true_random=False))
def test_the_order_statements_come_in_does_not_matter(
    statements: list[Statement], random: Random
) -> None:
    shuffled = list(statements)
    random.shuffle(shuffled)
    assert combine("X", shuffled) == combine("X", statements)


@settings(max_examples=200, deadline=None)
@given(_statements())
def test_every_shown_value_is_what_its_source_said(statements: list[Statement]) -> None:
    record = combine("X", statements)
    by_provenance = {s.provenance: s for s in statements}
    for name in SCALAR_FIELDS:
        chosen = getattr(record, name)
        if chosen is not None:
            assert getattr(by_provenance[chosen.provenance].child, name) == chosen.value
    for carer in record.carers:
        assert carer.value in by_provenance[carer.provenance].carers
    for service in record.services:
        assert service.value in by_provenance[service.provenance].services
    single = {ServiceType.GP, ServiceType.SCHOOL}
    for kind in single:
        assert sum(1 for s in record.services if s.value.type is kind) <= 1

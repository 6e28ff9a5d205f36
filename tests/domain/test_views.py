"""The view policy: exactly the allowed fields for every role and every child state.

The property tests build children from random source statements through the
real precedence rules, with every personal value a distinct marker ending in
``#`` (``ADDR3#``, ``PRACT7#``), so "the view never contains a denied value"
is a plain substring check on the view's JSON.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint.domain.child import (
    Address,
    Carer,
    ChildDetails,
    ChildRecord,
    Practitioner,
    Provenance,
    ServiceInvolvement,
)
from contactpoint.domain.precedence import Statement, combine
from contactpoint.domain.precedence import service_key as service_group
from contactpoint.domain.shielding import BY_LOCAL_AUTHORITY, BY_REVIEW, NOT_SHIELDED, Shield
from contactpoint.domain.views import (
    ALLOWED_FIELDS,
    CARER_FIELDS,
    SERVICE_FIELDS,
    TEAM_CONTACT_FIELDS,
    ChildView,
    Denial,
    Viewer,
    ViewKind,
    age_on,
    decide,
    in_area,
    view_of,
    withheld,
    withheld_groups,
)
from contactpoint.domain.vocabulary import (
    AddressStatus,
    Circumstance,
    Gender,
    Role,
    ServiceType,
)

TODAY = date(2026, 11, 24)
CHILD_ID = "7K2M-QX9D-4TB4"
TEAM = "ContactPoint team, 0300 000 0000, 24 hours"

IDENTITY = {"contactpoint_id", "given_names", "family_name", "date_of_birth", "gender", "shielded"}
RECORD = IDENTITY | {
    "preferred_name",
    "former_family_names",
    "nhs_number",
    "upn",
    "address",
    "address_status",
    "no_fixed_abode",
    "circumstances",
    "carers",
    "services",
    "provenance",
    "alternatives",
}
EXPECTED_FIELDS = {
    ViewKind.FULL: RECORD | {"shield_origin", "archived"},
    ViewKind.PRACTITIONER: RECORD,
    ViewKind.SHIELDED: IDENTITY | {"parents", "team_contact"},
    ViewKind.EMERGENCY: IDENTITY | {"child_protection_plan", "looked_after", "team_contact"},
}

VIEWERS = {
    "practitioner": Viewer(Role.PRACTITIONER),
    "emergency": Viewer(Role.EMERGENCY),
    "la_admin_in_area": Viewer(Role.LA_ADMIN, "Leeds"),
    "la_admin_elsewhere": Viewer(Role.LA_ADMIN, "Wakefield"),
    "la_admin_no_area": Viewer(Role.LA_ADMIN, None),
    "auditor": Viewer(Role.AUDITOR, "Leeds"),
    "feed": Viewer(Role.FEED, "Leeds"),
}
SHIELDS = {"none": NOT_SHIELDED, "local_authority": BY_LOCAL_AUTHORITY, "review": BY_REVIEW}


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def as_text(view: ChildView) -> str:
    return json.dumps(view.to_json(), ensure_ascii=False)


# --- the matrix -------------------------------------------------------------------------

SOCIAL_CARE = ServiceInvolvement(
    type=ServiceType.SOCIAL_CARE,
    organisation="Leeds Children's Social Care",
    practitioner=Practitioner("Dee Okafor", "Social worker", "0113 496 0100", "duty@leeds.test"),
    lead_professional=True,
    assessment=True,
)
SCHOOL = ServiceInvolvement(
    type=ServiceType.SCHOOL,
    organisation="Leeds Park Primary",
    organisation_id="URN:123456",
    practitioner=Practitioner("J Patel", "Head teacher", "0113 496 0001", None),
    start_date=date(2019, 9, 1),
)
CAMHS_CONSENTED = ServiceInvolvement(
    type=ServiceType.CAMHS,
    organisation="Leeds CAMHS",
    practitioner=Practitioner("R Shah", "Mental health practitioner", "0113 496 0200", None),
    consent_to_show=True,
)
SEXUAL_HEALTH_NO_CONSENT = ServiceInvolvement(
    type=ServiceType.SEXUAL_HEALTH,
    organisation="Headingley Young People's Clinic",
    practitioner=Practitioner("K Lowe", "Sexual health nurse", "0113 496 0300", None),
)
FLAGGED_OTHER = ServiceInvolvement(
    type=ServiceType.OTHER,
    organisation="Leeds Young Carers Project",
    sensitive=True,
    consent_to_show=False,
)
MOTHER = Carer("Sara Khan", "mother", True, Address(("12 High Street",), "Leeds", "LS1 4AB"),
               "0113 496 0000", "sara@example.test")  # fmt: skip
NEIGHBOUR = Carer("Pat Green", "neighbour", False, None, "0113 496 0999", None)

STATES = ("ordinary", "shielded", "sensitive_consented", "sensitive_not_consented", "archived")


def matrix_child(state: str) -> tuple[ChildRecord, Shield]:
    born = date(2008, 11, 24) if state == "archived" else date(2014, 3, 7)
    services: tuple[ServiceInvolvement, ...] = (SOCIAL_CARE, SCHOOL)
    if state == "sensitive_consented":
        services += (CAMHS_CONSENTED,)
    if state == "sensitive_not_consented":
        services += (SEXUAL_HEALTH_NO_CONSENT, FLAGGED_OTHER)
    statements = [
        Statement(
            provenance=Provenance("local-authority", "LA-1", at(5)),
            child=ChildDetails(
                given_names="Amelia Rose",
                family_name="Khan",
                date_of_birth=born,
                gender=Gender.FEMALE,
                former_family_names=("Smith",),
                preferred_name="Millie",
                nhs_number="9434765919",
                upn="A123456789012",
                address=Address(("12 High Street",), "Leeds", "LS1 4AB"),
                circumstances=frozenset({Circumstance.CHILD_PROTECTION_PLAN}),
            ),
            carers=(MOTHER, NEIGHBOUR),
            services=services,
        ),
        Statement(
            provenance=Provenance("school-census", "SC-1", at(3)),
            child=ChildDetails(
                given_names="Amelia",
                family_name="Khan",
                date_of_birth=born,
                gender=Gender.FEMALE,
                address=Address(("4 Old Road",), "Leeds", "LS6 1AA"),
            ),
            carers=(),
            services=(SCHOOL,),
        ),
    ]
    shield = BY_LOCAL_AUTHORITY if state == "shielded" else NOT_SHIELDED
    return combine(CHILD_ID, statements), shield


EXPECTED_KIND: dict[str, dict[str, ViewKind | Denial]] = {
    "practitioner": {
        "ordinary": ViewKind.PRACTITIONER,
        "shielded": ViewKind.SHIELDED,
        "sensitive_consented": ViewKind.PRACTITIONER,
        "sensitive_not_consented": ViewKind.PRACTITIONER,
        "archived": Denial.NOT_FOUND,
    },
    "emergency": {
        "ordinary": ViewKind.EMERGENCY,
        "shielded": ViewKind.EMERGENCY,
        "sensitive_consented": ViewKind.EMERGENCY,
        "sensitive_not_consented": ViewKind.EMERGENCY,
        "archived": Denial.NOT_FOUND,
    },
    "la_admin_in_area": dict.fromkeys(STATES, ViewKind.FULL),
    "la_admin_elsewhere": {
        "ordinary": ViewKind.PRACTITIONER,
        "shielded": ViewKind.SHIELDED,
        "sensitive_consented": ViewKind.PRACTITIONER,
        "sensitive_not_consented": ViewKind.PRACTITIONER,
        "archived": Denial.NOT_FOUND,
    },
    "auditor": dict.fromkeys(STATES, Denial.REFUSED),
    "feed": dict.fromkeys(STATES, Denial.REFUSED),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("who", list(EXPECTED_KIND))
def test_every_role_and_state_gives_exactly_the_allowed_fields(who: str, state: str) -> None:
    record, shield = matrix_child(state)
    view = view_of(record, VIEWERS[who], shield=shield, today=TODAY, team_contact=TEAM)
    expected = EXPECTED_KIND[who][state]
    if isinstance(expected, Denial):
        assert view is expected
        return
    assert isinstance(view, ChildView)
    assert view.kind is expected
    assert set(view.fields) == EXPECTED_FIELDS[expected]
    assert view.to_json()["view"] == expected.value
    organisations = {s["organisation"] for s in view.fields.get("services", [])}
    text = as_text(view)
    if expected is ViewKind.FULL:
        assert "Headingley Young People's Clinic" in text or state != "sensitive_not_consented"
        assert view.fields["archived"] is (state == "archived")
    if expected is ViewKind.PRACTITIONER:
        assert organisations == {
            "Leeds Children's Social Care",
            "Leeds Park Primary",
            *(["Leeds CAMHS"] if state == "sensitive_consented" else []),
        }
        for hidden in ("Headingley", "K Lowe", "Young Carers", "sexual_health", "0113 496 0300"):
            assert hidden not in text
        assert all(
            set(c) == CARER_FIELDS | {"source", "recorded_at"} for c in view.fields["carers"]
        )
        assert all(
            set(s) == SERVICE_FIELDS | {"source", "recorded_at"} for s in view.fields["services"]
        )
    if expected in (ViewKind.SHIELDED, ViewKind.EMERGENCY):
        for denied in ("High Street", "LS1", "Old Road", "Smith", "Millie", "9434765919",
                       "A123456789012", "0113 496 0000", "sara@", "Pat Green", "Dee Okafor",
                       "Leeds Park Primary", "Headingley", "CAMHS"):  # fmt: skip
            assert denied not in text, denied
        assert view.fields["team_contact"] == {
            "organisation": "Leeds Children's Social Care",
            "phone": "0113 496 0100",
            "email": "duty@leeds.test",
            "contactpoint_team": TEAM,
        }
    if expected is ViewKind.SHIELDED:
        assert view.fields["parents"] == ["Sara Khan"]
        assert view.fields["shielded"] is True
    if expected is ViewKind.EMERGENCY:
        assert view.fields["child_protection_plan"] is True
        assert view.fields["looked_after"] is False
        assert "Sara Khan" not in text


def test_the_practitioner_view_carries_provenance_and_safe_alternatives() -> None:
    record, shield = matrix_child("ordinary")
    view = view_of(record, VIEWERS["practitioner"], shield=shield, today=TODAY)
    assert isinstance(view, ChildView)
    assert view.fields["given_names"] == "Amelia Rose"
    assert view.fields["provenance"]["given_names"] == {
        "source": "local-authority",
        "recorded_at": "2026-01-05T00:00:00+00:00",
    }
    assert view.fields["alternatives"]["given_names"] == [
        {"value": "Amelia", "source": "school-census", "recorded_at": "2026-01-03T00:00:00+00:00"}
    ]
    assert view.fields["address"] == {
        "lines": ["12 High Street"],
        "town": "Leeds",
        "postcode": "LS1 4AB",
    }
    assert view.fields["circumstances"] == ["child_protection_plan"]


def test_a_withheld_service_takes_every_version_and_alternative_with_it() -> None:
    """One source gives consent, a later one does not: the stricter statement wins."""
    consented = ServiceInvolvement(
        type=ServiceType.CAMHS, organisation="Leeds CAMHS", consent_to_show=True
    )
    withdrawn = ServiceInvolvement(
        type=ServiceType.CAMHS,
        organisation="Leeds CAMHS",
        consent_to_show=False,
        practitioner=Practitioner("R Shah", None, None, None),
    )
    base = {"given_names": "A", "family_name": "K", "date_of_birth": date(2014, 3, 7)}
    record = combine(
        CHILD_ID,
        [
            Statement(
                Provenance("nhs-pds", "P-1", at(1)),
                ChildDetails(**base, gender=Gender.FEMALE),
                (),
                (consented,),
            ),
            Statement(
                Provenance("local-authority", "L-1", at(9)),
                ChildDetails(**base, gender=Gender.FEMALE),
                (),
                (withdrawn,),
            ),
        ],
    )
    assert record.alternatives.get("services")
    view = view_of(record, VIEWERS["practitioner"], today=TODAY)
    assert isinstance(view, ChildView)
    assert view.fields["services"] == []
    assert "services" not in view.fields["alternatives"]
    assert "CAMHS" not in as_text(view)
    full = view_of(record, VIEWERS["la_admin_no_area"], today=TODAY)
    assert isinstance(full, ChildView)
    assert full.kind is ViewKind.PRACTITIONER


@pytest.mark.parametrize(
    ("area", "organisation", "expected"),
    [
        ("Leeds", "Leeds Children's Social Care", True),
        ("leeds", "LEEDS  Children's Social Care", True),
        ("Leeds", "Leeds", True),
        ("Leeds", "Leedsworth Children's Services", False),
        ("Leeds", "North Leeds Social Care", False),
        ("", "Leeds Children's Social Care", False),
        (None, "Leeds Children's Social Care", False),
    ],
)
def test_a_childs_area_is_its_social_care_authority(
    area: str | None, organisation: str, expected: bool
) -> None:
    service = ServiceInvolvement(type=ServiceType.SOCIAL_CARE, organisation=organisation)
    record = combine(
        CHILD_ID,
        [
            Statement(
                Provenance("local-authority", "L-1", at(1)),
                ChildDetails("A", "K", date(2014, 3, 7), Gender.FEMALE),
                (),
                (service,),
            )
        ],
    )
    assert in_area(record, area) is expected


def test_a_child_with_no_social_care_is_in_no_area() -> None:
    school = ServiceInvolvement(type=ServiceType.SCHOOL, organisation="Leeds Park Primary")
    record = combine(
        CHILD_ID,
        [
            Statement(
                Provenance("school-census", "S-1", at(1)),
                ChildDetails("A", "K", date(2014, 3, 7), Gender.FEMALE),
                (),
                (school,),
            )
        ],
    )
    assert not in_area(record, "Leeds")


@pytest.mark.parametrize(
    ("born", "archived"),
    [
        (date(2008, 11, 24), True),
        (date(2008, 11, 25), False),
        (date(2008, 2, 29), True),
        (date(2000, 1, 1), True),
        (date(2026, 11, 24), False),
    ],
)
def test_archived_on_the_eighteenth_birthday(born: date, archived: bool) -> None:
    assert (age_on(born, TODAY) >= 18) is archived


def test_feb_29_birthdays_come_on_the_first_of_march() -> None:
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


# --- properties over random children ----------------------------------------------------

GROUP_TYPES = list(ServiceType)
MARKER = re.compile(r"[A-Z]+[0-9]+#")


@st.composite
def children(draw: st.DrawFn) -> tuple[ChildRecord, list[Statement]]:
    counter = itertools.count()

    def mark(kind: str) -> str:
        return f"{kind}{next(counter)}#"

    groups = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(GROUP_TYPES))
        area = draw(st.sampled_from(["Leeds", "Wakefield", "North"]))
        groups.append((kind, f"{area} {mark('ORG')}", draw(st.none() | st.just(mark("OID")))))
    statements = []
    sources = draw(
        st.lists(
            st.sampled_from(
                ["nhs-pds", "local-authority", "school-census", "child-benefit", "youth-offending"]
            ),
            min_size=1,
            max_size=4,
        )
    )
    for index, source in enumerate(sources):
        born = draw(st.dates(date(2000, 1, 1), TODAY))
        child = ChildDetails(
            given_names=mark("GIVEN"),
            family_name=mark("FAMILY"),
            date_of_birth=born,
            gender=draw(st.sampled_from(list(Gender))),
            former_family_names=tuple(mark("FORMER") for _ in range(draw(st.integers(0, 2)))),
            preferred_name=draw(st.none() | st.just(mark("PREF"))),
            nhs_number=draw(st.none() | st.just(mark("NHS"))),
            upn=draw(st.none() | st.just(mark("UPN"))),
            address=draw(
                st.none() | st.just(Address((mark("ADDR"),), mark("TOWN"), mark("PCODE")))
            ),
            no_fixed_abode=draw(st.booleans()),
            circumstances=frozenset(draw(st.sets(st.sampled_from(list(Circumstance))))),
            address_status=draw(st.none() | st.sampled_from(list(AddressStatus))),
        )
        carers = tuple(
            Carer(
                name=mark("CARER"),
                relationship=draw(st.none() | st.sampled_from(["mother", "father", "aunt"])),
                parental_responsibility=draw(st.booleans()),
                address=draw(st.none() | st.just(Address((mark("CADDR"),), None, None))),
                phone=draw(st.none() | st.just(mark("CPHONE"))),
                email=draw(st.none() | st.just(mark("CEMAIL"))),
            )
            for _ in range(draw(st.integers(0, 3)))
        )
        services = []
        for kind, organisation, organisation_id in groups:
            if not draw(st.booleans()):
                continue
            practitioner = draw(
                st.none()
                | st.just(Practitioner(mark("PRACT"), "worker", mark("PPHONE"), mark("PEMAIL")))
            )
            services.append(
                ServiceInvolvement(
                    type=kind,
                    organisation=organisation,
                    organisation_id=organisation_id,
                    practitioner=practitioner,
                    end_date=draw(st.none() | st.dates(date(2020, 1, 1), date(2028, 1, 1))),
                    lead_professional=draw(st.booleans()),
                    sensitive=draw(st.booleans()),
                    consent_to_show=draw(st.none() | st.booleans()),
                )
            )
        statements.append(
            Statement(
                Provenance(source, f"R{index}", at(draw(st.integers(1, 28)))),
                child,
                carers,
                tuple(services),
            )
        )
    return combine(CHILD_ID, statements), statements


def expected_kind(viewer: Viewer, record: ChildRecord, shield: Shield) -> ViewKind | Denial:
    """The policy table, restated independently of the code under test."""
    if viewer.role in (Role.AUDITOR, Role.FEED):
        return Denial.REFUSED
    local = viewer.role is Role.LA_ADMIN and any(
        s.value.type is ServiceType.SOCIAL_CARE
        and viewer.area is not None
        and s.value.organisation.startswith(viewer.area + " ")
        for s in record.services
    )
    if local:
        return ViewKind.FULL
    if age_on(record.date_of_birth.value, TODAY) >= 18:
        return Denial.NOT_FOUND
    if viewer.role is Role.EMERGENCY:
        return ViewKind.EMERGENCY
    return ViewKind.SHIELDED if shield.shielded else ViewKind.PRACTITIONER


def markers(value: object) -> set[str]:
    """Every marker inside a value (a record part, a statement, a view's JSON)."""
    return set(MARKER.findall(value if isinstance(value, str) else repr(value)))


def all_versions(statements: list[Statement]) -> list[ServiceInvolvement]:
    return [s for statement in statements for s in statement.services]


def check_nothing_denied(view: ChildView, record: ChildRecord, statements: list[Statement]) -> None:
    text = as_text(view)
    present = markers(text)
    hidden = withheld_groups(record)
    assert hidden == {service_group(s) for s in all_versions(statements) if withheld(s)}
    if view.kind is ViewKind.FULL:
        for sourced in record.services:
            assert sourced.value.organisation in text
        return
    for service in all_versions(statements):
        if service_group(service) in hidden:
            assert not markers(service) & present, "a withheld service left a trace"
    if view.kind is ViewKind.PRACTITIONER:
        shown = [s.value for s in record.services if service_group(s.value) not in hidden]
        assert len(view.fields["services"]) == len(shown)
        for service in shown:
            assert service.organisation in text
        return
    allowed_prefixes = {"GIVEN", "FAMILY", "ORG", "PPHONE", "PEMAIL"}
    if view.kind is ViewKind.SHIELDED:
        allowed_prefixes.add("CARER")
        parents = {c.value.name for c in record.carers if c.value.parental_responsibility}
        assert set(view.fields["parents"]) == parents
        assert {m for m in present if m.startswith("CARER")} == parents
    assert {m.rstrip("#0123456789") for m in present} <= allowed_prefixes
    assert len({m for m in present if m.startswith("ORG")}) <= 1
    contact = view.fields["team_contact"]
    assert set(contact) == TEAM_CONTACT_FIELDS
    if contact["organisation"] is not None:
        team = next(
            s.value
            for s in record.services
            if s.value.organisation == contact["organisation"]
            and s.value.type is ServiceType.SOCIAL_CARE
        )
        assert service_group(team) not in hidden
    if view.kind is ViewKind.EMERGENCY:
        for circumstance in Circumstance:
            if circumstance not in (Circumstance.CHILD_PROTECTION_PLAN, Circumstance.LOOKED_AFTER):
                assert circumstance.value not in text
    else:
        for circumstance in Circumstance:
            assert circumstance.value not in text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(children())
def test_no_role_ever_receives_a_field_its_policy_denies(
    child: tuple[ChildRecord, list[Statement]],
) -> None:
    record, statements = child
    for viewer in VIEWERS.values():
        for shield in SHIELDS.values():
            view = view_of(record, viewer, shield=shield, today=TODAY, team_contact=TEAM)
            assert (view.kind if isinstance(view, ChildView) else view) is expected_kind(
                viewer, record, shield
            )
            if isinstance(view, Denial):
                continue
            assert set(view.fields) == EXPECTED_FIELDS[view.kind]
            assert view.shielded is shield.shielded
            check_nothing_denied(view, record, statements)


@given(
    role=st.sampled_from(list(Role)),
    area=st.none() | st.text(max_size=10),
    in_area_=st.booleans(),
    shielded=st.booleans(),
    archived=st.booleans(),
)
def test_auditors_and_feeds_never_see_a_child_and_archives_stay_with_the_la(
    role: Role, area: str | None, in_area_: bool, shielded: bool, archived: bool
) -> None:
    decision = decide(Viewer(role, area), in_area=in_area_, shielded=shielded, archived=archived)
    if role in (Role.AUDITOR, Role.FEED):
        assert decision is Denial.REFUSED
    elif archived and not (role is Role.LA_ADMIN and in_area_):
        assert decision is Denial.NOT_FOUND
    elif shielded and decision is not ViewKind.FULL:
        assert decision in (ViewKind.SHIELDED, ViewKind.EMERGENCY)


def test_allowed_fields_are_the_documented_ones() -> None:
    assert dict(ALLOWED_FIELDS) == EXPECTED_FIELDS

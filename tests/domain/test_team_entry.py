"""The team's form answers, checked field by field, and turned back into answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from contactpoint.domain.team_entry import (
    TeamChildEntry,
    check_entry,
    entry_from_record,
    is_team_record_id,
)
from contactpoint.feeds.schema import FeedLine

TODAY = date(2026, 11, 24)

GOOD = TeamChildEntry(
    given_names="Yonas Tesfay",
    family_name="Gebremedhin",
    preferred_name="",
    former_family_names="",
    dob_day="3",
    dob_month="9",
    dob_year="2010",
    gender="male",
    situation="unaccompanied_asylum_seeking",
    nhs_number="",
    whereabouts="current",
    address_line_1="Flat 2, 14 Harehills Lane",
    address_line_2="",
    town="Leeds",
    postcode="ls8 5dl",
    team="Leeds Children's Social Care",
    lead_name="R Okafor",
    lead_role="Social worker",
    lead_phone="0113 496 0100",
    lead_email="",
)


def errors_of(entry: TeamChildEntry) -> dict[str, str]:
    content, errors = check_entry(entry, area="Leeds", today=TODAY)
    assert (content is None) == bool(errors)
    return {e.field: e.message for e in errors}


def test_a_good_entry_is_a_valid_feed_line() -> None:
    content, errors = check_entry(GOOD, area="Leeds", today=TODAY)
    assert errors == []
    assert content is not None
    line = FeedLine.model_validate({"source_record_id": "team:x", **content}, strict=False)
    assert line.child is not None
    assert line.child.address is not None
    assert line.child.address.postcode == "LS8 5DL"
    assert [c.value for c in line.child.circumstances] == ["unaccompanied_asylum_seeking"]
    assert line.services[0].organisation == "Leeds Children's Social Care"
    assert line.services[0].lead_professional


def test_an_empty_form_says_what_to_enter_in_form_order() -> None:
    content, errors = check_entry(TeamChildEntry(), area="Leeds", today=TODAY)
    assert content is None
    assert [e.message for e in errors] == [
        "Enter the child's given names",
        "Enter the child's family name",
        "Enter the child's date of birth",
        "Select the child's gender",
        "Select why no feed covers the child",
        "Select where the child lives",
        "Enter the name of the team responsible for the child",
        "Enter a work telephone number or email address, so practitioners can get in touch "
        "with the team",
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"dob_day": "31", "dob_month": "2"}, "dob_day", "Date of birth must be a real date"),
        ({"dob_month": ""}, "dob_month", "Date of birth must include a month"),
        ({"dob_day": "", "dob_year": ""}, "dob_day", "must include a day and a year"),
        ({"dob_year": "10"}, "dob_year", "Year must include 4 numbers"),
        ({"dob_year": "2027"}, "dob_day", "today or in the past"),
        ({"dob_year": "2001"}, "dob_day", "must be under 18"),
        ({"dob_day": "x"}, "dob_day", "real date, in numbers"),
        ({"gender": "boy"}, "gender", "Select the child's gender"),
        ({"postcode": "LS99 ZZZ9"}, "postcode", "Enter a real postcode"),
        ({"nhs_number": "1234567890"}, "nhs_number", "Enter a real NHS number"),
        ({"team": "Bristol Children's Services"}, "team", "must start with 'Leeds'"),
        ({"team": "Leedsworth Social Care"}, "team", "must start with 'Leeds'"),
        ({"lead_phone": "call me"}, "lead_phone", "Enter a telephone number"),
        ({"lead_email": "nobody"}, "lead_email", "Enter an email address"),
        ({"given_names": "A" * 101}, "given_names", "100 characters or fewer"),
        ({"family_name": "Khan\tSmith"}, "family_name", "plain text"),
        ({"former_family_names": "\n".join(["X"] * 11)}, "former_family_names", "at most 10"),
        (
            {"address_line_1": "", "postcode": ""},
            "address_line_1",
            "Enter the first line of the address or its postcode",
        ),
        (
            {"whereabouts": "no_fixed_abode"},
            "address_line_1",
            "Leave the address blank",
        ),
        (
            {"situation": "no_fixed_abode"},
            "whereabouts",
            "Select 'No fixed abode'",
        ),
        ({"whereabouts": "somewhere"}, "whereabouts", "Select where the child lives"),
    ],
)
def test_each_field_says_what_to_do(changes: dict[str, str], field: str, message: str) -> None:
    found = errors_of(replace(GOOD, **changes))
    assert field in found, found
    assert message in found[field]


def test_no_fixed_abode_and_last_known_postcode_are_what_the_feed_format_allows() -> None:
    content, _ = check_entry(
        replace(
            GOOD,
            situation="no_fixed_abode",
            whereabouts="no_fixed_abode",
            address_line_1="",
            town="",
            postcode="",
        ),
        area="Leeds",
        today=TODAY,
    )
    assert content is not None
    assert content["child"]["no_fixed_abode"] is True
    assert content["child"]["address"] is None
    assert content["child"]["circumstances"] == []
    content, _ = check_entry(
        replace(GOOD, situation="runaway", whereabouts="last_known", address_line_1="", town=""),
        area="Leeds",
        today=TODAY,
    )
    assert content is not None
    assert content["child"]["address_status"] == "last_known"
    assert content["child"]["address"]["postcode"] == "LS8 5DL"
    assert content["child"]["circumstances"] == ["missing"]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"situation": "runaway", "whereabouts": "last_known", "address_line_1": ""},
        {
            "situation": "traveller",
            "whereabouts": "no_fixed_abode",
            "address_line_1": "",
            "town": "",
            "postcode": "",
            "lead_email": "team@leeds.example",
            "lead_phone": "",
            "lead_name": "",
            "lead_role": "",
        },
        {
            "situation": "overseas_student",
            "whereabouts": "none_known",
            "address_line_1": "",
            "town": "",
            "postcode": "",
            "preferred_name": "Jo",
            "former_family_names": "Smith\nJones",
            "nhs_number": "9434765919",
            "gender": "unknown",
        },
    ],
)
def test_a_record_turns_back_into_the_answers_that_made_it(changes: dict[str, str]) -> None:
    entry = replace(GOOD, **changes)
    content, errors = check_entry(entry, area="Leeds", today=TODAY)
    assert errors == []
    assert content is not None
    line = FeedLine.model_validate({"source_record_id": "team:x", **content}, strict=False)
    record = line.to_domain("local-authority")
    again = entry_from_record(record.child, record.services, "Leeds")
    assert check_entry(again, area="Leeds", today=TODAY) == (content, [])


def test_team_record_ids_are_marked() -> None:
    assert is_team_record_id("team:0f3c")
    assert not is_team_record_id("LA00001234")

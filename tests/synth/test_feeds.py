"""The feeds are valid, complete against the truth, and each covers whom it should."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from itertools import pairwise

import pytest

from contactpoint.domain.nhs_number import is_valid_nhs_number
from contactpoint.feeds.schema import FeedLine
from contactpoint.synth.rates import SOURCES
from tests.synth.conftest import AS_OF, CHILDREN, Generated

ID_FORMAT = {
    "child-benefit": re.compile(r"^CB-\d{10}$"),
    "school-census": re.compile(r"^SC-\d{10}$"),
    "nhs-pds": re.compile(r"^PDS-\d{10}$"),
    "local-authority": re.compile(r"^LA\d{3}-\d{8}$"),
}
DRAMA_PHONE = re.compile(r"^(01\d\d 49[68] 0\d{3}|020 7946 0\d{3}|01632 960\d{3}|07700 900\d{3})$")


def year_group(dob: date) -> int:
    academic = AS_OF.year if AS_OF.month >= 9 else AS_OF.year - 1
    cohort = dob.year if dob.month >= 9 else dob.year - 1
    return academic - (cohort + 5)


def covered(england: Generated, source: str) -> set[str]:
    return {pid for pid, by_source in england.by_person.items() if source in by_source}


@pytest.mark.parametrize("source", SOURCES)
def test_every_line_passes_the_feed_schema(england: Generated, source: str) -> None:
    for raw in england.raw_lines[source]:
        FeedLine.model_validate_json(raw, context={"today": AS_OF})


def test_summary_matches_the_files(england: Generated) -> None:
    assert england.summary.children == CHILDREN == len(england.people)
    for source in SOURCES:
        assert england.summary.lines[source] == len(england.lines[source]) > 0
    names = {p.name for p in england.summary.paths}
    assert {f"{s}.jsonl" for s in SOURCES} | {"truth.csv", "people.jsonl"} <= names
    assert not list(england.directory.glob(".*.partial"))


def test_truth_covers_every_line_exactly_once(england: Generated) -> None:
    keys = [(r["source"], r["source_record_id"]) for r in england.truth_rows]
    assert len(keys) == len(set(keys)) == sum(len(v) for v in england.lines.values())
    for source, lines in england.lines.items():
        for line in lines:
            assert england.truth[(source, line["source_record_id"])] in england.people
            assert (source, line["source_record_id"]) in england.labels
    header = (england.directory / "truth.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == "source,source_record_id,person_id"


@pytest.mark.parametrize("source", SOURCES)
def test_record_ids_are_opaque_stable_and_unique(england: Generated, source: str) -> None:
    ids = [line["source_record_id"] for line in england.lines[source]]
    assert len(ids) == len(set(ids))
    assert all(ID_FORMAT[source].match(i) for i in ids)
    ordered = sorted(
        england.lines[source], key=lambda line: england.person_of(source, line)["person_id"]
    )
    numbers = [int(line["source_record_id"].rsplit("-", 1)[1]) for line in ordered]
    ascents = sum(b > a for a, b in pairwise(numbers)) / (len(numbers) - 1)
    assert 0.4 < ascents < 0.6, "record ids must not follow the order of the children"
    for line in ordered[:2000]:
        assert england.person_of(source, line)["person_id"][1:] not in line["source_record_id"]


def test_line_order_says_nothing_about_other_feeds(england: Generated) -> None:
    """Feeds are shuffled: the nth line of one source is rarely the nth child of another."""
    order = {
        s: [england.person_of(s, line)["person_id"] for line in england.lines[s]]
        for s in ("child-benefit", "nhs-pds")
    }
    same = sum(a == b for a, b in zip(order["child-benefit"], order["nhs-pds"], strict=False))
    assert same < 0.01 * len(order["child-benefit"])
    people_order = list(england.people)
    assert order["nhs-pds"][:50] != people_order[:50]


def test_no_date_is_after_the_reference_day(england: Generated) -> None:
    iso = re.compile(r'"(\d{4}-\d{2}-\d{2})"')
    latest = max(
        date.fromisoformat(found)
        for source in SOURCES
        for raw in england.raw_lines[source]
        for found in iso.findall(raw)
    )
    assert latest <= AS_OF


def test_json_lines_are_compact_utf8(england: Generated) -> None:
    every = [raw for source in SOURCES for raw in england.raw_lines[source]]
    assert all('": ' not in raw and '", "' not in raw and "\\u" not in raw for raw in every)
    assert any(re.search("[éëöüłńóá]", raw) for raw in every), "accents are UTF-8, not escaped"


def test_telephone_numbers_are_never_real(england: Generated) -> None:
    phones = re.compile(r'"phone":"([^"]+)"')
    found = [p for s in SOURCES for raw in england.raw_lines[s] for p in phones.findall(raw)]
    assert len(found) > 1000
    assert all(DRAMA_PHONE.match(p) for p in found), {p for p in found if not DRAMA_PHONE.match(p)}


def test_no_child_photo_or_phone(england: Generated) -> None:
    for source in SOURCES:
        for line in england.lines[source]:
            assert line["child"].keys().isdisjoint({"photo", "phone", "telephone", "mobile"})


# --- Coverage ------------------------------------------------------------------------


def test_child_benefit_covers_most_children_but_not_asylum_seekers_or_boarders(
    england: Generated,
) -> None:
    held = covered(england, "child-benefit")
    assert 0.86 < len(held) / CHILDREN < 0.94
    for pid in held:
        circumstances = england.people[pid]["circumstances"]
        assert "unaccompanied_asylum_seeking" not in circumstances
        assert "overseas_student" not in circumstances
    looked_after = [p for p in england.people.values() if "looked_after" in p["circumstances"]]
    still_claimed = sum(p["person_id"] in held for p in looked_after)
    assert still_claimed <= 0.25 * len(looked_after)
    for line in england.lines["child-benefit"]:
        assert "upn" not in line["child"]
        assert "nhs_number" not in line["child"]
        assert line.get("services", []) == []
        (claimant,) = line["carers"]
        assert claimant["parental_responsibility"] is True or claimant["relationship"] in {
            "grandmother",
            "stepfather",
        }


def test_school_census_covers_enrolled_school_age_children_only(england: Generated) -> None:
    held = covered(england, "school-census")
    compulsory = [
        p for p in england.people.values()
        if 1 <= year_group(date.fromisoformat(p["date_of_birth"])) <= 10
        and not p["circumstances"]
    ]  # fmt: skip
    share = sum(p["person_id"] in held for p in compulsory) / len(compulsory)
    assert 0.88 < share < 0.96
    for line in england.lines["school-census"]:
        person = england.person_of("school-census", line)
        assert 0 <= year_group(date.fromisoformat(person["date_of_birth"])) <= 13
        assert "overseas_student" not in person["circumstances"]
        assert re.match(r"^[A-Z]\d{11}[0-9A-Z]$", line["child"]["upn"])
        (school,) = line["services"]
        assert school["type"] == "school"
        assert re.match(r"^URN:\d{6}$", school["organisation_id"])
        assert school["practitioner"]["role"] == "Head teacher"
        assert date.fromisoformat(school["start_date"]) <= AS_OF
    sixth_form = [
        p for p in england.people.values()
        if year_group(date.fromisoformat(p["date_of_birth"])) in (12, 13)
    ]  # fmt: skip
    assert 0.25 < sum(p["person_id"] in held for p in sixth_form) / len(sixth_form) < 0.5
    under_school_age = [
        p for p in england.people.values() if year_group(date.fromisoformat(p["date_of_birth"])) < 0
    ]
    assert under_school_age
    assert not any(p["person_id"] in held for p in under_school_age)


def test_nhs_pds_covers_nearly_every_child(england: Generated) -> None:
    held = covered(england, "nhs-pds")
    assert len(held) / CHILDREN > 0.985
    for line in england.lines["nhs-pds"]:
        assert is_valid_nhs_number(line["child"]["nhs_number"])
        assert "upn" not in line["child"]
    with_gp = [line for line in england.lines["nhs-pds"] if line.get("services")]
    assert len(with_gp) > 0.95 * len(england.lines["nhs-pds"])
    gp = [s for line in with_gp for s in line["services"] if s["type"] == "gp"]
    assert all(re.match(r"^ODS:[A-Z]\d{5}$", s["organisation_id"]) for s in gp)


def test_local_authority_holds_the_children_it_works_with(england: Generated) -> None:
    held = covered(england, "local-authority")
    assert 0.05 < len(held) / CHILDREN < 0.08
    must = {"looked_after", "child_protection_plan", "unaccompanied_asylum_seeking", "missing"}
    for person in england.people.values():
        if must & set(person["circumstances"]) or person["no_fixed_abode"]:
            assert person["person_id"] in held, person
    only_la = [pid for pid in held if set(england.by_person[pid]) == {"local-authority"}]
    assert only_la, "some children are known to the local authority alone"
    services = Counter(
        s["type"] for line in england.lines["local-authority"] for s in line["services"]
    )
    assert services["social_care"]
    assert services["youth_offending"]
    assert services["other"]
    sensitive = [
        s for line in england.lines["local-authority"] for s in line["services"]
        if s["type"] in ("camhs", "sexual_health", "substance_misuse")
    ]  # fmt: skip
    consents = Counter(s["consent_to_show"] for s in sensitive)
    assert consents[True]
    assert consents[False]
    assert consents[None]
    assert all(s["sensitive"] is True for s in sensitive)
    social_care = [
        s for line in england.lines["local-authority"] for s in line["services"]
        if s["type"] == "social_care"
    ]  # fmt: skip
    assert all(s["lead_professional"] and s["assessment"] for s in social_care)


def test_unaccompanied_asylum_seekers_are_partly_missing_from_pds(england: Generated) -> None:
    uasc = [
        p for p in england.people.values() if "unaccompanied_asylum_seeking" in p["circumstances"]
    ]
    assert uasc
    assert any(p["nhs_number"] is None for p in uasc)
    assert all(
        p["person_id"] not in covered(england, "nhs-pds") for p in uasc if not p["nhs_number"]
    )
    uncertain = [p for p in uasc if p["dob_uncertain"]]
    assert uncertain
    assert all(p["date_of_birth"][5:] == "01-01" for p in uncertain)


def test_overseas_students_are_boarders_aged_11_to_17(england: Generated) -> None:
    boarders = [p for p in england.people.values() if "overseas_student" in p["circumstances"]]
    assert boarders
    for person in boarders:
        born = date.fromisoformat(person["date_of_birth"])
        age = AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))
        assert 11 <= age <= 17
        assert person["education"] == "independent_boarding"
        assert set(england.by_person.get(person["person_id"], {})) <= {"nhs-pds", "local-authority"}


def test_nhs_numbers_and_upns_are_valid_and_unique(england: Generated) -> None:
    nhs = [p["nhs_number"] for p in england.people.values() if p["nhs_number"]]
    upns = [p["upn"] for p in england.people.values() if p["upn"]]
    assert len(nhs) == len(set(nhs))
    assert all(is_valid_nhs_number(n) for n in nhs)
    assert all(n.startswith("9") for n in nhs)
    assert len(upns) == len(set(upns))
    assert all(re.match(r"^[A-Z]\d{12}$", u) for u in upns)
    duplicates_nhs = [
        line["child"]["nhs_number"]
        for line in england.lines["nhs-pds"]
        if "duplicate" in england.labels_of("nhs-pds", line)
    ]
    assert duplicates_nhs
    assert not set(duplicates_nhs) & set(nhs)

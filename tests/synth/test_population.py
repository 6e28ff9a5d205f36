"""The true population looks like England's children."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from contactpoint.domain.postcode import normalise_postcode
from contactpoint.synth import rates
from contactpoint.synth.names import has_diacritics, name_bank
from tests.synth.conftest import AS_OF, CHILDREN, Generated


def age(person: dict[str, Any]) -> int:
    born = date.fromisoformat(person["date_of_birth"])
    return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))


def tolerance(expected: float, n: int, sigmas: float = 4.5) -> float:
    return sigmas * math.sqrt(expected * (1 - expected) / n)


def test_age_structure_follows_england(england: Generated) -> None:
    ages = Counter(age(p) for p in england.people.values())
    assert set(ages) == set(range(18))
    total = sum(rates.AGE_WEIGHTS)
    for years, weight in enumerate(rates.AGE_WEIGHTS):
        share = ages[years] / CHILDREN
        assert abs(share - weight / total) < 0.15 * weight / total, (years, share)
    youngest = sum(ages[a] for a in range(3)) / 3
    older = sum(ages[a] for a in range(10, 15)) / 5
    assert youngest < 0.95 * older


def test_birthdays_spread_over_the_year(england: Generated) -> None:
    months = Counter(date.fromisoformat(p["date_of_birth"]).month for p in england.people.values())
    assert len(months) == 12
    assert max(months.values()) < 1.35 * min(months.values())


def test_sex_ratio(england: Generated) -> None:
    boys = sum(p["gender"] == "male" for p in england.people.values()) / CHILDREN
    assert abs(boys - rates.MALE_SHARE) < tolerance(rates.MALE_SHARE, CHILDREN)


def test_families_siblings_and_twins(england: Generated) -> None:
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for person in england.people.values():
        families[person["family_id"]].append(person)
    sizes = Counter(len(f) for f in families.values())
    assert 1.4 < CHILDREN / len(families) < 1.9
    assert sizes[1] > sizes[2] > sizes[3] > sizes[4] > 0
    with_sibling = sum(len(f) for f in families.values() if len(f) > 1) / CHILDREN
    assert 0.55 < with_sibling < 0.80
    twins = [p for p in england.people.values() if p["twin"]]
    assert 0.02 < len(twins) / CHILDREN < 0.04
    for family in families.values():
        at_home = [p for p in family if "looked_after" not in p["circumstances"]]
        assert len({repr(p["address"]) for p in at_home}) <= 1
        carers = {tuple(c["name"] for c in p["carers"]) for p in at_home}
        assert len(carers) <= 1
        for gender in ("female", "male"):
            assert len({p["family_name"] for p in family if p["gender"] == gender}) <= 1
        assert all(p["carers"] for p in family)


def test_twins_are_the_classic_false_match_trap(england: Generated) -> None:
    female_forms = {
        male: female
        for pool in name_bank().surnames.values()
        for male, female in pool.female_forms().items()
    }
    pairs = 0
    for person in england.people.values():
        if not person["twin"]:
            continue
        twin = england.people[person["twin_person_id"]]
        assert twin["twin_person_id"] == person["person_id"]
        if "looked_after" in person["circumstances"] + twin["circumstances"]:
            continue
        assert twin["family_id"] == person["family_id"]
        assert twin["date_of_birth"] == person["date_of_birth"]
        assert twin["address"] == person["address"]
        names = {twin["family_name"], person["family_name"]}
        if twin["gender"] == person["gender"]:
            assert len(names) == 1
        else:
            assert len(names) == 1 or any({m, f} == names for m, f in female_forms.items())
        assert twin["given_names"][0] != person["given_names"][0]
        pairs += 1
    assert pairs > 200


def test_hard_to_reach_groups_at_their_shares(england: Generated) -> None:
    people = list(england.people.values())
    counts = Counter(c for p in people for c in p["circumstances"])
    expected = {
        "unaccompanied_asylum_seeking": rates.UASC_SHARE,
        "overseas_student": rates.OVERSEAS_STUDENT_SHARE,
        "traveller": rates.TRAVELLER_FAMILY_SHARE,
        "missing": rates.MISSING_SHARE,
        "looked_after": 0.007,
        "child_protection_plan": rates.CHILD_PROTECTION_FAMILY_SHARE,
    }
    for circumstance, share in expected.items():
        # Families cluster some groups (siblings share a plan), so allow twice the spread.
        assert (
            abs(counts[circumstance] / CHILDREN - share) < 2 * tolerance(share, CHILDREN) + 1e-4
        ), (
            circumstance,
            counts[circumstance],
        )
    no_fixed_abode = sum(p["no_fixed_abode"] for p in people) / CHILDREN
    expected_nfa = (
        rates.NO_FIXED_ABODE_FAMILY_SHARE + rates.TRAVELLER_FAMILY_SHARE * rates.TRAVELLER_ROADSIDE
    )
    assert no_fixed_abode < expected_nfa + 3 * tolerance(expected_nfa, CHILDREN) + 5e-4
    assert all(p["address"] is None for p in people if p["no_fixed_abode"])
    missing = [p for p in people if "missing" in p["circumstances"]]
    assert all(age(p) >= rates.MISSING_MIN_AGE for p in missing)
    uasc = [p for p in people if "unaccompanied_asylum_seeking" in p["circumstances"]]
    assert all(age(p) >= 12 for p in uasc)
    social = Counter(p["social_care"] for p in people)
    assert 0.015 < social["child_in_need"] / CHILDREN < 0.04
    assert 0.01 < social["early_help"] / CHILDREN < 0.03


def test_names_are_skewed_and_diverse(england: Generated) -> None:
    people = list(england.people.values())
    firsts = Counter(p["given_names"][0] for p in people)
    surnames = Counter(p["family_name"] for p in people)
    top_first = firsts.most_common(1)[0][1] / CHILDREN
    assert 0.005 < top_first < 0.03
    assert len(firsts) > 1000
    assert len(surnames) > 2500
    top_ten_surnames = sum(n for _, n in surnames.most_common(10)) / CHILDREN
    assert 0.04 < top_ten_surnames < 0.15
    origins = Counter(p["name_origin"] for p in people)
    assert {group for group, _, _ in rates.NAME_ORIGINS} <= set(origins)
    assert 0.5 < origins["english"] / CHILDREN < 0.7
    accented = sum(
        any(has_diacritics(n) for n in [*p["given_names"], p["family_name"]]) for p in people
    )
    assert accented / CHILDREN > 0.01
    assert sum("'" in p["family_name"] for p in people) / CHILDREN > 0.003
    hyphenated = sum("-" in p["family_name"] for p in people) / CHILDREN
    assert 0.01 < hyphenated < 0.08
    several_given = sum(len(p["given_names"]) > 1 for p in people) / CHILDREN
    assert 0.65 < several_given < 0.85
    for name in ("Zoë", "Łukasz", "O'Brien", "D'Souza", "Siân"):
        assert any(name in (*p["given_names"], p["family_name"]) for p in people) or any(
            name in pool.items for pool in name_bank().given.values()
        )


def test_addresses_spread_over_england(england: Generated) -> None:
    people = [p for p in england.people.values() if p["address"]]
    authorities = Counter(p["la_code"] for p in england.people.values())
    assert len(authorities) > 100
    assert authorities.most_common(1)[0][1] / CHILDREN < 0.06
    for person in people[:5000]:
        postcode = person["address"]["postcode"]
        if postcode is not None:
            assert normalise_postcode(postcode) == postcode
    leeds = [p for p in people if p["la_name"] == "Leeds"]
    assert leeds
    assert all(
        re.match(r"^LS\d+ ", p["address"]["postcode"])
        for p in leeds
        if "looked_after" not in p["circumstances"]
    )
    moved = sum(p["previous_address"] is not None for p in england.people.values()) / CHILDREN
    assert 0.12 < moved < 0.22
    changed = sum(bool(p["former_family_names"]) for p in england.people.values()) / CHILDREN
    assert 0.008 < changed < 0.035

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.domain.vocabulary import Gender
from contactpoint.identity.comparisons import (
    COMPARISONS,
    D,
    F,
    G,
    N,
    P,
    S,
    U,
    compare,
    describe,
    given_slip,
    middle_names_differ,
    one_slip,
)
from contactpoint.identity.diminutives import DIMINUTIVES
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.normalise import normalise_name
from tests.identity.records import features


def level(a: MatchFeatures, b: MatchFeatures, index: int) -> str:
    return COMPARISONS[index].levels[compare(a, b)[index]]


@pytest.mark.parametrize(
    ("given_a", "given_b", "expected"),
    [
        ("Amelia Rose", "AMELIA", "exact"),
        ("Elizabeth", "Libby", "equivalent"),
        ("Robert", "Bob", "equivalent"),
        ("Rose", "Amelia Rose", "weak"),
        ("Aidan", "Aiden", "close"),
        ("Olivia", "Olivai", "close"),
        ("Leo", "Eo", "weak"),
        ("Olivia", "Ohvia", "weak"),
        ("Olly", "Oliver", "equivalent"),
        ("Livvy Grace", "Olivia", "equivalent"),
        ("Gosia", "Małgorzata", "equivalent"),
        ("Charlie", "Charlotte", "equivalent"),
        ("Kuba", "Jakub", "equivalent"),
        ("Mo", "Muhammad", "equivalent"),
        ("Olly", "Olivia", "different"),  # Olly is Oliver's, not Olivia's
        ("Amelia", "Noah", "different"),
    ],
)
def test_given_name_levels(given_a: str, given_b: str, expected: str) -> None:
    assert level(features(given_names=given_a), features(given_names=given_b), G) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("ben", "bdn", True),  # a neighbouring key
        ("leo", "eo", True),  # a letter dropped
        ("jacob", "jacbo", True),  # two letters swapped
        ("amrit", "arnrit", True),  # a scanner reads m as rn
        ("olivia", "ohvia", True),  # ... and li as h
        ("roisin", "roisiri", True),  # ... and n as ri
        ("ben", "ben", False),  # the same spelling is no slip
        ("ava", "ivy", False),
        ("charlie", "chloe", False),
        ("isla", "isabelle", False),
    ],
)
def test_one_slip(a: str, b: str, expected: bool) -> None:
    assert one_slip(a, b) is expected
    assert one_slip(b, a) is expected


@pytest.mark.parametrize(
    ("given_a", "given_b", "expected"),
    [
        ("Ben", "Bdn", True),
        ("Theo James", "Fheo", True),
        ("Leo Oliver", "Oliver Leo", False),  # twins named after each other
        ("Leo", "Jack Leo", False),
        ("Ava Eva", "Eva Rose", False),  # a slip apart, but one is the other's middle name
        ("Charlie", "Charlotte", False),  # alike, but another name, not a slip
    ],
)
def test_a_given_name_slip_is_told_from_another_name(
    given_a: str, given_b: str, expected: bool
) -> None:
    a, b = features(given_names=given_a), features(given_names=given_b)
    assert given_slip(a, b) is expected
    assert given_slip(b, a) is expected


@pytest.mark.parametrize(
    ("given_a", "given_b", "expected"),
    [
        ("Amelia Evie", "Amelia Mae", True),
        ("Olivia Grace Mia", "Olivia Rebecca Rose", True),
        ("Amelia Evie", "Amelia", False),  # a source that drops middle names says nothing
        ("Amelia Evie Rose", "Amelia Rose", False),  # one in common
        ("Amelia Mae", "Amelia May", False),  # a slip
        ("Amelia Evie", "Amelia Evie", False),
    ],
)
def test_middle_names_differ(given_a: str, given_b: str, expected: bool) -> None:
    a, b = features(given_names=given_a), features(given_names=given_b)
    assert middle_names_differ(a, b) is expected
    assert middle_names_differ(b, a) is expected


def test_a_short_form_of_a_preferred_name_counts() -> None:
    school = features(given_names="Ella", preferred_name="Izzy")
    assert level(school, features(given_names="Isabella"), G) == "equivalent"


def test_short_forms_are_written_in_normal_form() -> None:
    for short, formal_names in DIMINUTIVES.items():
        assert short == normalise_name(short)
        assert formal_names
        for formal in formal_names:
            assert formal == normalise_name(formal) != short


def test_preferred_name_counts_as_the_same_name() -> None:
    school = features(given_names="Chiamaka Ava", preferred_name="Ama")
    benefit = features(given_names="Ama")
    assert level(school, benefit, G) == "equivalent"


@pytest.mark.parametrize(
    ("family_a", "former", "family_b", "expected"),
    [
        ("O'Brien", (), "OBRIEN", "exact"),
        ("Zoë-Smith", (), "zoe smith", "exact"),
        ("Redcliffe-Ashworth", (), "Redcliffe", "former_or_part"),
        ("Khan", ("Smith",), "Smith", "former_or_part"),
        ("Stainshaw", (), "Stinshaw", "close"),
        ("Todd", (), "Todcl", "weak"),
        ("Khan", (), "Nowak", "different"),
    ],
)
def test_family_name_levels(
    family_a: str, former: tuple[str, ...], family_b: str, expected: str
) -> None:
    a = features(family_name=family_a, former_family_names=former)
    assert level(a, features(family_name=family_b), F) == expected


def test_swapped_names_are_recognised_and_not_double_counted() -> None:
    a = features(given_names="Noah", family_name="Woodfield")
    b = features(given_names="Woodfield", family_name="Noah")
    levels = describe(compare(a, b))
    assert levels["given_name"] == "swapped"
    assert levels["family_name"] == "null"


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (date(2014, 3, 7), "exact"),
        (date(2014, 7, 3), "day_month_swapped"),
        (date(2014, 3, 8), "one_part"),
        (date(2015, 3, 7), "one_part"),
        (date(2012, 1, 1), "different"),
    ],
)
def test_date_of_birth_levels(born: date, expected: str) -> None:
    assert level(features(), features(date_of_birth=born), D) == expected


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        ("LS1 4AB", "exact"),
        ("LS1 4XY", "sector"),
        ("LS1 7AB", "district"),
        ("LS14 1AA", "area"),
        ("M1 1AA", "different"),
        (None, "null"),
    ],
)
def test_postcode_levels(postcode: str | None, expected: str) -> None:
    assert level(features(), features(postcode=postcode), P) == expected


def test_identifiers_and_gender() -> None:
    a = features(nhs_number="9434765919", upn="A123456789012")
    assert level(a, features(nhs_number="9434765919"), N) == "exact"
    assert level(a, features(nhs_number="4010232137"), N) == "different"
    assert level(a, features(), N) == "null"
    assert level(a, features(upn="B123456789012"), U) == "different"
    assert level(a, features(gender=Gender.MALE), S) == "different"
    assert level(a, features(gender=Gender.UNKNOWN), S) == "null"


def test_features_survive_their_stored_form() -> None:
    a = features(preferred_name="Millie", former_family_names=("Smith",), nhs_number="9434765919")
    assert MatchFeatures.from_json(a.to_json()) == a

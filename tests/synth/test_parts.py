"""The generator's parts: identifiers, error functions, dates, name and place data."""

from __future__ import annotations

import random
from datetime import date
from itertools import pairwise

import jellyfish
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.domain.nhs_number import is_valid_nhs_number
from contactpoint.domain.postcode import normalise_postcode
from contactpoint.domain.upn import normalise_upn
from contactpoint.synth.dates import Calendar, years_before
from contactpoint.synth.identifiers import (
    DUPLICATE_NHS_START,
    NhsNumbers,
    Permutation,
    RecordIds,
    Upns,
    upn_check_letter,
)
from contactpoint.synth.names import fold_diacritics, name_bank
from contactpoint.synth.noise import (
    OCR_CONFUSIONS,
    keyboard_typo,
    ocr_confusion,
    repunctuate,
    simplify_compound,
    swap_day_month,
)
from contactpoint.synth.places import places


def test_nhs_numbers_are_valid_unique_and_disjoint_between_ranges() -> None:
    first, second = NhsNumbers(random.Random("s")), NhsNumbers(random.Random("s"))
    first.restart(0, 60_000)
    second.restart(DUPLICATE_NHS_START, DUPLICATE_NHS_START + 6_000)
    a = [first.issue() for _ in range(50_000)]
    b = [second.issue() for _ in range(5_000)]
    assert all(is_valid_nhs_number(n) for n in a + b)
    assert len(set(a)) == len(a)
    assert not set(a) & set(b)


@pytest.mark.parametrize("modulus", [1000, 900, 100_000, 10**6])
def test_permutation_is_a_bijection(modulus: int) -> None:
    permutation = Permutation(random.Random(1), modulus)
    outputs = [permutation(n) for n in range(modulus)]
    assert sorted(outputs) == list(range(modulus))
    steps = {b - a for a, b in pairwise(outputs[:200])}
    assert len(steps) > 150, "no constant step between consecutive identifiers"


def test_record_ids_are_unique_and_prefixed() -> None:
    ids = RecordIds(random.Random(2), "CB-")
    ids.restart(0, 20_000)
    issued = [ids.issue() for _ in range(20_000)]
    assert len(set(issued)) == len(issued)
    assert all(i.startswith("CB-") for i in issued)
    assert issued[:5] != sorted(issued[:5])


def test_upn_check_letter_follows_the_dfe_rule() -> None:
    # 8*2 + 0*3 + 1*4 + 2*5 + 0*6..0*9 + 1*10 + 0*11 + 0*12 + 1*13 = 53; 53 mod 23 = 7 -> H
    assert upn_check_letter("801200001001") == "H"
    upns = Upns(random.Random(1))
    upns.restart(0, 1500)
    issued = [upns.issue("383", 2019) for _ in range(1500)]
    assert len(set(issued)) == 1500
    assert all(normalise_upn(u) == u for u in issued)
    assert all(u[1:5] == "3839" for u in issued)
    assert all(u[0] not in "IOS" for u in issued)
    with pytest.raises(OverflowError):
        upns.issue("383", 2019)


def test_every_place_makes_well_formed_postcodes() -> None:
    rng = random.Random(3)
    where = places()
    assert len(where.authorities) > 100
    for la in where.authorities:
        for town in la.towns:
            for _ in range(5):
                postcode = where.postcode(rng, town)
                assert normalise_postcode(postcode) == postcode, (la.name, postcode)


def test_name_data_has_every_tradition() -> None:
    bank = name_bank()
    for group in bank.origins:
        assert bank.given[(group, "F")].items
        assert bank.given[(group, "M")].items
        assert group in bank.surnames
    assert bank.surname_for_sex(random.Random(1), "polish", "Kowalski", True) == "Kowalska"
    assert "Bill" in bank.nicknames["William"]
    assert "Muhammad" in bank.variants["Mohammed"]
    assert len(bank.surname_tail.items) > 1000


def test_fold_diacritics() -> None:
    assert fold_diacritics("Zoë Łukasz Siân Chloé Đức Søren") == "Zoe Lukasz Sian Chloe Duc Soren"


@given(
    st.sampled_from(["William", "Oluwaseun", "Smith", "O'Brien", "Mary-Jane", "Wing Yan"]),
    st.integers(0, 10**6),
)
def test_keyboard_typo_is_one_slip(name: str, seed: int) -> None:
    slipped = keyboard_typo(random.Random(seed), name)
    assert slipped != name
    assert jellyfish.damerau_levenshtein_distance(slipped, name) == 1
    assert slipped.strip() == slipped
    assert "  " not in slipped


def test_ocr_confusions_look_alike() -> None:
    rng = random.Random(4)
    possible = {
        "Martin"[:i] + read + "Martin"[i + len(seen) :]
        for seen, read in OCR_CONFUSIONS
        for i in range(len("Martin"))
        if "Martin".startswith(seen, i)
    }
    results = {ocr_confusion(rng, "Martin") for _ in range(200)}
    assert results == possible == {"Mortin", "Martiri"}


def test_day_month_swap_only_where_valid() -> None:
    today = date(2025, 6, 1)
    assert swap_day_month(date(2014, 3, 7), today) == date(2014, 7, 3)
    assert swap_day_month(date(2014, 3, 13), today) is None
    assert swap_day_month(date(2014, 5, 5), today) is None
    assert swap_day_month(date(2025, 1, 7), today) is None


def test_compound_surnames_and_punctuation() -> None:
    rng = random.Random(5)
    forms = {simplify_compound(rng, "Smith-Jones") for _ in range(200)}
    assert forms <= {"Smith", "Jones", "Smith Jones", "SmithJones"}
    assert len(forms) == 4
    spanish = {simplify_compound(rng, "García López") for _ in range(200)}
    assert "García" in spanish
    assert "García-López" in spanish
    assert {repunctuate(rng, "O'Brien") for _ in range(100)} == {
        "OBrien",
        "O Brien",
        "O\u2019Brien",
    }


def test_calendar_ages_and_school_years() -> None:
    calendar = Calendar(date(2025, 6, 1))
    assert calendar.age(date(2015, 6, 1).toordinal()) == 10
    assert calendar.age(date(2015, 6, 2).toordinal()) == 9
    assert calendar.year_group(date(2019, 9, 1).toordinal()) == 0
    assert calendar.year_group(date(2020, 8, 31).toordinal()) == 0
    assert calendar.year_group(date(2020, 9, 1).toordinal()) == -1
    assert calendar.year_group(date(2019, 8, 31).toordinal()) == 1
    assert years_before(date(2024, 2, 29), 1) == date(2023, 2, 28)
    low, high = calendar.age_bounds[17]
    assert calendar.age(low) == 17
    assert calendar.age(low - 1) == 18
    assert calendar.age(high) == 17

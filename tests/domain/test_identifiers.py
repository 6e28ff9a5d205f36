from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.domain.contactpoint_id import (
    ALPHABET,
    new_contactpoint_id,
    parse_contactpoint_id,
)
from contactpoint.domain.nhs_number import check_digit, is_valid_nhs_number
from contactpoint.domain.postcode import normalise_postcode
from contactpoint.domain.upn import normalise_upn


def test_contactpoint_ids_are_random_and_valid() -> None:
    ids = {new_contactpoint_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(parse_contactpoint_id(i) == i for i in ids)
    bodies = [i.replace("-", "")[:-1] for i in ids]
    for position in range(11):
        assert {body[position] for body in bodies} == set(ALPHABET), position


@given(st.integers(min_value=0, max_value=13), st.sampled_from(ALPHABET))
def test_any_single_mistyped_character_is_caught(position: int, replacement: str) -> None:
    good = new_contactpoint_id()
    compact = good.replace("-", "")
    index = position % len(compact)
    if compact[index] == replacement:
        return
    bad = compact[:index] + replacement + compact[index + 1 :]
    assert parse_contactpoint_id(bad) is None


def test_contactpoint_id_accepts_spacing_case_and_confusables() -> None:
    good = next(i for i in iter(new_contactpoint_id, None) if "0" in i and "1" in i)
    assert parse_contactpoint_id(good.lower().replace("-", " ")) == good
    assert parse_contactpoint_id(good.replace("0", "O").replace("1", "I")) == good


@pytest.mark.parametrize("value", ["", "ABC", "!!!!-!!!!-!!!!", "UUUU-UUUU-UUUU"])
def test_contactpoint_id_rejects_junk(value: str) -> None:
    assert parse_contactpoint_id(value) is None


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "4010232137"])
def test_valid_nhs_numbers(value: str) -> None:
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize(
    "value",
    ["9434765918", "943476591", "94347659190", "abcdefghij", "0000000000", "１２３４５６７８９０"],
)
def test_invalid_nhs_numbers(value: str) -> None:
    assert not is_valid_nhs_number(value)


def test_nine_digits_whose_check_would_be_ten_have_no_valid_number() -> None:
    prefixes = [f"{n:09d}" for n in range(100000, 100200)]
    assert any(check_digit(p) is None for p in prefixes)
    for prefix in prefixes:
        digit = check_digit(prefix)
        if digit is not None:
            assert is_valid_nhs_number(prefix + str(digit))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("LS1 4AB", "LS1 4AB"),
        ("ls14ab", "LS1 4AB"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("GIR 0AA", "GIR 0AA"),
    ],
)
def test_postcodes_normalise(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["", "LS1", "12345", "QS1 4AB", "LS1 4CB", "LS1 4AB X", "L%1 4AB"])
def test_bad_postcodes(raw: str) -> None:
    assert normalise_postcode(raw) is None


def test_upn_form() -> None:
    assert normalise_upn("a123456789012") == "A123456789012"
    assert normalise_upn("A12345678901Z") == "A12345678901Z"
    assert normalise_upn("1123456789012") is None
    assert normalise_upn("A1234") is None

"""Each injected error happens at its documented rate, and each label tells the truth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from contactpoint.synth import rates
from contactpoint.synth.names import fold_diacritics, has_diacritics, name_bank
from contactpoint.synth.noise import swap_day_month
from tests.synth.conftest import AS_OF, Generated

Line = dict[str, Any]
Person = dict[str, Any]

NAME_LABELS = {
    "old_surname", "nickname_given", "variant_spelling", "middle_names_dropped",
    "compound_surname_simplified", "diacritics_dropped", "punctuation", "typo_given",
    "typo_family", "ocr", "names_swapped", "case", "double_space",
}  # fmt: skip
DOB_LABELS = {"dob_day_month_swapped", "dob_typo", "dob_disputed"}
ADDRESS_LABELS = {"stale_address", "address_missing", "postcode_missing", "last_known_address"}


def _all(line: Line, person: Person, labels: list[str]) -> bool:
    return True


def _nicknamed(line: Line, person: Person, labels: list[str]) -> bool:
    return person["given_names"][0] in name_bank().nicknames


def _has_variant(line: Line, person: Person, labels: list[str]) -> bool:
    variants = name_bank().variants
    return person["given_names"][0] in variants or person["family_name"] in variants


def _has_middle(line: Line, person: Person, labels: list[str]) -> bool:
    return len(person["given_names"]) > 1


def _compound(line: Line, person: Person, labels: list[str]) -> bool:
    return "-" in person["family_name"] or " " in person["family_name"]


def _accented(line: Line, person: Person, labels: list[str]) -> bool:
    names = [*person["given_names"], person["family_name"], *person["former_family_names"]]
    if person["preferred_name"]:
        names.append(person["preferred_name"])
    return any(has_diacritics(n) for n in names)


def _apostrophe(line: Line, person: Person, labels: list[str]) -> bool:
    return "'" in person["family_name"] and "old_surname" not in labels


def _two_words(line: Line, person: Person, labels: list[str]) -> bool:
    return " " in line["child"]["given_names"].replace("  ", " ")


def _swappable(line: Line, person: Person, labels: list[str]) -> bool:
    if "dob_disputed" in labels:
        return False
    return swap_day_month(date.fromisoformat(person["date_of_birth"]), AS_OF) is not None


def _moved(line: Line, person: Person, labels: list[str]) -> bool:
    return person["previous_address"] is not None and not person["no_fixed_abode"]


def _changed_surname(line: Line, person: Person, labels: list[str]) -> bool:
    return bool(person["former_family_names"])


def _address_expected(line: Line, person: Person, labels: list[str]) -> bool:
    return "address" in line["child"] or "address_missing" in labels


def _postcode_expected(line: Line, person: Person, labels: list[str]) -> bool:
    address = line["child"].get("address")
    return address is not None and (address["postcode"] is not None or "postcode_missing" in labels)


def _has_nhs(line: Line, person: Person, labels: list[str]) -> bool:
    return person["nhs_number"] is not None


APPLIES: dict[str, Callable[[Line, Person, list[str]], bool]] = {
    "typo_given": _all,
    "typo_family": _all,
    "ocr": _all,
    "nickname_given": _nicknamed,
    "variant_spelling": _has_variant,
    "names_swapped": _all,
    "middle_names_dropped": _has_middle,
    "compound_surname_simplified": _compound,
    "diacritics_dropped": _accented,
    "punctuation": _apostrophe,
    "case": _all,
    "double_space": _two_words,
    "dob_day_month_swapped": _swappable,
    "dob_typo": _all,
    "gender_unknown": _all,
    "address_missing": _address_expected,
    "postcode_missing": _postcode_expected,
    "stale_address": _moved,
    "old_surname": _changed_surname,
    "nhs_number_omitted": _has_nhs,
}
CASES = [
    (source, label)
    for source in rates.SOURCES
    for label in APPLIES
    if getattr(rates.NOISE[source], label) > 0
    and not (label == "nhs_number_omitted" and source == "nhs-pds")
]


@pytest.mark.parametrize(("source", "label"), CASES)
def test_error_rate_is_as_documented(england: Generated, source: str, label: str) -> None:
    expected = getattr(rates.NOISE[source], label)
    applies = APPLIES[label]
    exposed = hits = 0
    for line in england.lines[source]:
        labels = england.labels_of(source, line)
        if "left_behind_record" in labels:
            continue
        if applies(line, england.person_of(source, line), labels):
            exposed += 1
            hits += label in labels
    assert exposed > 0
    allowed = 4.5 * (expected * (1 - expected) * exposed) ** 0.5 + 3
    assert abs(hits - expected * exposed) <= allowed, (hits, exposed, expected)


@pytest.mark.parametrize("source", rates.SOURCES)
def test_duplicate_records_at_their_rate(england: Generated, source: str) -> None:
    expected = rates.DUPLICATE_RECORD[source]
    originals = dups = 0
    for line in england.lines[source]:
        labels = england.labels_of(source, line)
        if "duplicate" in labels:
            dups += 1
        elif "left_behind_record" not in labels:
            originals += 1
    assert abs(dups - expected * originals) <= 4.5 * (expected * originals) ** 0.5 + 3


@pytest.mark.parametrize(
    ("source", "field", "key", "condition"),
    [
        ("school-census", "preferred_name_listed", "preferred_name", "preferred_name"),
        ("local-authority", "preferred_name_listed", "preferred_name", "preferred_name"),
        ("local-authority", "upn_listed", "upn", "upn"),
        ("nhs-pds", "former_names_listed", "former_family_names", "former_family_names"),
    ],
)
def test_optional_fields_appear_at_their_rate(
    england: Generated, source: str, field: str, key: str, condition: str
) -> None:
    expected = getattr(rates.NOISE[source], field)
    exposed = present = 0
    for line in england.lines[source]:
        labels = england.labels_of(source, line)
        if not england.person_of(source, line)[condition] or "old_surname" in labels:
            continue
        exposed += 1
        present += key in line["child"]
    assert exposed > 5
    assert (
        abs(present - expected * exposed) <= 4.5 * (expected * (1 - expected) * exposed) ** 0.5 + 3
    )


def test_child_benefit_never_has_a_preferred_name(england: Generated) -> None:
    assert not any("preferred_name" in line["child"] for line in england.lines["child-benefit"])


@pytest.mark.parametrize("source", rates.SOURCES)
def test_labels_account_for_every_difference(england: Generated, source: str) -> None:
    """Where no label says otherwise, a line is a faithful copy of the truth."""
    checked = 0
    for line in england.lines[source]:
        labels = set(england.labels_of(source, line))
        person = england.person_of(source, line)
        child = line["child"]
        given, family = child["given_names"], child["family_name"]
        true_given, true_family = " ".join(person["given_names"]), person["family_name"]
        name_labels = labels & NAME_LABELS
        if not name_labels:
            assert (given, family) == (true_given, true_family)
        elif name_labels == {"case"}:
            # Folded too: capitals lose Turkish dotless i (YILDIZ for Yıldız), as real systems do.
            assert fold_diacritics(given).casefold() == fold_diacritics(true_given).casefold()
            assert fold_diacritics(family).casefold() == fold_diacritics(true_family).casefold()
        elif name_labels == {"diacritics_dropped"}:
            assert (given, family) == (fold_diacritics(true_given), fold_diacritics(true_family))
        elif name_labels == {"old_surname"}:
            assert (given, family) == (true_given, person["former_family_names"][-1])
        elif name_labels == {"names_swapped"}:
            assert (given, family) == (true_family, true_given)
        elif name_labels == {"middle_names_dropped"}:
            assert (given, family) == (person["given_names"][0], true_family)
        elif name_labels == {"double_space"}:
            assert "  " in given
            assert given.replace("  ", " ") == true_given
        elif name_labels == {"typo_family"}:
            assert given == true_given
            assert family != true_family
        elif name_labels == {"typo_given"}:
            assert family == true_family
            assert given != true_given
        dob = date.fromisoformat(child["date_of_birth"])
        true_dob = date.fromisoformat(person["date_of_birth"])
        if not labels & DOB_LABELS:
            assert dob == true_dob
        elif labels & DOB_LABELS == {"dob_day_month_swapped"}:
            assert dob == swap_day_month(true_dob, AS_OF)
        elif labels & DOB_LABELS == {"dob_disputed"}:
            assert child["date_of_birth"] == person["claimed_date_of_birth"]
        elif labels & DOB_LABELS == {"dob_typo"}:
            assert dob != true_dob
            assert abs((dob - true_dob).days) in (1, 365, 366)
        if "gender_unknown" in labels:
            assert child["gender"] == "unknown"
        else:
            assert child["gender"] == person["gender"]
        address = child.get("address")
        if "left_behind_record" in labels:
            assert address == person["previous_address"]
        elif child.get("no_fixed_abode"):
            assert person["no_fixed_abode"]
            assert not labels & ADDRESS_LABELS
        elif not labels & ADDRESS_LABELS:
            assert address == person["address"]
        elif labels & ADDRESS_LABELS == {"stale_address"}:
            assert address == person["previous_address"] != person["address"]
        elif labels & ADDRESS_LABELS == {"last_known_address"}:
            assert person["no_fixed_abode"]
            assert address == person["previous_address"]
        elif labels & ADDRESS_LABELS == {"address_missing"}:
            assert address is None
        elif labels & ADDRESS_LABELS == {"postcode_missing"}:
            assert address is not None
            assert address["postcode"] is None
            assert address["lines"] == person["address"]["lines"]
        if "nhs_number" in child and "duplicate" not in labels:
            assert child["nhs_number"] == person["nhs_number"]
        if "nhs_number_omitted" in labels:
            assert "nhs_number" not in child
            assert person["nhs_number"]
        if "upn" in child:
            assert child["upn"] == person["upn"]
        checked += 1
    assert checked == len(england.lines[source])


def test_every_kind_of_error_occurs(england: Generated) -> None:
    seen = {label for labels in england.labels.values() for label in labels}
    assert set(APPLIES) | {"duplicate", "left_behind_record", "last_known_address"} <= seen


def test_typos_are_one_slip(england: Generated) -> None:
    import jellyfish

    slips = 0
    for source in rates.SOURCES:
        for line in england.lines[source]:
            labels = set(england.labels_of(source, line))
            person = england.person_of(source, line)
            if labels & NAME_LABELS == {"typo_family"}:
                distance = jellyfish.damerau_levenshtein_distance(
                    line["child"]["family_name"], person["family_name"]
                )
                assert distance == 1
                slips += 1
    assert slips > 20

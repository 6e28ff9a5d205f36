"""Comparison levels: how two records' features agree, field by field.

Each comparison sorts a pair into one of a few ordered levels, from the
strongest agreement to outright disagreement; level 0 means "one side says
nothing" and carries no weight. The Fellegi-Sunter model gives each level a
weight, ``log2(m / u)``, estimated from data (see ``training.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import takewhile

from rapidfuzz.distance import OSA, JaroWinkler

from contactpoint.identity.features import MatchFeatures

CLOSE = 0.92
WEAK = 0.80


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    levels: tuple[str, ...]
    term_frequency_level: str | None = None
    """The level whose weight is adjusted for how common the agreeing value is."""


GIVEN = Comparison(
    "given_name",
    ("null", "exact", "equivalent", "close", "weak", "swapped", "different"),
    term_frequency_level="exact",
)
FAMILY = Comparison(
    "family_name",
    ("null", "exact", "former_or_part", "close", "weak", "different"),
    term_frequency_level="exact",
)
DOB = Comparison("date_of_birth", ("null", "exact", "day_month_swapped", "one_part", "different"))
GENDER = Comparison("gender", ("null", "same", "different"))
POSTCODE = Comparison("postcode", ("null", "exact", "sector", "district", "area", "different"))
NHS = Comparison("nhs_number", ("null", "exact", "different"))
UPN = Comparison("upn", ("null", "exact", "different"))

COMPARISONS: tuple[Comparison, ...] = (GIVEN, FAMILY, DOB, GENDER, POSTCODE, NHS, UPN)
G, F, D, S, P, N, U = range(len(COMPARISONS))

Levels = tuple[int, ...]


def _given_level(a: MatchFeatures, b: MatchFeatures) -> int:
    if not a.first or not b.first:
        return 0
    if a.first == b.first:
        return 1
    if (
        a.forms & b.forms
        or (a.preferred and a.preferred in b.given)
        or (b.preferred and b.preferred in a.given)
    ):
        return 2
    similarity = JaroWinkler.similarity(a.first, b.first)
    if similarity >= CLOSE or (a.first_sound and a.first_sound == b.first_sound):
        return 3
    if (
        similarity >= WEAK
        or OSA.distance(a.first, b.first) <= 1
        or a.first in b.given
        or b.first in a.given
    ):
        return 4
    return 6


def _family_level(a: MatchFeatures, b: MatchFeatures) -> int:
    if not a.family or not b.family:
        return 0
    if a.family == b.family:
        return 1
    if a.family_parts & b.family_parts:
        return 2
    similarity = JaroWinkler.similarity(a.family, b.family)
    if similarity >= CLOSE or (a.family_sound and a.family_sound == b.family_sound):
        return 3
    if similarity >= WEAK or OSA.distance(a.family, b.family) <= 1:
        return 4
    return 5


def _swapped(a: MatchFeatures, b: MatchFeatures) -> bool:
    """Given and family names exchanged between the two records (a clerical slip)."""
    if not a.first or not b.first:
        return False
    return (a.first in b.family_parts or a.first == b.family) and (
        b.first in a.family_parts or b.first == a.family
    )


def _dob_level(a: date, b: date) -> int:
    if a == b:
        return 1
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return 2
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    return 3 if same == 2 else 4


def _postcode_level(a: str | None, b: str | None) -> int:
    if not a or not b:
        return 0
    if a == b:
        return 1
    outward_a, outward_b = a[:-3], b[:-3]
    if outward_a == outward_b:
        return 2 if a[-3] == b[-3] else 3
    return 4 if _area(outward_a) == _area(outward_b) else 5


def _area(outward: str) -> str:
    return "".join(takewhile(str.isalpha, outward))


def _identifier_level(a: str | None, b: str | None) -> int:
    if not a or not b:
        return 0
    return 1 if a == b else 2


def compare(a: MatchFeatures, b: MatchFeatures) -> Levels:
    given = _given_level(a, b)
    family = _family_level(a, b)
    if given >= 4 and family >= 3 and _swapped(a, b):
        given, family = 5, 0
    return (
        given,
        family,
        _dob_level(a.date_of_birth, b.date_of_birth),
        0 if a.gender is None or b.gender is None else (1 if a.gender == b.gender else 2),
        _postcode_level(a.postcode, b.postcode),
        _identifier_level(a.nhs_number, b.nhs_number),
        _identifier_level(a.upn, b.upn),
    )


def describe(levels: Levels) -> dict[str, str]:
    return {c.name: c.levels[i] for c, i in zip(COMPARISONS, levels, strict=True)}

"""Comparison levels: how two records' features agree, field by field.

Each comparison sorts a pair into one of a few ordered levels, from the
strongest agreement to outright disagreement; level 0 means "one side says
nothing" and carries no weight. The Fellegi-Sunter model gives each level a
weight, ``log2(m / u)``, estimated from data (see ``training.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import takewhile

from rapidfuzz.distance import OSA, JaroWinkler

from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.names import short_form_of

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
        or _short_form(a, b)
    ):
        return 2
    similarity = JaroWinkler.similarity(a.first, b.first)
    if similarity >= CLOSE or (a.first_sound and a.first_sound == b.first_sound):
        return 3
    if similarity >= WEAK or one_slip(a.first, b.first) or a.first in b.given or b.first in a.given:
        return 4
    return 6


_SCANNER_MISREADINGS = (("rn", "m"), ("cl", "d"), ("li", "h"), ("vv", "w"), ("ri", "n"))
"""Letter pairs a scanner reads as one letter (and a hand writes like one): the
classic OCR confusions of handwritten and faxed forms."""


@lru_cache(maxsize=1 << 16)
def _as_scanned(name: str) -> str:
    for pair, letter in _SCANNER_MISREADINGS:
        name = name.replace(pair, letter)
    return name


def one_slip(a: str, b: str) -> bool:
    """Two different spellings one keying slip apart (a letter wrong, missing, added,
    or two letters swapped) or alike once scanner misreadings are folded."""
    return a != b and (OSA.distance(a, b) <= 1 or _as_scanned(a) == _as_scanned(b))


def given_slip(a: MatchFeatures, b: MatchFeatures) -> bool:
    """The first given names differ by a slip, not by a choice of name.

    Twins named after each other (Jack Leo and Leo Oliver) are the pattern the
    weak level must keep out of automatic links, so a first name that is the
    other's middle name is never a slip, nor is a name merely alike in sound or
    shape (Charlie and Chloe, Isla and Isabelle): those are other names.
    """
    if not a.first or not b.first:
        return False
    if a.first in b.given[1:] or b.first in a.given[1:]:
        return False
    return one_slip(a.first, b.first)


def middle_names_differ(a: MatchFeatures, b: MatchFeatures) -> bool:
    """Both records give middle names and none of one's is the other's, even allowing
    a slip. Sources drop middle names but seldom change them, so this is what two
    children of the same first name look like: twins given the same name (Amelia
    Evie and Amelia Mae), or strangers born the same day in a large population."""
    middle_a, middle_b = a.given[1:], b.given[1:]
    if not middle_a or not middle_b:
        return False
    return not any(x == y or one_slip(x, y) for x in middle_a for y in middle_b)


def _short_form(a: MatchFeatures, b: MatchFeatures) -> bool:
    """A first or preferred name of one is a short form of the other's (Livvy, Olivia)."""
    return any(
        short_form_of(x, y)
        for x in (a.first, a.preferred)
        if x
        for y in (b.first, b.preferred)
        if y
    )


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

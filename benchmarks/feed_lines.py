"""Deterministic, realistic feed lines for benchmarks (CONTRACT.md section 2).

Every line is valid: names (some with diacritics), a date of birth in the past,
an NHS number in the 999 range reserved for testing with its modulus 11 check
digit, a Unique Pupil Number, a well-formed UK postcode, a carer and a school
service. About ``linked_share`` of the lines repeat the NHS number of an earlier
line under a different ``source_record_id`` (another service about the same
child), so ingest's linking path is exercised the way real feeds exercise it.
The same seed always gives the same bytes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REFERENCE_DATE = date(2025, 9, 1)
"""Dates are drawn before this fixed day, so the output never depends on today."""

GIVEN_NAMES_FEMALE = (
    "Amelia", "Olivia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia",
    "Grace", "Freya", "Florence", "Willow", "Evie", "Aisha", "Maryam", "Zoë", "Chloé", "Niamh",
    "Siobhán", "Anaïs", "Fatima", "Hannah", "Ella", "Poppy", "Daisy", "Phoebe", "Ruby", "Erin",
)  # fmt: skip
GIVEN_NAMES_MALE = (
    "Muhammad", "Noah", "Oliver", "George", "Leo", "Arthur", "Oscar", "Harry", "Theo", "Jack",
    "Charlie", "Freddie", "Alfie", "Finley", "Henry", "Ibrahim", "Yusuf", "Jakub", "Zoltán",
    "Seán", "Rónán", "Mateo", "Louis", "Ethan", "Reuben", "Joshua", "Samuel", "Kai", "Rhys",
    "Dylan",
)  # fmt: skip
MIDDLE_NAMES = (
    "Rose", "Grace", "May", "Jane", "Louise", "James", "John", "Ali", "Thomas", "Alexander",
)  # fmt: skip
FAMILY_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Hussain", "Ahmed", "Begum", "O'Brien", "McCarthy", "Nowak", "Kowalczyk",
    "Müller", "Núñez", "Lefèvre", "Okafor", "Adeyemi", "Nguyen", "Chen", "Singh", "Kaur",
    "Ó Súilleabháin", "Hughes", "Edwards", "Clarke", "Jackson",
)  # fmt: skip
STREETS = (
    "High Street", "Station Road", "Church Lane", "Park Avenue", "Victoria Road",
    "Mill Lane", "Queen Street", "King's Road", "The Crescent", "Manor Way",
)  # fmt: skip
PLACES = (
    ("Leeds", ("LS1", "LS6", "LS8", "LS11", "LS17")),
    ("Manchester", ("M1", "M14", "M20", "M40")),
    ("Birmingham", ("B5", "B15", "B29", "B44")),
    ("Bristol", ("BS1", "BS5", "BS7", "BS16")),
    ("Newcastle upon Tyne", ("NE1", "NE4", "NE6")),
    ("London", ("SW1A", "EC1V", "E14", "N7", "SE15", "W1T")),
    ("Cardiff", ("CF10", "CF24")),
    ("Norwich", ("NR1", "NR3")),
)  # fmt: skip
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters a postcode's inward code may end with (no C, I, K, M, O or V)."""

SCHOOLS = (
    "Park Primary School", "St Mary's C of E Primary", "Oakwood Academy", "Riverside Infants",
    "Hillside Junior School", "Greenfield Community College", "Beech Hill Nursery",
)  # fmt: skip
RELATIONSHIPS = (("mother", "female"), ("father", "male"), ("grandmother", "female"))
OTHER_SERVICES = ("gp", "health_visitor", "school_nurse", "early_years", "social_care")


def nhs_check_digit(first_nine: str) -> int | None:
    weights = (10, 9, 8, 7, 6, 5, 4, 3, 2)
    remainder = 11 - sum(int(d) * w for d, w in zip(first_nine, weights, strict=True)) % 11
    if remainder == 11:
        return 0
    if remainder == 10:
        return None
    return remainder


def nhs_number(rng: random.Random) -> str:
    """A valid number in the 999 range, which the NHS reserves for test data."""
    while True:
        first_nine = f"999{rng.randrange(1_000_000):06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


@dataclass(frozen=True)
class FeedStats:
    lines: int
    children: int
    repeat_lines: int
    """Lines that share an NHS number with an earlier line (the linking path)."""


class _Generator:
    def __init__(self, seed: int, linked_share: float) -> None:
        self._rng = random.Random(seed)
        self._linked_share = linked_share
        self._used_nhs: set[str] = set()
        self._children: list[dict[str, Any]] = []
        self.repeats = 0

    def _date_between(self, earliest: date, latest: date) -> date:
        return earliest + timedelta(days=self._rng.randrange((latest - earliest).days + 1))

    def _postcode(self, outward: str) -> str:
        rng = self._rng
        inward = f"{rng.randrange(10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
        return f"{outward} {inward}"

    def _new_child(self, index: int) -> dict[str, Any]:
        rng = self._rng
        gender = rng.choice(("female", "male"))
        firsts = GIVEN_NAMES_FEMALE if gender == "female" else GIVEN_NAMES_MALE
        given = rng.choice(firsts)
        if rng.random() < 0.4:
            given = f"{given} {rng.choice(MIDDLE_NAMES)}"
        number = nhs_number(rng)
        while number in self._used_nhs:
            number = nhs_number(rng)
        self._used_nhs.add(number)
        town, outwards = rng.choice(PLACES)
        born = self._date_between(REFERENCE_DATE - timedelta(days=365 * 18), REFERENCE_DATE)
        child: dict[str, Any] = {
            "given_names": given,
            "family_name": rng.choice(FAMILY_NAMES),
            "date_of_birth": born.isoformat(),
            "gender": gender,
            "nhs_number": number,
            "upn": f"{rng.choice('ABCDEFGHJKLMNPRTUVWXYZ')}{index:011d}{rng.randrange(10)}",
            "address": {
                "lines": [f"{rng.randrange(1, 240)} {rng.choice(STREETS)}"],
                "town": town,
                "postcode": self._postcode(rng.choice(outwards)),
            },
        }
        if rng.random() < 0.1:
            child["preferred_name"] = given.split()[0][:3]
        if rng.random() < 0.05:
            child["former_family_names"] = [rng.choice(FAMILY_NAMES)]
        return child

    def _carer(self, child: dict[str, Any]) -> dict[str, Any]:
        rng = self._rng
        relationship, gender = rng.choice(RELATIONSHIPS)
        firsts = GIVEN_NAMES_FEMALE if gender == "female" else GIVEN_NAMES_MALE
        return {
            "name": f"{rng.choice(firsts)} {child['family_name']}",
            "relationship": relationship,
            "parental_responsibility": relationship != "grandmother",
            "address": None,
            "phone": f"0113 496 {rng.randrange(10_000):04d}",
            "email": None,
        }

    def _service(self, child: dict[str, Any], kind: str) -> dict[str, Any]:
        rng = self._rng
        born = date.fromisoformat(child["date_of_birth"])
        organisation = (
            f"{child['address']['town']} {rng.choice(SCHOOLS)}"
            if kind == "school"
            else f"{child['address']['town']} {kind.replace('_', ' ').title()} Service"
        )
        return {
            "type": kind,
            "organisation": organisation[:200],
            "organisation_id": f"URN:{rng.randrange(100_000, 999_999)}",
            "practitioner": {
                "name": f"{rng.choice('ABCDEFGHJKLMNPRSTW')} {rng.choice(FAMILY_NAMES)}",
                "role": "Head teacher" if kind == "school" else "Lead practitioner",
                "phone": f"0113 496 {rng.randrange(10_000):04d}",
                "email": None,
            },
            "start_date": self._date_between(born, REFERENCE_DATE).isoformat(),
            "end_date": None,
            "lead_professional": False,
            "assessment": False,
            "sensitive": False,
            "consent_to_show": None,
        }

    def line(self, index: int) -> dict[str, Any]:
        rng = self._rng
        if self._children and rng.random() < self._linked_share:
            child = rng.choice(self._children)
            self.repeats += 1
            kind = rng.choice(OTHER_SERVICES)
        else:
            child = self._new_child(index)
            self._children.append(child)
            kind = "school"
        return {
            "source_record_id": f"BENCH-{index:08d}",
            "action": "upsert",
            "child": child,
            "carers": [self._carer(child)],
            "services": [self._service(child, kind)],
        }

    @property
    def children(self) -> int:
        return len(self._children)


def write_feed(path: Path, count: int, seed: int = 2026, linked_share: float = 0.3) -> FeedStats:
    """Write ``count`` lines of JSON Lines (UTF-8) to ``path``."""
    generator = _Generator(seed, linked_share)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for index in range(1, count + 1):
            line = generator.line(index)
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
    return FeedStats(lines=count, children=generator.children, repeat_lines=generator.repeats)

"""Where the synthetic children live: real English local authorities, plausible addresses.

Addresses are made up (a house number on a composed street name) but sit in the
right town and a real postcode district of that authority, with a well-formed
inward code; that is enough for blocking on postcode districts to behave as it
would on real data. Telephone numbers come only from Ofcom's drama ranges, so no
generated number can ring a real line.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

from contactpoint.synth import rates
from contactpoint.synth.draws import between, choice, index
from contactpoint.synth.names import read_table

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters allowed in the last two places of a postcode (no C, I, K, M, O, V)."""

MOBILE_PREFIX = "07700 900"


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    area: str
    districts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LocalAuthority:
    code: str
    name: str
    children_thousands: float
    phone_prefix: str
    towns: tuple[Town, ...]
    index: int

    @property
    def slug(self) -> str:
        return "".join(ch for ch in self.name.lower() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]
    town: str
    postcode: str | None
    la_code: str

    def feed(self) -> dict[str, Any]:
        return {"lines": list(self.lines), "town": self.town, "postcode": self.postcode}


def _districts(spec: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return tuple(out)


class Places:
    """The local authorities and the words addresses are built from."""

    def __init__(self) -> None:
        authorities: list[LocalAuthority] = []
        for number, (code, name, children, phone, towns) in enumerate(read_table("places.txt")):
            parsed = tuple(
                Town(town, area, _districts(districts))
                for town, area, districts in (t.split(":") for t in towns.split(";"))
            )
            authorities.append(LocalAuthority(code, name, float(children), phone, parsed, number))
        self.authorities = tuple(authorities)
        self.by_code = {la.code: la for la in self.authorities}
        self._cumulative = tuple(accumulate(la.children_thousands for la in self.authorities))
        self.total_children_thousands = self._cumulative[-1]
        words = {row[0]: tuple(row[1].split(";")) for row in read_table("words.txt")}
        self.words = words

    def share(self, la: LocalAuthority) -> float:
        return la.children_thousands / self.total_children_thousands

    def draw_la(self, rng: random.Random) -> LocalAuthority:
        point = rng.random() * self.total_children_thousands
        return self.authorities[bisect_right(self._cumulative, point)]

    def postcode(self, rng: random.Random, town: Town) -> str:
        district = choice(rng, town.districts)
        return (
            f"{town.area}{district} {index(rng, 10)}"
            f"{INWARD_LETTERS[index(rng, 20)]}{INWARD_LETTERS[index(rng, 20)]}"
        )

    def street(self, rng: random.Random) -> str:
        stems, suffixes = self.words["street_stem"], self.words["street_suffix"]
        return f"{choice(rng, stems)} {choice(rng, suffixes)}"

    def home(self, rng: random.Random, la: LocalAuthority) -> Address:
        """A house or flat in a town of this authority."""
        town = choice(rng, la.towns)
        street = f"{between(rng, 1, 220)} {self.street(rng)}"
        roll = rng.random()
        if roll < rates.FLAT_SHARE:
            lines: tuple[str, ...] = (f"Flat {between(rng, 1, 40)}", street)
        elif roll < rates.FLAT_SHARE + rates.HOUSE_NAME_SHARE:
            names = self.words["house_name"]
            lines = (choice(rng, names), self.street(rng))
        else:
            lines = (street,)
        return Address(lines, town.name, self.postcode(rng, town), la.code)

    def traveller_site(self, rng: random.Random, la: LocalAuthority) -> Address:
        town = choice(rng, la.towns)
        sites = self.words["site_name"]
        kind = "Caravan Site" if rng.random() < 0.6 else "Travellers' Site"
        lines = (f"Plot {between(rng, 1, 30)}", f"{choice(rng, sites)} {kind}")
        return Address(lines, town.name, self.postcode(rng, town), la.code)

    def overseas(self, rng: random.Random) -> Address:
        """A parent's address abroad: no UK postcode."""
        cities = self.words["overseas_city"]
        line = f"{between(rng, 1, 300)} {self.words['street_stem'][index(rng, 40)]} Road"
        return Address((line,), choice(rng, cities), None, "")

    def landline(self, rng: random.Random, la: LocalAuthority) -> str:
        return f"{la.phone_prefix}{index(rng, 1000):03d}"

    def mobile(self, rng: random.Random) -> str:
        return f"{MOBILE_PREFIX}{index(rng, 1000):03d}"


@cache
def places() -> Places:
    """The shared, read-only place data (loaded once per process)."""
    return Places()

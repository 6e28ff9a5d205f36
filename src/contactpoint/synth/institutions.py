"""Schools, GP practices and the practitioners a child's record points to.

Each local authority gets its own pools, sized to the number of children the
population puts there (about 250 pupils a primary, 900 a secondary, 2,200
children a practice), built lazily from a generator seeded by the run's seed and
the authority, so a pool is the same whichever child asks for it first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from math import ceil

from contactpoint.synth.draws import choice
from contactpoint.synth.identifiers import Permutation
from contactpoint.synth.names import NameBank, fold_diacritics
from contactpoint.synth.places import LocalAuthority, Places

_ODS_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"
MAX_POOL = 999


@dataclass(frozen=True, slots=True)
class Practitioner:
    name: str
    role: str
    phone: str
    email: str | None

    def feed(self) -> dict[str, str | None]:
        return {"name": self.name, "role": self.role, "phone": self.phone, "email": self.email}


@dataclass(frozen=True, slots=True)
class Institution:
    """A school, practice or service, with the practitioner to contact there."""

    name: str
    organisation_id: str | None
    establishment: int
    contact: Practitioner
    la_code: str


# Pool kinds and how many children each member serves (share of all children, per member).
POOL_SIZES: dict[str, tuple[float, int]] = {
    "primary": (7 / 18 * 0.925, 250),
    "secondary": (7 / 18 * 0.925, 900),
    "boarding": (0.0025, 60),
    "gp": (1.0, 2200),
    "social_worker": (0.06, 18),
    "health_visitor": (5 / 18, 450),
    "family_worker": (0.02, 25),
    "yot_officer": (0.0015, 12),
    "camhs": (0.012, 40),
    "sexual_health": (0.004, 40),
    "substance_misuse": (0.003, 30),
}


class Directory:
    """Lazily built, per-authority pools of institutions and practitioners."""

    def __init__(self, seed: int, children: int, places: Places, names: NameBank) -> None:
        self._seed = seed
        self._children = children
        self._places = places
        self._names = names
        self._pools: dict[tuple[str, str], tuple[Institution, ...]] = {}
        id_rng = random.Random(f"{seed}:institution-ids")  # noqa: S311 - synthetic data, not security
        self._urns = Permutation(id_rng, 900_000)
        self._ods = Permutation(id_rng, 100_000)

    def pool(self, la: LocalAuthority, kind: str) -> tuple[Institution, ...]:
        key = (la.code, kind)
        found = self._pools.get(key)
        if found is None:
            found = self._build(la, kind)
            self._pools[key] = found
        return found

    def pick(self, rng: random.Random, la: LocalAuthority, kind: str) -> Institution:
        pool = self.pool(la, kind)
        return choice(rng, pool)

    def _size(self, la: LocalAuthority, kind: str) -> int:
        share, per_member = POOL_SIZES[kind]
        expected = self._children * self._places.share(la) * share
        return max(2, min(MAX_POOL, ceil(expected / per_member)))

    def person_name(self, rng: random.Random, full: bool) -> tuple[str, str, str]:
        """A practitioner's name: (as shown, given name, surname)."""
        group = self._names.draw_origin(rng)
        sex = "F" if rng.random() < 0.7 else "M"
        given = self._names.adult_given_name(rng, group, sex)
        surname = self._names.surname_for_sex(
            rng, group, self._names.surname(rng, group), sex == "F"
        )
        shown = f"{given} {surname}" if full else f"{given[0]} {surname}"
        return shown, given, surname

    def _email(self, given: str, surname: str, la: LocalAuthority) -> str:
        local = fold_diacritics(f"{given}.{surname}").lower()
        local = "".join(ch for ch in local if ch.isalnum() or ch == ".")
        return f"{local}@{la.slug}.example.org"

    def _build(self, la: LocalAuthority, kind: str) -> tuple[Institution, ...]:
        rng = random.Random(f"{self._seed}:{la.code}:{kind}")  # noqa: S311 - synthetic data, not security
        words = self._places.words
        size = self._size(la, kind)
        kind_index = list(POOL_SIZES).index(kind)
        members: list[Institution] = []
        for k in range(size):
            town = choice(rng, la.towns).name
            stem = choice(rng, words["school_stem"])
            saint = choice(rng, words["saint"])
            full = kind not in ("primary", "secondary", "boarding", "gp")
            shown, given, surname = self.person_name(rng, full=full)
            phone = self._places.landline(rng, la)
            establishment = 0
            org_id: str | None = None
            if kind in ("primary", "secondary", "boarding"):
                name = _school_name(rng, kind, stem, saint, town)
                establishment = {"primary": 2000, "secondary": 4000, "boarding": 6000}[kind] + k
                org_id = f"URN:{100_000 + self._urns((la.index * 3 + kind_index) * 1000 + k)}"
                contact = Practitioner(shown, "Head teacher", phone, None)
            elif kind == "gp":
                gp_stem = choice(rng, words["gp_stem"])
                name = _practice_name(rng, gp_stem, stem, town)
                letter = _ODS_LETTERS[la.index % len(_ODS_LETTERS)]
                org_id = f"ODS:{letter}{self._ods((la.index // len(_ODS_LETTERS)) * 1000 + k):05d}"
                contact = Practitioner(f"Dr {shown}", "GP", phone, None)
            else:
                name, role = _service(kind, la, town)
                org_id = f"LA:{la.code}" if kind in _LA_RUN else None
                contact = Practitioner(shown, role, phone, self._email(given, surname, la))
            members.append(Institution(name, org_id, establishment, contact, la.code))
        return tuple(members)


_LA_RUN = {"social_worker", "family_worker", "yot_officer"}


def _school_name(rng: random.Random, kind: str, stem: str, saint: str, town: str) -> str:
    roll = rng.random()
    if kind == "primary":
        if roll < 0.45:
            return f"{stem} Primary School"
        if roll < 0.60:
            return f"St {saint} CofE Primary School"
        if roll < 0.72:
            return f"St {saint} Catholic Primary School"
        if roll < 0.87:
            return f"{stem} Primary Academy"
        return f"{stem} Infant and Nursery School"
    if kind == "secondary":
        if roll < 0.35:
            return f"{stem} Academy"
        if roll < 0.60:
            return f"{stem} High School"
        if roll < 0.72:
            return f"St {saint} Catholic High School"
        if roll < 0.85:
            return f"{stem} Community College"
        if roll < 0.92:
            return f"{town} Grammar School"
        return f"The {stem} School"
    if roll < 0.5:
        return f"{stem} College"
    return f"{stem} Hall School" if roll < 0.75 else f"{town} School"


def _practice_name(rng: random.Random, gp_stem: str, stem: str, town: str) -> str:
    roll = rng.random()
    if roll < 0.35:
        return f"{gp_stem} Surgery"
    if roll < 0.65:
        return f"{stem} Medical Centre"
    if roll < 0.85:
        return f"{town} Health Centre"
    return f"The {stem} Practice"


def _service(kind: str, la: LocalAuthority, town: str) -> tuple[str, str]:
    """(organisation, practitioner role) of a service run for children in this area."""
    return {
        "social_worker": (f"{la.name} Children's Social Care", "Social worker"),
        "health_visitor": (f"{la.name} Health Visiting Service", "Health visitor"),
        "family_worker": (f"{la.name} Early Help", "Family support worker"),
        "yot_officer": (f"{la.name} Youth Justice Service", "Youth justice case manager"),
        "camhs": (f"{la.name} CAMHS", "Mental health practitioner"),
        "sexual_health": (f"{town} Young People's Sexual Health Clinic", "Sexual health nurse"),
        "substance_misuse": (
            f"{la.name} Young People's Substance Misuse Service",
            "Substance misuse worker",
        ),
    }[kind]

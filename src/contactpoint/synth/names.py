"""Names with England's frequencies and diversity, drawn fast.

The lists in ``data/`` are ordered most frequent first and weighted by rank
(Zipf-like, see ``rates.NAME_RANK_OFFSET``), because identity resolution is hard
exactly where names are common: many Olivia Smiths and Muhammad Khans share a
birthday. Drawing is a bisection over precomputed cumulative weights, with no
Faker at run time, so eleven million children take minutes, not hours, and the
same seed gives the same names whatever Faker version is installed.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from itertools import accumulate

from contactpoint.synth import rates
from contactpoint.synth.draws import choice

_DATA = files("contactpoint.synth") / "data"

_FOLD = str.maketrans(
    {
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss",
        "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "ð": "d", "þ": "th",
    }
)  # fmt: skip


def read_table(name: str) -> list[tuple[str, ...]]:
    """Rows of a ``|``-separated data file, comments and blank lines skipped."""
    text = (_DATA / name).read_text(encoding="utf-8")
    rows: list[tuple[str, ...]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rows.append(tuple(part.strip() for part in line.split("|")))
    return rows


@lru_cache(maxsize=65536)
def fold_diacritics(text: str) -> str:
    """The name as an ASCII-only system stores it: Zoë -> Zoe, Łukasz -> Lukasz."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def has_diacritics(text: str) -> bool:
    return fold_diacritics(text) != text


class WeightedPool:
    """Items drawn with Zipf-like weights by rank, by bisection on cumulative weights."""

    __slots__ = ("_cumulative", "_total", "items")

    def __init__(self, items: tuple[str, ...], offset: float = rates.NAME_RANK_OFFSET) -> None:
        if not items:
            raise ValueError("a name pool needs at least one name")
        self.items = items
        self._cumulative = tuple(accumulate(1.0 / (rank + offset) for rank in range(len(items))))
        self._total = self._cumulative[-1]

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect_right(self._cumulative, rng.random() * self._total)]


@dataclass(frozen=True, slots=True)
class Surname:
    name: str
    female_form: str | None = None


class SurnamePool:
    """Surnames of one tradition, with the female forms some carry (Kowalska, Kaur)."""

    __slots__ = ("_female_share", "_pool", "_surnames", "group")

    def __init__(self, group: str, surnames: tuple[Surname, ...]) -> None:
        self.group = group
        self._surnames = {s.name: s for s in surnames}
        self._pool = WeightedPool(tuple(s.name for s in surnames))
        self._female_share = rates.FEMALE_SURNAME_FORM_SHARE.get(group, 0.0)

    def draw(self, rng: random.Random) -> str:
        """The surname in its base (male or only) form."""
        return self._pool.draw(rng)

    def for_sex(self, base: str, female: bool, rng: random.Random) -> str:
        """The form a person of this sex carries; a girl may carry the female form."""
        if not female:
            return base
        entry = self._surnames.get(base)
        if entry is None or entry.female_form is None:
            return base
        return entry.female_form if rng.random() < self._female_share else base

    def female_forms(self) -> dict[str, str]:
        return {s.name: s.female_form for s in self._surnames.values() if s.female_form}


def _composed_surnames() -> tuple[str, ...]:
    """A long tail of plausible English toponymic surnames (Ashworth, Thornley ...).

    Real England has tens of thousands of surnames; a few hundred listed ones would
    make same-name collisions far too common. The order is shuffled by a fixed seed
    so the Zipf weights fall on arbitrary combinations, not alphabetical ones.
    """
    words = {row[0]: row[1].split(";") for row in read_table("words.txt")}
    combos = sorted(
        {p + s for p in words["surname_prefix"] for s in words["surname_suffix"] if p[-1] != s[0]}
    )
    random.Random("contactpoint-surname-tail").shuffle(combos)  # noqa: S311 - fixed name universe, not security
    return tuple(combos)


class NameBank:
    """Every name pool, loaded once from ``data/``."""

    def __init__(self) -> None:
        given: dict[tuple[str, str], tuple[str, ...]] = {}
        for group, sex, names in read_table("given_names.txt"):
            given[(group, sex)] = tuple(n.strip() for n in names.split(";") if n.strip())
        self.given = {key: WeightedPool(names) for key, names in given.items()}
        self.surnames: dict[str, SurnamePool] = {}
        for group, names in read_table("surnames.txt"):
            entries: list[Surname] = []
            for raw in names.split(";"):
                base, _, female = raw.strip().partition("/")
                entries.append(Surname(base, female or None))
            self.surnames[group] = SurnamePool(group, tuple(entries))
        self.surname_tail = WeightedPool(_composed_surnames(), offset=50.0)
        self.nicknames: dict[str, tuple[str, ...]] = {}
        for formal, nicks in _colon_rows("nicknames.txt"):
            self.nicknames[formal] = tuple(n.strip() for n in nicks.split(";") if n.strip())
        self.variants: dict[str, tuple[str, ...]] = {}
        for (line,) in read_table("variants.txt"):
            group_names = tuple(n.strip() for n in line.split(";") if n.strip())
            for name in group_names:
                others = tuple(n for n in group_names if n != name)
                self.variants[name] = self.variants.get(name, ()) + others
        self.origins = tuple(group for group, _, _ in rates.NAME_ORIGINS)
        self._origin_cumulative = tuple(accumulate(w for _, w, _ in rates.NAME_ORIGINS))
        self.english_given_share = {g: share for g, _, share in rates.NAME_ORIGINS}
        missing = [
            g
            for g in self.origins
            if (g, "F") not in self.given or (g, "M") not in self.given or g not in self.surnames
        ]
        if missing:
            raise ValueError(f"name data has no given names or surnames for: {missing}")

    def draw_origin(self, rng: random.Random) -> str:
        total = self._origin_cumulative[-1]
        return self.origins[bisect_right(self._origin_cumulative, rng.random() * total)]

    def given_name(self, rng: random.Random, group: str, sex: str) -> str:
        """One given name of a child of this tradition and sex ('F' or 'M')."""
        if rng.random() < self.english_given_share.get(group, 1.0):
            name = self.given[("english", sex)].draw(rng)
        else:
            name = self.given[(group, sex)].draw(rng)
        if group == "english" and "-" not in name and rng.random() < rates.HYPHENATED_GIVEN[sex]:
            if sex == "F":
                return f"{name}-{choice(rng, _GIRL_SECOND)}"
            second = self.given[("english", sex)].draw(rng)
            if second != name and "-" not in second and " " not in second:
                return f"{name}-{second}"
        return name

    def adult_given_name(self, rng: random.Random, group: str, sex: str) -> str:
        """A parent's given name: the English list is a parent generation's, not a child's."""
        if group == "english" or rng.random() < self.english_given_share.get(group, 1.0) * 0.6:
            return self.given[("english_adult", sex)].draw(rng)
        return self.given[(group, sex)].draw(rng)

    def surname(self, rng: random.Random, group: str) -> str:
        """A family surname in its base form."""
        if group == "english" and rng.random() < rates.SURNAME_TAIL_SHARE:
            return self.surname_tail.draw(rng)
        if group == "southern_european" and rng.random() < rates.SPANISH_DOUBLE_SURNAME:
            pool = self.surnames[group]
            first, second = pool.draw(rng), pool.draw(rng)
            if first != second:
                return f"{first} {second}"
        return self.surnames[group].draw(rng)

    def surname_for_sex(self, rng: random.Random, group: str, base: str, female: bool) -> str:
        pool = self.surnames.get(group)
        if pool is None or " " in base:
            return base
        return pool.for_sex(base, female, rng)


_GIRL_SECOND = ("Mae", "Rose", "Grace", "May")


def _colon_rows(name: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for (line,) in read_table(name):
        formal, _, nicks = line.partition(":")
        rows.append((formal.strip(), nicks))
    return rows


@cache
def name_bank() -> NameBank:
    """The shared, read-only name pools (loaded once per process)."""
    return NameBank()

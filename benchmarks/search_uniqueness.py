"""How well each allowed search shape singles out one child, on a synthetic population.

Run ``.venv/bin/python benchmarks/search_uniqueness.py --people DIR/people.jsonl`` (a
population from ``contactpoint synth``), or ``--children N`` to generate one first.
For every search shape the rule allows (``contactpoint.domain.search_policy``),
and each concrete combination of its terms, it groups the population's children
by the exact values of those terms and reports the share of children (among
those who have every term) whose values no other child shares: the share for
whom a search with exactly those details could single them out at all.

The true values are used (``people.jsonl``), as a practitioner with the child in
front of them would give them; the search benchmark (``search.py``) measures
the other half, what the fuzzy matcher returns for such queries over HTTP.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from contactpoint.identity.normalise import compact_postcode, normalise_name
from ingest import (
    BenchmarkError,
    contactpoint_command,
    describe_machine,
    require_success,
    run_child,
    run_main,
    write_results,
)
from linkage import child_environment

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
console = Console()

Person = dict[str, Any]
Extract = Callable[[Person], str | None]


def _given(person: Person) -> str | None:
    names = person.get("given_names") or []
    return normalise_name(names[0]).split()[0] if names and normalise_name(names[0]) else None


def _family(person: Person) -> str | None:
    return normalise_name(person.get("family_name") or "") or None


def _gender(person: Person) -> str | None:
    gender = person.get("gender")
    return gender if gender in ("female", "male", "other") else None


def _postcode(person: Person) -> str | None:
    address = person.get("address") or {}
    postcode = address.get("postcode")
    return compact_postcode(postcode) if postcode else None


TERMS: dict[str, Extract] = {
    "given_name": _given,
    "family_name": _family,
    "date_of_birth": lambda p: p.get("date_of_birth"),
    "gender": _gender,
    "postcode": _postcode,
    "nhs_number": lambda p: p.get("nhs_number"),
    "upn": lambda p: p.get("upn"),
}

COMBINATIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("standard", "names_and_birth", ("given_name", "family_name", "date_of_birth")),
    (
        "standard",
        "family_birth_gender_postcode",
        ("family_name", "date_of_birth", "gender", "postcode"),
    ),
    (
        "standard",
        "given_birth_gender_postcode",
        ("given_name", "date_of_birth", "gender", "postcode"),
    ),
    ("standard", "identifier_and_detail", ("nhs_number", "family_name")),
    ("standard", "identifier_and_detail", ("nhs_number", "date_of_birth")),
    ("standard", "identifier_and_detail", ("upn", "family_name")),
    ("standard", "identifier_and_detail", ("upn", "date_of_birth")),
    ("emergency", "names_and_postcode", ("given_name", "family_name", "postcode")),
    ("emergency", "identifier", ("nhs_number",)),
    ("refused", "family_and_birth", ("family_name", "date_of_birth")),
    ("refused", "given_and_birth", ("given_name", "date_of_birth")),
    ("refused", "family_birth_postcode", ("family_name", "date_of_birth", "postcode")),
    ("refused", "names_only", ("given_name", "family_name")),
)
"""Every allowed combination (the ContactPoint ID is the index's own and unique by
construction, so it is not measured), and for contrast some the rule refuses."""


@dataclass(frozen=True)
class Uniqueness:
    scope: str
    shape: str
    terms: tuple[str, ...]
    children: int
    with_terms: int
    unique: int

    @property
    def share_with_terms(self) -> float:
        return self.with_terms / self.children if self.children else 0.0

    @property
    def share_unique(self) -> float:
        return self.unique / self.with_terms if self.with_terms else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "share_with_terms": round(self.share_with_terms, 6),
            "share_unique": round(self.share_unique, 6),
        }


def read_people(path: Path) -> Iterator[Person]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def measure(people: Iterable[Person]) -> list[Uniqueness]:
    """One pass: per combination, how many children have each distinct value tuple
    (hashed, so a million children's keys fit in memory). A tuple held by one
    child is that child singled out."""
    counts: list[Counter[int]] = [Counter() for _ in COMBINATIONS]
    total = 0
    for person in people:
        total += 1
        values = {name: extract(person) for name, extract in TERMS.items()}
        for index, (_, _, terms) in enumerate(COMBINATIONS):
            parts = tuple(values[t] for t in terms)
            if None not in parts:
                counts[index][hash(parts)] += 1
    return [
        Uniqueness(
            scope,
            shape,
            terms,
            total,
            sum(counts[index].values()),
            sum(1 for n in counts[index].values() if n == 1),
        )
        for index, (scope, shape, terms) in enumerate(COMBINATIONS)
    ]


def table(results: list[Uniqueness]) -> Table:
    out = Table(title="How often each search shape singles out one child (exact values)")
    for column in ("scope", "shape", "terms", "children with the terms", "unique"):
        out.add_column(column, justify="right" if column.startswith(("children", "u")) else "left")
    for r in results:
        out.add_row(
            r.scope,
            r.shape,
            " + ".join(r.terms),
            f"{r.with_terms:,} ({r.share_with_terms:.1%})",
            f"{r.share_unique:.3%}",
        )
    return out


def synthesise(children: int, seed: int, directory: Path) -> Path:
    result = run_child(
        [
            contactpoint_command(),
            "synth",
            "--children",
            str(children),
            "--out",
            str(directory),
            "--seed",
            str(seed),
            "--as-of",
            "2026-06-01",
        ],
        child_environment(directory.parent / "home", None),
        directory.parent,
    )
    require_success(f"contactpoint synth --children {children}", result)
    return directory / "people.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=Path, help="people.jsonl from contactpoint synth")
    parser.add_argument("--children", type=int, default=100_000, help="generate this many")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cp-unique-") as scratch:
        people = args.people or synthesise(args.children, args.seed, Path(scratch) / "synth")
        if not people.exists():
            raise BenchmarkError(f"No people file at {people}: run contactpoint synth first.")
        results = measure(read_people(people))
    console.print(table(results))
    machine = describe_machine("", want_postgres=False)
    write_results(
        RESULTS / f"search-uniqueness-{results[0].children}.json",
        machine,
        {"people": str(people), "shapes": [r.as_json() for r in results]},
    )
    return 0


if __name__ == "__main__":
    run_main(main)

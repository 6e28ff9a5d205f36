"""What the demo prints so a newcomer can try it at once: whom to search for, and where.

The synthetic population's people file (the generator's ground truth) names
every child, so the demo can pick two a newcomer can find: one with a social
care team in the demo team's area (so the team's full view has something to
show) and an ordinary one. They are made-up children; only the demo prints
them, to the terminal of whoever ran it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

SOCIAL_CARE: Final = "social_care"
FALLBACK_AREA: Final = "Leeds"


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def busiest_social_care_area(feeds: Path) -> str:
    """The local authority whose children's social care appears most in the feeds, so the
    demo team has children in its area; the fallback when none does."""
    counts: Counter[str] = Counter()
    for source in ("local-authority", "nhs-pds", "school-census"):
        path = feeds / f"{source}.jsonl"
        if not path.exists():
            continue
        for line in _lines(path):
            for service in line.get("services") or ():
                organisation = str(service.get("organisation") or "")
                if service.get("type") == SOCIAL_CARE and " Children" in organisation:
                    counts[organisation.split(" Children")[0]] += 1
    return counts.most_common(1)[0][0] if counts else FALLBACK_AREA


@dataclass(frozen=True, slots=True)
class Example:
    why: str
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str | None


def examples(feeds: Path, area: str, today: date) -> list[Example]:
    """Up to two children a newcomer can search for, each showing something different."""
    social_care = set()
    path = feeds / "local-authority.jsonl"
    if path.exists():
        for line in _lines(path):
            child = line.get("child") or {}
            for service in line.get("services") or ():
                if service.get("type") == SOCIAL_CARE and str(
                    service.get("organisation", "")
                ).startswith(area):
                    social_care.add((child.get("family_name"), child.get("date_of_birth")))
    found: dict[str, Example] = {}
    for person in _lines(feeds / "people.jsonl"):
        born = date.fromisoformat(person["date_of_birth"])
        if (today - born).days > 17 * 365 or person.get("twin") or person.get("dob_uncertain"):
            continue
        key = (person["family_name"], person["date_of_birth"])
        address = person.get("address") or {}
        example = Example(
            why="",
            given_name=person["given_names"][0],
            family_name=person["family_name"],
            date_of_birth=born,
            postcode=address.get("postcode"),
        )
        if "team" not in found and key in social_care:
            found["team"] = _as(example, f"known to {area} children's social care")
        elif "ordinary" not in found and not person.get("circumstances"):
            found["ordinary"] = _as(example, "a child with a GP and a school")
        if len(found) == 2:
            break
    return list(found.values())


def _as(example: Example, why: str) -> Example:
    return Example(
        why=why,
        given_name=example.given_name,
        family_name=example.family_name,
        date_of_birth=example.date_of_birth,
        postcode=example.postcode,
    )

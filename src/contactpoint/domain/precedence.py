"""Which source's value to show when sources disagree.

For now the most recently updated statement wins, field by field, skipping
sources that say nothing; every other differing value is kept as an
alternative with its provenance, so a disagreement is never silently lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contactpoint.domain.child import (
    Carer,
    ChildDetails,
    ChildRecord,
    Provenance,
    ServiceInvolvement,
    Sourced,
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One active source record, decrypted, with where and when it came from."""

    provenance: Provenance
    child: ChildDetails
    carers: tuple[Carer, ...]
    services: tuple[ServiceInvolvement, ...]


def combine(contactpoint_id: str, statements: Sequence[Statement]) -> ChildRecord:
    if not statements:
        raise ValueError("a child record needs at least one source statement")
    newest_first = sorted(statements, key=lambda s: s.provenance.recorded_at, reverse=True)
    alternatives: dict[str, list[Sourced[object]]] = {}

    def pick(name: str) -> Sourced[Any] | None:
        chosen: Sourced[Any] | None = None
        for statement in newest_first:
            value = getattr(statement.child, name)
            if value is None:
                continue
            if chosen is None:
                chosen = Sourced(value, statement.provenance)
            elif value != chosen.value:
                alternatives.setdefault(name, []).append(Sourced(value, statement.provenance))
        return chosen

    def required(name: str) -> Sourced[Any]:
        chosen = pick(name)
        if chosen is None:
            raise ValueError(f"no source gives the child's {name}")
        return chosen

    newest = newest_first[0]
    former: dict[str, Sourced[str]] = {}
    for statement in newest_first:
        for name in statement.child.former_family_names:
            former.setdefault(name, Sourced(name, statement.provenance))
    return ChildRecord(
        contactpoint_id=contactpoint_id,
        given_names=required("given_names"),
        family_name=required("family_name"),
        date_of_birth=required("date_of_birth"),
        gender=required("gender"),
        former_family_names=tuple(former.values()),
        preferred_name=pick("preferred_name"),
        nhs_number=pick("nhs_number"),
        upn=pick("upn"),
        address=pick("address"),
        no_fixed_abode=Sourced(newest.child.no_fixed_abode, newest.provenance),
        address_status=pick("address_status"),
        circumstances=frozenset().union(*(s.child.circumstances for s in statements)),
        carers=tuple(Sourced(c, s.provenance) for s in newest_first for c in s.carers),
        services=tuple(Sourced(v, s.provenance) for s in newest_first for v in s.services),
        alternatives=alternatives,
    )

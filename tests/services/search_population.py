"""A small population for search tests: ordinary children, same-sex twins, a nickname,
a shielded child, an archived child, each ingested through the real feed path.

Used by the service and the API tests, so both are held to the same children.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import Clock
from contactpoint.domain.nhs_number import check_digit
from contactpoint.services import shielding
from contactpoint.store.tables import SourceRecord
from tests.feeds.lines import line
from tests.services.helpers import Ingest


def nhs(seed: int) -> str:
    """A valid NHS number in the 999 test range."""
    for n in itertools.count(seed * 100):
        first = f"999{n:06d}"
        digit = check_digit(first)
        if digit is not None:
            return first + str(digit)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Person:
    key: str
    given: str
    family: str
    born: str
    gender: str
    postcode: str
    nhs_number: str
    upn: str | None = None
    preferred: str | None = None

    def line(self, record_id: str, **extra: Any) -> dict[str, Any]:
        return line(
            _source_record_id=record_id,
            given_names=self.given,
            family_name=self.family,
            former_family_names=[],
            preferred_name=self.preferred,
            date_of_birth=self.born,
            gender=self.gender,
            nhs_number=self.nhs_number,
            upn=self.upn,
            address={"lines": ["1 Test Street"], "town": "Leeds", "postcode": self.postcode},
            circumstances=[],
            **extra,
        )


PEOPLE = (
    Person(
        "amelia",
        "Amelia Rose",
        "Featherstonehaugh",
        "2014-03-07",
        "female",
        "LS1 4AB",
        nhs(1),
        upn="A123456789012",
        preferred="Millie",
    ),
    Person("jack", "Jack", "Brown", "2016-05-12", "male", "LS6 2AB", nhs(2)),
    Person("thomas", "Thomas", "Brown", "2016-05-12", "male", "LS6 2AB", nhs(3)),
    Person("elizabeth", "Elizabeth", "Okonkwo", "2015-06-20", "female", "LS8 1AA", nhs(4)),
    Person("zara", "Zara", "Wilberforce", "2012-11-02", "female", "LS7 3AA", nhs(5)),
    Person("nathan", "Nathan", "Pemberton", "2007-01-15", "male", "LS9 9ZZ", nhs(6)),
)
"""Jack and Thomas are same-sex twins: the same family name, birth date, gender and
postcode. Zara is shielded. Nathan is 19 at the test clock's date: archived."""
BY_KEY = {p.key: p for p in PEOPLE}


@dataclass
class Population:
    children: dict[str, str]
    """Person key to ContactPoint ID."""

    def __getitem__(self, key: str) -> str:
        return self.children[key]


def build_population(
    ingest: Ingest,
    sessions: sessionmaker[Session],
    *,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
) -> Population:
    report = ingest("nhs-pds", *(p.line(f"PDS-{i}") for i, p in enumerate(PEOPLE)))
    assert not report.rejections, report.rejections
    with sessions() as session:
        rows = dict(
            session.execute(select(SourceRecord.source_record_id, SourceRecord.child_id)).all()
        )
    children = {p.key: rows[f"PDS-{i}"] for i, p in enumerate(PEOPLE)}
    assert len(set(children.values())) == len(PEOPLE), "each person is a child of their own"
    with sessions.begin() as session:
        shielding.shield(
            session,
            clock=clock,
            audit_key=audit_key,
            actor=actor,
            child_id=children["zara"],
            reason_code="domestic_abuse_refuge",
        )
    return Population(children)


def plain_values() -> Iterator[str]:
    """Every personal value of the population, as a searcher might type it."""
    for p in PEOPLE:
        yield from (p.given.split()[0], p.family, p.born, p.postcode, p.nhs_number)
        yield p.postcode.replace(" ", "")
        if p.upn:
            yield p.upn
        if p.preferred:
            yield p.preferred

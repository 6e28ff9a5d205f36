"""Deciding which child a new source record is about.

The seam for identity resolution: ingest gathers candidates through the blind
indexes, decrypts them, and asks a :class:`Linker`. The deterministic linker
here links only on an exact national identifier; a probabilistic linker takes
its place without ingest changing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contactpoint.domain.child import ChildDetails


class Outcome(StrEnum):
    LINK = "link"
    NEW = "new"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Candidate:
    child_id: str
    details: ChildDetails


@dataclass(frozen=True, slots=True)
class LinkDecision:
    outcome: Outcome
    child_id: str | None = None
    rule: str = ""


class Linker(Protocol):
    def decide(self, record: ChildDetails, candidates: Sequence[Candidate]) -> LinkDecision: ...


class DeterministicLinker:
    """Same NHS number, or same UPN without a conflicting NHS number: same child.

    Two different NHS numbers are never linked, even when the UPN agrees.
    """

    def decide(self, record: ChildDetails, candidates: Sequence[Candidate]) -> LinkDecision:
        if record.nhs_number:
            for candidate in candidates:
                if candidate.details.nhs_number == record.nhs_number:
                    return LinkDecision(Outcome.LINK, candidate.child_id, "nhs_number")
        if record.upn:
            for candidate in candidates:
                other_nhs = candidate.details.nhs_number
                conflicting = bool(
                    record.nhs_number and other_nhs and other_nhs != record.nhs_number
                )
                if candidate.details.upn == record.upn and not conflicting:
                    return LinkDecision(Outcome.LINK, candidate.child_id, "upn")
        return LinkDecision(Outcome.NEW, rule="no_identifier_match")

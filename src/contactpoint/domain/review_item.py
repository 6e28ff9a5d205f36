"""Review items: a source record the matcher could not place with confidence. No I/O.

The matcher files the record under a new provisional child and names the
children it might belong to (its candidates, best first, with the evidence as
comparison levels and a match weight). A reviewer either accepts one candidate
(the record joins that child) or rejects them all (the record stays a child of
its own).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contactpoint.domain.identity_change import ChangeRefusedError, ChildState, require_active


class ReviewStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReviewReason(StrEnum):
    UNCERTAIN_MATCH = "uncertain_match"
    CONFLICTING_IDENTIFIER = "conflicting_identifier"
    AMBIGUOUS = "ambiguous"
    SHIELDED_CANDIDATE = "shielded_candidate"


@dataclass(frozen=True, slots=True)
class ReviewCandidate:
    child_id: str
    weight: float
    levels: Mapping[str, str] = field(default_factory=dict)
    """Comparison name to the level the pair fell in: evidence, never personal data."""

    def to_json(self) -> dict[str, Any]:
        return {"child_id": self.child_id, "weight": self.weight, "levels": dict(self.levels)}


def parse_candidates(text: str) -> tuple[ReviewCandidate, ...]:
    return tuple(
        ReviewCandidate(
            child_id=str(c["child_id"]),
            weight=float(c["weight"]),
            levels={str(k): str(v) for k, v in (c.get("levels") or {}).items()},
        )
        for c in json.loads(text)
    )


def dump_candidates(candidates: Iterable[ReviewCandidate]) -> str:
    return json.dumps([c.to_json() for c in candidates], separators=(",", ":"))


def require_open(item_id: object, status: str) -> None:
    if status != ReviewStatus.OPEN:
        raise ChangeRefusedError(
            f"Review item {item_id} is already {status}: undo its change first "
            "('contactpoint identity undo') to decide it again."
        )


def check_accept(
    item_id: object,
    status: str,
    candidates: Collection[ReviewCandidate],
    provisional_id: str,
    provisional: ChildState | None,
    target_id: str,
    target: ChildState | None,
) -> None:
    require_open(item_id, status)
    named = [c.child_id for c in candidates]
    if target_id not in named:
        raise ChangeRefusedError(
            f"Child {target_id} is not a candidate of review item {item_id}; its candidates "
            f"are {', '.join(named) or 'none'}. To join other children use "
            "'contactpoint children merge'."
        )
    if target_id == provisional_id:
        raise ChangeRefusedError(
            f"The record of review item {item_id} is already with child {target_id}: "
            "reject the item to keep it there."
        )
    require_active(provisional_id, provisional)
    require_active(target_id, target)


def shield_owed(
    candidate_lists: Iterable[Collection[ReviewCandidate]], shielded: Collection[str]
) -> bool:
    """Whether some open item still points at a shielded child, so a review shield stays."""
    return any(c.child_id in shielded for candidates in candidate_lists for c in candidates)


REVIEWER_ROLES = frozenset({"la_admin", "operator"})
"""Who may see the queue and decide items: the local authority's ContactPoint team,
and an operator at the console (who holds the keys anyway)."""


def may_review(role: str | None) -> bool:
    return role in REVIEWER_ROLES

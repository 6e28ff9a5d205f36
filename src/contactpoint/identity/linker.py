"""Deciding which child a new source record is about.

Ingest (or the bulk load) gathers candidate children through the blocking
keys, with every active record of each child that could matter (``contenders``),
and asks the linker. The decision is pure: no I/O, so the rules below are
tested directly.

* A child is scored by its best-matching record (Fellegi-Sunter match weight).
* Two different national identifiers (NHS number or UPN) are never linked
  automatically: if all else agrees strongly the record goes to review.
* Clearly different given names with everything else alike is what twins look
  like, so such a candidate is never linked; it is not queued either (every
  twin would be), unless an identifier says they are the same child.
* A weak given-name match is queued, never linked, unless the two first names
  are one keying or scanning slip apart (Bdn and Ben, Arnrit and Amrit): the
  weak level also holds twins named after each other and names merely alike.
  So is a candidate whose middle names are all different from the record's
  (both giving some): twins of one first name, or strangers of one name and
  birthday in a large population.
* At or above the upper threshold, with no rival (another settled child within
  ``margin`` of the best, or itself above the upper threshold): link. A child that is itself
  waiting for review is no rival to a settled one, so one uncertain record
  does not send every later record of the same child to the queue; nor is a
  child that scores below a best child with the record's exact first name and
  whose given name matches only weakly or whose middle names are others (a
  twin named after the other, Leo Oliver and Oliver Leo). Between the
  thresholds, or with a rival: review. Below the lower: a new child.
* A record that is even a weak candidate for a shielded child is shielded and
  queued until a person has looked, so a duplicate never escapes a shield.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol

from contactpoint.identity.comparisons import (
    COMPARISONS,
    G,
    Levels,
    N,
    U,
    compare,
    describe,
    given_slip,
    middle_names_differ,
)
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.model import MatchModel


class Outcome(StrEnum):
    LINK = "link"
    NEW = "new"
    REVIEW = "review"


class ReviewReason(StrEnum):
    UNCERTAIN = "uncertain_match"
    CONFLICTING_IDENTIFIER = "conflicting_identifier"
    AMBIGUOUS = "ambiguous"
    SHIELDED_CANDIDATE = "shielded_candidate"


GIVEN_EXACT = COMPARISONS[G].levels.index("exact")
GIVEN_WEAK = COMPARISONS[G].levels.index("weak")
GIVEN_DIFFERENT = COMPARISONS[G].levels.index("different")
IDENTIFIER_EXACT = 1
IDENTIFIER_DIFFERENT = 2


class Candidate(NamedTuple):
    """One active source record of a candidate child.

    A named tuple, not a dataclass: ingest into a large index makes hundreds of
    thousands a minute, and a frozen dataclass took 1.7 times as long to make."""

    child_id: str
    features: MatchFeatures
    shielded: bool = False
    provisional: bool = False
    """The child is itself waiting in the review queue: not a rival to a settled child."""


@dataclass(frozen=True, slots=True)
class ScoredChild:
    child_id: str
    weight: float
    levels: Levels
    shielded: bool
    provisional: bool = False
    slip: bool = False
    """A weak given-name match that is only a keying or scanning slip."""
    middle_differ: bool = False
    """A record of the child gives middle names, and none is one of the record's."""

    def evidence(self) -> dict[str, object]:
        return {
            "child_id": self.child_id,
            "weight": round(self.weight, 2),
            "levels": describe(self.levels),
        }


@dataclass(frozen=True, slots=True)
class LinkDecision:
    outcome: Outcome
    child_id: str | None = None
    rule: str = ""
    candidates: tuple[ScoredChild, ...] = ()
    """For review: the children a person should compare, best first."""
    shield: bool = False
    """Place the record's new child under a shield until reviewed."""


class Linker(Protocol):
    def decide(self, record: MatchFeatures, candidates: Sequence[Candidate]) -> LinkDecision: ...

    def contenders(self, record: MatchFeatures, candidates: Sequence[Candidate]) -> set[str]:
        """The children ``decide`` could act on. Judged child by child, on that child's
        candidates alone: ingest's read ahead keeps the verdict on a child whose records
        did not change (``services/candidate_pool``)."""
        ...


CONTENDER_SLACK = 8.0
"""Bits below a threshold (``weak`` for the weight, ``upper`` for the weight without
identifiers) at which a child's records found by the blocking keys still earn a look
at all its records: the slack covers a record that did not share a key but scores
a little better than those that did."""


@dataclass(frozen=True, slots=True)
class _Child:
    scored: ScoredChild
    conflict: bool
    identifier_agrees: bool
    weight_without_identifiers: float


def _outnamed(rival: ScoredChild, best: ScoredChild) -> bool:
    """The best child has the record's first name exactly and outscores a child whose
    given name matches only weakly, or whose middle names are others: that child is
    another one, not a rival (twins named after each other, or given the same first
    name, would otherwise queue every record of either)."""
    if best.levels[G] != GIVEN_EXACT:
        return False
    if rival.middle_differ:
        return rival.weight <= best.weight
    return rival.levels[G] == GIVEN_WEAK and rival.weight < best.weight


class ProbabilisticLinker:
    def __init__(self, model: MatchModel) -> None:
        self.model = model

    def score(self, record: MatchFeatures, candidates: Sequence[Candidate]) -> list[_Child]:
        best: dict[str, tuple[float, Levels, Candidate, bool]] = {}
        differ: set[str] = set()
        conflict: set[str] = set()
        agrees: set[str] = set()
        for candidate in candidates:
            levels = compare(record, candidate.features)
            weight = self.model.weight(levels, record, candidate.features)
            if IDENTIFIER_DIFFERENT in (levels[N], levels[U]):
                conflict.add(candidate.child_id)
            if IDENTIFIER_EXACT in (levels[N], levels[U]):
                agrees.add(candidate.child_id)
            if middle_names_differ(record, candidate.features):
                differ.add(candidate.child_id)
            current = best.get(candidate.child_id)
            if current is None or weight > current[0]:
                slip = levels[G] == GIVEN_WEAK and given_slip(record, candidate.features)
                best[candidate.child_id] = (weight, levels, candidate, slip)
        children = []
        for child_id, (weight, levels, candidate, slip) in best.items():
            identifiers = self.model.level_weight(N, levels[N]) + self.model.level_weight(
                U, levels[U]
            )
            children.append(
                _Child(
                    ScoredChild(
                        child_id,
                        weight,
                        levels,
                        candidate.shielded,
                        candidate.provisional,
                        slip,
                        child_id in differ,
                    ),
                    conflict=child_id in conflict,
                    identifier_agrees=child_id in agrees,
                    weight_without_identifiers=weight - identifiers,
                )
            )
        children.sort(key=lambda c: c.scored.weight, reverse=True)
        return children

    def contenders(self, record: MatchFeatures, candidates: Sequence[Candidate]) -> set[str]:
        """The children ``decide`` could act on, judged from some of their records.

        Every other child, judged from the same records, is below every threshold
        ``decide`` uses, with ``CONTENDER_SLACK`` to spare: the weak one for its
        weight, the upper one for its weight without identifiers (what a
        conflicting identifier is judged by). Leaving it out changes no decision.
        A child that shares an identifier is always a contender (a different
        given name with the same NHS number goes to review). Ingest reads only a
        batch's records that share a blocking key with it, and then every record
        of the contenders alone. Each child is judged on its own records only, as the
        protocol requires. The verdict is ``score``'s, without what only a decision
        needs (middle names, slips, the ranking): ingest judges every record a
        batch's tokens find, tens of thousands a batch into a large index.
        """
        thresholds = self.model.thresholds
        weak = thresholds.weak - CONTENDER_SLACK
        upper = thresholds.upper - CONTENDER_SLACK
        model = self.model
        best: dict[str, tuple[float, Levels]] = {}
        agrees: set[str] = set()
        for candidate in candidates:
            child_id = candidate.child_id
            levels = compare(record, candidate.features)
            if IDENTIFIER_EXACT in (levels[N], levels[U]):
                agrees.add(child_id)
            weight = model.weight(levels, record, candidate.features)
            current = best.get(child_id)
            if current is None or weight > current[0]:
                best[child_id] = (weight, levels)
        chosen: set[str] = set()
        for child_id, (weight, levels) in best.items():
            identifiers = model.level_weight(N, levels[N]) + model.level_weight(U, levels[U])
            if child_id in agrees or weight >= weak or weight - identifiers >= upper:
                chosen.add(child_id)
        return chosen

    def decide(self, record: MatchFeatures, candidates: Sequence[Candidate]) -> LinkDecision:
        thresholds = self.model.thresholds
        children = self.score(record, candidates)
        linkable: list[ScoredChild] = []
        review: list[ScoredChild] = []
        reason = ReviewReason.UNCERTAIN
        for child in children:
            scored = child.scored
            given = scored.levels[G]
            if child.conflict:
                if child.weight_without_identifiers >= thresholds.upper and given < GIVEN_WEAK:
                    review.append(scored)
                    reason = ReviewReason.CONFLICTING_IDENTIFIER
                continue
            if given == GIVEN_DIFFERENT:
                if child.identifier_agrees:
                    review.append(scored)
                continue
            if (
                scored.weight >= thresholds.upper
                and (given != GIVEN_WEAK or scored.slip)
                and not scored.middle_differ
            ):
                linkable.append(scored)
            elif scored.weight >= thresholds.lower:
                review.append(scored)
        weak_shielded = any(
            c.scored.shielded and c.scored.weight >= thresholds.weak for c in children
        )
        settled = [s for s in linkable if not s.provisional]
        if len(settled) == 1:
            best = settled[0]
            rivals = [
                s
                for s in (*linkable, *review)
                if s is not best
                and not s.provisional
                and s.weight >= min(thresholds.upper, best.weight - thresholds.margin)
                and not _outnamed(s, best)
            ]
            if not rivals:
                return LinkDecision(Outcome.LINK, best.child_id, "match")
        if len(linkable) > 1 or (linkable and review):
            reason = ReviewReason.AMBIGUOUS
        if linkable or review:
            return LinkDecision(
                Outcome.REVIEW,
                rule=reason,
                candidates=tuple(sorted([*linkable, *review], key=lambda s: -s.weight)),
                shield=weak_shielded,
            )
        if weak_shielded:
            return LinkDecision(
                Outcome.REVIEW,
                rule=ReviewReason.SHIELDED_CANDIDATE,
                candidates=tuple(
                    c.scored
                    for c in children
                    if c.scored.shielded and c.scored.weight >= thresholds.weak
                ),
                shield=True,
            )
        return LinkDecision(Outcome.NEW, rule="no_match")

"""Which child, if any, a checked search query names: the identity matcher applied to a query.

No I/O: the search service fetches the candidates through the blind index and
hands them here. The query is scored against every active record of every
candidate child with the same comparisons and trained weights the linker uses
(``identity/``), so a search tolerates exactly the typos, nicknames, swapped
names and transposed dates that linking does. A child scores as its best record.

The decision is the linker's, made stricter where a search differs from a link:

* A child is *returnable* at or above the model's upper threshold, with a
  given name that is not merely a weak match, and no conflicting identifier.
* It is returned only if it is the one returnable child and no other child
  comes within the model's margin of it (or reaches the upper threshold). A
  rival always wins: "several" gives the same answer as "none".
* A child waiting for review is a rival like any other. It waits because ingest
  could not tell whether its record is another child's or a child of its own:
  at 1,000,000 children, two boys of one name and birthday (Alfie Connor and
  Alfie Michael Graham, 2025-05-16), one of them waiting, were both matched by
  "Alfie Graham, 2025-05-16", and the other boy was returned while waiting
  children did not count. Until a person has looked, the search cannot tell
  either, so it names neither.
* A child whose given name is clearly *different* from the query's is not this
  child (that is what twins look like) and is neither a rival nor a match.
* A national identifier (NHS number, UPN) that agrees, or the ContactPoint ID
  the query named, replaces the population prior with ``IDENTIFIER_PRIOR_BITS``:
  a well-formed identifier names one child unless it was mistyped into another
  child's, which its check digit makes rare. The trained weight for an agreeing
  identifier cannot say this: it was estimated from a sample of pairs too small
  to see how rarely two children share one.
* A query without a date of birth compares none: the date level is "null".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from contactpoint.domain.search_policy import SearchQuery
from contactpoint.identity.blocking import BlockingKey, blocking_keys, name_pair_in_years
from contactpoint.identity.comparisons import COMPARISONS, D, G, Levels, N, U, compare
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.model import MatchModel
from contactpoint.identity.normalise import compact_postcode, normalise_name
from contactpoint.vault.blind_index import IndexKind

IDENTIFIER_PRIOR_BITS = math.log2(99)
"""Odds of 99 to 1 that an agreeing, check-digit-valid identifier names this child."""

GIVEN_WEAK = COMPARISONS[G].levels.index("weak")
GIVEN_DIFFERENT = COMPARISONS[G].levels.index("different")
IDENTIFIER_EXACT = 1
IDENTIFIER_DIFFERENT = 2

_NO_DATE = date(1900, 1, 1)
"""Stands in for a date of birth the query does not give; its comparison is discarded."""
_DATED_KINDS = frozenset(
    {
        IndexKind.FAMILY_DOB,
        IndexKind.GIVEN_DOB,
        IndexKind.POSTCODE_DOB,
        IndexKind.NAME_PAIR_YEAR,
        IndexKind.NAME_PAIR_DAY,
    }
)


def query_features(query: SearchQuery) -> MatchFeatures:
    """The query as the matcher sees a record. A compound family name's parts are
    given as former names too, so each part is a blocking key of its own."""
    family = normalise_name(query.family_name or "")
    parts = tuple(p for p in family.split() if p != family) if " " in family else ()
    return MatchFeatures(
        given=tuple(normalise_name(query.given_name or "").split()),
        preferred="",
        family=family,
        former=parts,
        date_of_birth=query.date_of_birth or _NO_DATE,
        gender=query.gender.value if query.gender is not None else None,
        nhs_number=query.nhs_number,
        upn=query.upn,
        postcode=compact_postcode(query.postcode) if query.postcode else None,
    )


INDEXED_YEARS: Final = 26
"""Years of birth a child on the index can have: archived at 18 and kept six years,
or kept to 25 as a care leaver."""


def search_keys(query: SearchQuery, features: MatchFeatures, today: date) -> set[BlockingKey]:
    """The blocking keys the query's candidates are filed under. A query without a date
    of birth (the emergency search by names and postcode) has none of the keys that
    combine with one; its name pair is looked for under every year of birth a child on
    the index can have, which finds the children of those names at any age."""
    keys = blocking_keys(features)
    if query.date_of_birth is None:
        keys = {k for k in keys if k[0] not in _DATED_KINDS}
        years = range(today.year - INDEXED_YEARS, today.year + 1)
        keys |= name_pair_in_years(features, years)
    return keys


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    child_id: str
    features: MatchFeatures
    shielded: bool = False
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class ScoredChild:
    child_id: str
    weight: float
    strength: float
    """The weight a rival is judged by: for a conflicting identifier, the weight
    without the identifiers, so a child that agrees on all else still blocks."""
    levels: Levels
    shielded: bool
    provisional: bool
    conflict: bool
    excluded: bool
    """A clearly different given name, no identifier agreeing: another child."""

    def returnable(self, upper: float) -> bool:
        return (
            self.weight >= upper
            and not self.conflict
            and not self.excluded
            and self.levels[G] != GIVEN_WEAK
        )


@dataclass(frozen=True, slots=True)
class Decision:
    child_id: str | None
    """The one child the query names with confidence, or None."""
    matched: tuple[ScoredChild, ...]
    """Every child the query matched at all (at or above the lower threshold), best
    first: each is written to the audit trail, whether or not it was returned."""

    @property
    def returned(self) -> ScoredChild | None:
        return next((c for c in self.matched if c.child_id == self.child_id), None)


class QueryScorer:
    def __init__(self, model: MatchModel) -> None:
        self.model = model
        self.prior_bits = math.log2(model.prior / (1 - model.prior))
        self.identifier_weights = {
            level: model.level_weight(N, level)
            for level in (IDENTIFIER_EXACT, IDENTIFIER_DIFFERENT)
        }

    def _pair(
        self, query: MatchFeatures, record: MatchFeatures, dated: bool, identified: bool
    ) -> tuple[float, float, Levels]:
        """(weight, weight without identifiers, levels) of the query against one record."""
        levels = compare(query, record)
        if not dated:
            levels = (*levels[:D], 0, *levels[D + 1 :])
        agrees = identified or IDENTIFIER_EXACT in (levels[N], levels[U])
        identifier_part = self.model.level_weight(N, levels[N]) + self.model.level_weight(
            U, levels[U]
        )
        weight = self.model.weight(levels, query, record)
        without = weight - identifier_part
        if agrees:
            return without - self.prior_bits + IDENTIFIER_PRIOR_BITS, without, levels
        return weight, without, levels

    def score(
        self,
        query: SearchQuery,
        candidates: Iterable[CandidateRecord],
        *,
        identified_child: str | None = None,
    ) -> list[ScoredChild]:
        features = query_features(query)
        dated = query.date_of_birth is not None
        best: dict[str, tuple[float, float, Levels, CandidateRecord]] = {}
        agree: set[str] = set()
        disagree: set[str] = set()
        for candidate in candidates:
            weight, without, levels = self._pair(
                features, candidate.features, dated, candidate.child_id == identified_child
            )
            if IDENTIFIER_EXACT in (levels[N], levels[U]):
                agree.add(candidate.child_id)
            if IDENTIFIER_DIFFERENT in (levels[N], levels[U]):
                disagree.add(candidate.child_id)
            current = best.get(candidate.child_id)
            if current is None or weight > current[0]:
                best[candidate.child_id] = (weight, without, levels, candidate)
        scored = []
        for child_id, (weight, without, levels, candidate) in best.items():
            conflict = child_id in disagree and child_id not in agree
            identified = child_id in agree or child_id == identified_child
            scored.append(
                ScoredChild(
                    child_id=child_id,
                    weight=weight,
                    strength=max(weight, without) if conflict else weight,
                    levels=levels,
                    shielded=candidate.shielded,
                    provisional=candidate.provisional,
                    conflict=conflict,
                    excluded=levels[G] == GIVEN_DIFFERENT and not identified,
                )
            )
        scored.sort(key=lambda c: (-c.weight, c.child_id))
        return scored

    def decide(self, scored: Sequence[ScoredChild]) -> Decision:
        thresholds = self.model.thresholds
        considered = [c for c in scored if not c.excluded]
        matched = tuple(c for c in considered if c.strength >= thresholds.lower)
        returnable = [c for c in considered if c.returnable(thresholds.upper)]
        if not returnable:
            return Decision(None, matched)
        best = returnable[0]
        bar = min(thresholds.upper, best.weight - thresholds.margin)
        rivals = [c for c in considered if c is not best and c.strength >= bar]
        return Decision(None if rivals else best.child_id, matched)

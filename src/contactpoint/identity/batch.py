"""Linking a whole population in memory, in the same way ingest links one record.

The bulk initial load and model evaluation use this: the same blocking keys
(as plain keys rather than database tokens), the same candidate sets and the
same :class:`~contactpoint.identity.linker.Linker`, so a bulk-loaded index is
the index incremental ingest would have built, without tens of millions of
database round trips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from contactpoint.identity.blocking import BlockingKey, blocking_keys
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.linker import Candidate, LinkDecision, Linker, Outcome


@dataclass
class Placement:
    child_id: str
    decision: LinkDecision
    created: bool


@dataclass
class InMemoryLinkage:
    linker: Linker
    new_child_id: Callable[[], str]
    _by_key: dict[BlockingKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    _records: dict[str, list[MatchFeatures]] = field(default_factory=lambda: defaultdict(list))
    _shielded: set[str] = field(default_factory=set)
    _provisional: set[str] = field(default_factory=set)

    def candidates(
        self, record: MatchFeatures, keys: set[BlockingKey] | None = None
    ) -> list[Candidate]:
        """Every record of every child filed under one of the record's keys (``keys``
        when the caller has them already)."""
        children: set[str] = set()
        for key in blocking_keys(record) if keys is None else keys:
            found = self._by_key.get(key)
            if found:
                children |= found
        return [
            Candidate(
                child_id,
                features,
                shielded=child_id in self._shielded,
                provisional=child_id in self._provisional,
            )
            for child_id in children
            for features in self._records[child_id]
        ]

    def place(self, record: MatchFeatures) -> Placement:
        keys = blocking_keys(record)
        decision = self.linker.decide(record, self.candidates(record, keys))
        created = decision.outcome is not Outcome.LINK or decision.child_id is None
        child_id = self.new_child_id() if created else str(decision.child_id)
        if created and decision.shield:
            self._shielded.add(child_id)
        if created and decision.outcome is Outcome.REVIEW:
            self._provisional.add(child_id)
        self._records[child_id].append(record)
        for key in keys:
            self._by_key[key].add(child_id)
        return Placement(child_id, decision, created)

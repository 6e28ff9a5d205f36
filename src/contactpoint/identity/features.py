"""What the matcher compares: a source record reduced to normalised match features.

Built once per record and held encrypted in ``source_records.match_enc``, so
that scoring a candidate costs one decryption, not one per field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from contactpoint.domain.child import ChildDetails
from contactpoint.domain.vocabulary import Gender
from contactpoint.identity.names import name_forms, sound
from contactpoint.identity.normalise import compact_postcode, normalise_name


@dataclass(frozen=True, slots=True)
class MatchFeatures:
    given: tuple[str, ...]
    """Normalised given names in order; the first is the one compared first."""
    preferred: str
    family: str
    former: tuple[str, ...]
    date_of_birth: date
    gender: str | None
    """``female``, ``male`` or ``other``; ``None`` when unknown."""
    nhs_number: str | None
    upn: str | None
    postcode: str | None
    first: str = field(init=False)
    forms: frozenset[str] = field(init=False)
    """Every form of the first and preferred names: nicknames and formal names."""
    first_sound: str = field(init=False)
    family_sound: str = field(init=False)
    family_parts: frozenset[str] = field(init=False)
    """Family, former and each part of a compound family name."""

    def __post_init__(self) -> None:
        first = self.given[0] if self.given else ""
        set_ = object.__setattr__
        set_(self, "first", first)
        forms, first_sound = _given_forms(first, self.preferred)
        set_(self, "forms", forms)
        set_(self, "first_sound", first_sound)
        family_sound, family_parts = _family_forms(self.family, self.former)
        set_(self, "family_sound", family_sound)
        set_(self, "family_parts", family_parts)

    @classmethod
    def of(cls, child: ChildDetails) -> MatchFeatures:
        preferred = normalise_name(child.preferred_name or "").split()
        postcode = child.address.postcode if child.address else None
        return cls(
            given=tuple(normalise_name(child.given_names).split()),
            preferred=preferred[0] if preferred else "",
            family=normalise_name(child.family_name),
            former=tuple(n for n in (normalise_name(f) for f in child.former_family_names) if n),
            date_of_birth=child.date_of_birth,
            gender=None if child.gender is Gender.UNKNOWN else str(child.gender),
            nhs_number=child.nhs_number,
            upn=child.upn,
            postcode=compact_postcode(postcode) if postcode else None,
        )

    def to_json(self) -> list[Any]:
        return [
            list(self.given),
            self.preferred,
            self.family,
            list(self.former),
            self.date_of_birth.isoformat(),
            self.gender,
            self.nhs_number,
            self.upn,
            self.postcode,
        ]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as one tuple of every slot, derived ones too: the initial load's
        helpers send features between processes, and the dataclass's own pickling
        (field by field, in Python) took half again as long."""
        return _restore, (tuple([getattr(self, name) for name in _SLOTS]),)

    @classmethod
    def from_json(cls, value: list[Any]) -> MatchFeatures:
        given, preferred, family, former, dob, gender, nhs, upn, postcode = value
        return cls(
            given=tuple(given),
            preferred=preferred,
            family=family,
            former=tuple(former),
            date_of_birth=date.fromisoformat(dob),
            gender=gender,
            nhs_number=nhs,
            upn=upn,
            postcode=postcode,
        )


@lru_cache(maxsize=1 << 16)
def _given_forms(first: str, preferred: str) -> tuple[frozenset[str], str]:
    """Derived once per pair of names: ingest into a large index builds features for
    tens of candidate records a line, and names repeat across them."""
    forms = set(name_forms(first))
    if preferred:
        forms |= name_forms(preferred)
    return frozenset(forms), sound(first)


@lru_cache(maxsize=1 << 16)
def _family_forms(family: str, former: tuple[str, ...]) -> tuple[str, frozenset[str]]:
    parts = {family, *former}
    for name in (family, *former):
        parts.update(name.split())
    parts.discard("")
    return sound(family), frozenset(parts)


_SLOTS: tuple[str, ...] = MatchFeatures.__slots__


def _restore(state: tuple[Any, ...]) -> MatchFeatures:
    features = object.__new__(MatchFeatures)
    for name, value in zip(_SLOTS, state, strict=True):
        object.__setattr__(features, name, value)
    return features

"""Which source's value to show when sources disagree.

Each field has an order of sources (``FIELD_PRECEDENCE``, ``SERVICE_PRECEDENCE``):
the first source in its order that says something wins, sources not in the
order rank after those that are, and within equal rank the most recently
updated statement wins. Where and why each order is what it is, and the few
exceptions, are in ``docs/precedence.md``.

Whatever is not shown is kept: every value a statement gives that differs from
the one chosen goes into ``ChildRecord.alternatives`` under the field's name
(``"services"`` and ``"carers"`` for those lists), with its provenance, so a
disagreement is visible rather than silently overwritten. The result depends
only on the statements, never on the order they are given in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeVar

from contactpoint.domain.child import (
    Address,
    Carer,
    ChildDetails,
    ChildRecord,
    Provenance,
    ServiceInvolvement,
    Sourced,
)
from contactpoint.domain.vocabulary import AddressStatus, Circumstance, Gender, ServiceType

T = TypeVar("T")

NHS_PDS: Final = "nhs-pds"
"""The NHS Personal Demographics Service: the NHS's master record of who a patient is."""
LOCAL_AUTHORITY: Final = "local-authority"
"""Children's services: they know the children other sources miss, and case-work them."""
SCHOOL_CENSUS: Final = "school-census"
"""The school's own termly return to the Department for Education."""
CHILD_BENEFIT: Final = "child-benefit"
"""HMRC's claim records, written down by the claimant, not by anyone who sees the child."""

IDENTITY_ORDER: Final[tuple[str, ...]] = (NHS_PDS, LOCAL_AUTHORITY, SCHOOL_CENSUS, CHILD_BENEFIT)
MOST_RECENT: Final[tuple[str, ...]] = ()
"""No source outranks another: the most recently updated statement wins."""

FIELD_PRECEDENCE: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "given_names": IDENTITY_ORDER,
        "family_name": IDENTITY_ORDER,
        "date_of_birth": IDENTITY_ORDER,
        "gender": IDENTITY_ORDER,
        "preferred_name": IDENTITY_ORDER,
        "former_family_names": IDENTITY_ORDER,
        "nhs_number": IDENTITY_ORDER,
        "upn": (SCHOOL_CENSUS, LOCAL_AUTHORITY),
        "address": MOST_RECENT,
        "address_status": MOST_RECENT,
        "no_fixed_abode": MOST_RECENT,
        "carers": MOST_RECENT,
    }
)
"""Per field, the sources in the order they win; unlisted sources come after, by recency.

``address``, ``address_status`` and ``no_fixed_abode`` are chosen together, from
one statement (see :func:`_whereabouts`), and a local authority's no-fixed-abode
or left-England marking is not overridden by another source's address.
"""

UASC_DATE_OF_BIRTH_ORDER: Final[tuple[str, ...]] = (
    LOCAL_AUTHORITY,
    NHS_PDS,
    SCHOOL_CENSUS,
    CHILD_BENEFIT,
)
"""Date of birth order once the local authority records the child as unaccompanied
asylum-seeking: its age assessment is the date the child's services are decided on;
other sources often hold the date the child gave on arrival."""

SERVICE_PRECEDENCE: Final[Mapping[ServiceType, tuple[str, ...]]] = MappingProxyType(
    {
        ServiceType.GP: (NHS_PDS,),
        ServiceType.SCHOOL: (SCHOOL_CENSUS,),
    }
)
"""Single-valued services: one is shown per type, chosen by this order then recency.

Every other type is many-valued: the union of all sources, one per organisation.
"""

LA_MARKINGS: Final[frozenset[AddressStatus]] = frozenset({AddressStatus.LEFT_ENGLAND})
"""Address statuses (besides no fixed abode) that only a local authority may clear."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One active source record, decrypted, with where and when it came from."""

    provenance: Provenance
    child: ChildDetails
    carers: tuple[Carer, ...]
    services: tuple[ServiceInvolvement, ...]


Alternatives = dict[str, list[Sourced[object]]]


def combine(contactpoint_id: str, statements: Sequence[Statement]) -> ChildRecord:
    """The child's record from its source statements, by the rules in ``docs/precedence.md``."""
    if not statements:
        raise ValueError("a child record needs at least one source statement")
    keys = [(s.provenance.source, s.provenance.source_record_id) for s in statements]
    if len(set(keys)) != len(keys):
        raise ValueError("each source record may give only one statement about a child")
    canonical = sorted(
        statements,
        key=lambda s: (
            _rank(IDENTITY_ORDER, s.provenance.source),
            s.provenance.source,
            s.provenance.source_record_id,
        ),
    )
    alternatives: Alternatives = {}

    def choose(
        name: str,
        value_of: Callable[[ChildDetails], T | None],
        ranked: Sequence[Statement] | None = None,
    ) -> Sourced[T] | None:
        if ranked is None:
            ranked = _ranked(canonical, FIELD_PRECEDENCE[name])
        return _choose(name, ranked, value_of, alternatives)

    known_gender_first = sorted(
        _ranked(canonical, FIELD_PRECEDENCE["gender"]),
        key=lambda s: s.child.gender is Gender.UNKNOWN,
    )
    date_of_birth_ranked = _ranked(canonical, _date_of_birth_order(statements))
    former: dict[str, Sourced[str]] = {}
    for statement in _ranked(canonical, FIELD_PRECEDENCE["former_family_names"]):
        for name in statement.child.former_family_names:
            former.setdefault(name, Sourced(name, statement.provenance))
    address, address_status, no_fixed_abode = _whereabouts(canonical, alternatives)
    return ChildRecord(
        contactpoint_id=contactpoint_id,
        given_names=_required("given_names", choose("given_names", lambda c: c.given_names)),
        family_name=_required("family_name", choose("family_name", lambda c: c.family_name)),
        date_of_birth=_required(
            "date_of_birth",
            choose("date_of_birth", lambda c: c.date_of_birth, date_of_birth_ranked),
        ),
        gender=_required("gender", choose("gender", lambda c: c.gender, known_gender_first)),
        former_family_names=tuple(former.values()),
        preferred_name=choose("preferred_name", lambda c: c.preferred_name),
        nhs_number=choose("nhs_number", lambda c: c.nhs_number),
        upn=choose("upn", lambda c: c.upn),
        address=address,
        no_fixed_abode=no_fixed_abode,
        address_status=address_status,
        circumstances=frozenset[Circumstance]().union(*(s.child.circumstances for s in statements)),
        carers=_carers(_ranked(canonical, FIELD_PRECEDENCE["carers"]), alternatives),
        services=_services(canonical, alternatives),
        alternatives=alternatives,
    )


def _required(name: str, chosen: Sourced[T] | None) -> Sourced[T]:
    if chosen is None:
        raise ValueError(f"no source gives the child's {name}")
    return chosen


def _date_of_birth_order(statements: Iterable[Statement]) -> tuple[str, ...]:
    """The age assessment outranks PDS once the local authority says the child is UASC."""
    uasc = any(
        s.provenance.source == LOCAL_AUTHORITY
        and Circumstance.UNACCOMPANIED_ASYLUM_SEEKING in s.child.circumstances
        for s in statements
    )
    return UASC_DATE_OF_BIRTH_ORDER if uasc else FIELD_PRECEDENCE["date_of_birth"]


def _rank(order: Sequence[str], source: str) -> int:
    return order.index(source) if source in order else len(order)


def _ranked(canonical: Sequence[Statement], order: Sequence[str]) -> list[Statement]:
    """Best first: by the field's source order, then most recent, then the canonical order."""
    by_recency = sorted(canonical, key=lambda s: s.provenance.recorded_at, reverse=True)
    return sorted(by_recency, key=lambda s: _rank(order, s.provenance.source))


def _choose(
    name: str,
    ranked: Iterable[Statement],
    value_of: Callable[[ChildDetails], T | None],
    alternatives: Alternatives,
) -> Sourced[T] | None:
    """The first value in rank order; every later differing one becomes an alternative."""
    chosen: Sourced[T] | None = None
    for statement in ranked:
        value = value_of(statement.child)
        if value is None:
            continue
        if chosen is None:
            chosen = Sourced(value, statement.provenance)
        elif value != chosen.value:
            _keep(alternatives, name, value, statement.provenance)
    return chosen


def _keep(alternatives: Alternatives, name: str, value: object, provenance: Provenance) -> None:
    alternative: Sourced[object] = Sourced(value, provenance)
    alternatives.setdefault(name, []).append(alternative)


def _speaks_of_whereabouts(child: ChildDetails) -> bool:
    return child.address is not None or child.no_fixed_abode or child.address_status is not None


def _is_la_marking(child: ChildDetails) -> bool:
    return child.no_fixed_abode or child.address_status in LA_MARKINGS


def _whereabouts(
    canonical: Sequence[Statement], alternatives: Alternatives
) -> tuple[Sourced[Address] | None, Sourced[AddressStatus] | None, Sourced[bool]]:
    """Address, address status and no fixed abode, taken together from one statement.

    The most recent statement that says anything about where the child lives
    wins as a whole: its missing address beside "no fixed abode" or "none known"
    is an answer, not a gap for an older address to fill. One exception: when a
    local authority's latest such statement marks the child as of no fixed abode
    or as having left England, it stands until a local authority says otherwise,
    because another source's later date may only mean it re-sent an old address.
    """
    ranked = _ranked(canonical, FIELD_PRECEDENCE["address"])
    speaking = [s for s in ranked if _speaks_of_whereabouts(s.child)]
    winner = speaking[0] if speaking else ranked[0]
    latest_la = next((s for s in speaking if s.provenance.source == LOCAL_AUTHORITY), None)
    if latest_la is not None and _is_la_marking(latest_la.child):
        winner = latest_la
    child = winner.child
    shown = {
        "address": child.address,
        "address_status": child.address_status,
        "no_fixed_abode": child.no_fixed_abode,
    }
    for statement in ranked:
        if statement is winner:
            continue
        for name, value in shown.items():
            other = getattr(statement.child, name)
            if other is not None and other != value:
                _keep(alternatives, name, other, statement.provenance)
    return (
        None if child.address is None else Sourced(child.address, winner.provenance),
        None if child.address_status is None else Sourced(child.address_status, winner.provenance),
        Sourced(child.no_fixed_abode, winner.provenance),
    )


def _fold(text: str) -> str:
    """Case, accents, punctuation and spacing folded away, for telling duplicates apart."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    return " ".join(kept.split())


def _pick_groups(
    candidates: Iterable[tuple[object, T, Provenance]],
) -> tuple[list[Sourced[T]], list[Sourced[T]]]:
    """Per group key the first candidate wins; later ones that differ are the alternatives."""
    chosen: dict[object, Sourced[T]] = {}
    others: list[Sourced[T]] = []
    for key, value, provenance in candidates:
        best = chosen.get(key)
        if best is None:
            chosen[key] = Sourced(value, provenance)
        elif value != best.value:
            others.append(Sourced(value, provenance))
    return list(chosen.values()), others


def _carers(ranked: Sequence[Statement], alternatives: Alternatives) -> tuple[Sourced[Carer], ...]:
    """One per normalised name and relationship, the most recent statement's version."""
    chosen, others = _pick_groups(
        ((_fold(carer.name), _fold(carer.relationship or "")), carer, statement.provenance)
        for statement in ranked
        for carer in statement.carers
    )
    for other in others:
        _keep(alternatives, "carers", other.value, other.provenance)
    return tuple(chosen)


def service_key(service: ServiceInvolvement) -> tuple[ServiceType, str, str]:
    if service.type in SERVICE_PRECEDENCE:
        return (service.type, "", "")
    if service.organisation_id:
        return (service.type, "id", _fold(service.organisation_id))
    return (service.type, "name", _fold(service.organisation))


def _services(
    canonical: Sequence[Statement], alternatives: Alternatives
) -> tuple[Sourced[ServiceInvolvement], ...]:
    """Single-valued types by their source order, the rest one per organisation, newest first."""
    candidates = sorted(
        (
            (service_key(service), service, statement.provenance)
            for statement in _ranked(canonical, MOST_RECENT)
            for service in statement.services
        ),
        key=lambda c: _rank(SERVICE_PRECEDENCE.get(c[1].type, MOST_RECENT), c[2].source),
    )
    chosen, others = _pick_groups(candidates)
    types = list(ServiceType)
    for other in sorted(others, key=lambda s: types.index(s.value.type)):
        _keep(alternatives, "services", other.value, other.provenance)
    return tuple(sorted(chosen, key=lambda s: types.index(s.value.type)))

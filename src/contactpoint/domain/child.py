"""What the index holds about a child, as plain values.

Each field a source asserts keeps where it came from (:class:`Provenance`), so
the record can always say who said what and when: the children asked that it be
factually accurate, and accuracy needs to be checkable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar

from contactpoint.domain.vocabulary import (
    ALWAYS_SENSITIVE,
    AddressStatus,
    Circumstance,
    Gender,
    ServiceType,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]
    town: str | None
    postcode: str | None


@dataclass(frozen=True, slots=True)
class ChildDetails:
    """What one source says about who the child is and where they live."""

    given_names: str
    family_name: str
    date_of_birth: date
    gender: Gender
    former_family_names: tuple[str, ...] = ()
    preferred_name: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    address: Address | None = None
    no_fixed_abode: bool = False
    circumstances: frozenset[Circumstance] = frozenset()
    address_status: AddressStatus | None = None
    """None where the source did not say; an address is then taken as current."""


@dataclass(frozen=True, slots=True)
class Carer:
    name: str
    relationship: str | None
    parental_responsibility: bool
    address: Address | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Practitioner:
    name: str | None
    role: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class ServiceInvolvement:
    type: ServiceType
    organisation: str
    organisation_id: str | None = None
    practitioner: Practitioner | None = None
    start_date: date | None = None
    end_date: date | None = None
    lead_professional: bool = False
    assessment: bool = False
    sensitive: bool = False
    consent_to_show: bool | None = None

    @property
    def is_sensitive(self) -> bool:
        """Sensitive by the feed's flag or by its kind: the stricter of the two wins."""
        return self.sensitive or self.type in ALWAYS_SENSITIVE


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One source's whole statement about one child, as validated from a feed line."""

    source: str
    source_record_id: str
    child: ChildDetails
    carers: tuple[Carer, ...] = ()
    services: tuple[ServiceInvolvement, ...] = ()


@dataclass(frozen=True, slots=True)
class Provenance:
    source: str
    source_record_id: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    value: T
    provenance: Provenance


@dataclass(slots=True)
class ChildRecord:
    """The index's combined record of one child, every value with its provenance.

    ``alternatives`` keeps the values other sources gave where they disagree with
    the one shown, so a disagreement is visible rather than silently overwritten.
    """

    contactpoint_id: str
    given_names: Sourced[str]
    family_name: Sourced[str]
    date_of_birth: Sourced[date]
    gender: Sourced[Gender]
    former_family_names: tuple[Sourced[str], ...] = ()
    preferred_name: Sourced[str] | None = None
    nhs_number: Sourced[str] | None = None
    upn: Sourced[str] | None = None
    address: Sourced[Address] | None = None
    no_fixed_abode: Sourced[bool] | None = None
    address_status: Sourced[AddressStatus] | None = None
    circumstances: frozenset[Circumstance] = frozenset()
    carers: tuple[Sourced[Carer], ...] = ()
    services: tuple[Sourced[ServiceInvolvement], ...] = ()
    alternatives: dict[str, list[Sourced[object]]] = field(default_factory=dict)

"""Who sees what of a child: the view policy, in one place.

Given who is looking (their role and area) and the child's state (shielded,
archived, which services are sensitive and whether the child consented to
showing them), :func:`view_of` says whether the child may be shown at all and
builds the view from the combined record, field by field. Nothing else in the
code decides what a person may see of a child; the services and the API only
carry the answer. The table it implements is in docs/access.md.

Two rules shape every view, because getting them wrong cannot be undone once
someone has read the screen:

- **What is withheld leaves no trace.** A sensitive service without the child's
  consent is not counted, flagged or hinted at; none of its versions, alternatives
  or contacts appear. Where sources disagree about a service (one gives consent,
  another does not, one flags it sensitive and another does not) the stricter
  statement wins, as ``ServiceInvolvement.is_sensitive`` already does for a
  single statement.
- **Views are built from allowed fields, never by removing denied ones.** Each
  kind of view lists what it holds (``ALLOWED_FIELDS``), so a field added to
  the record later is hidden until someone decides who may see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

from contactpoint.domain.child import (
    Address,
    Carer,
    ChildRecord,
    Practitioner,
    Provenance,
    ServiceInvolvement,
    Sourced,
)
from contactpoint.domain.precedence import service_key as service_group
from contactpoint.domain.shielding import NOT_SHIELDED, Shield
from contactpoint.domain.vocabulary import Circumstance, Role, ServiceType

ARCHIVE_AGE: Final = 18
"""Children are archived at 18: from then on only the local authority's team sees them."""

VIEWING_ROLES: Final[frozenset[Role]] = frozenset(
    {Role.PRACTITIONER, Role.EMERGENCY, Role.LA_ADMIN}
)
"""Auditors read the audit data and feeds send records; neither ever sees a child."""

DEFAULT_TEAM_CONTACT: Final = (
    "The ContactPoint team of the child's local authority: your organisation's "
    "ContactPoint lead has its 24-hour number."
)
"""Used where no contact is configured (``CONTACTPOINT_TEAM_CONTACT``)."""


class ViewKind(StrEnum):
    FULL = "full"
    """The local authority's team, for a child of their area: everything held."""
    PRACTITIONER = "practitioner"
    SHIELDED = "shielded"
    EMERGENCY = "emergency"


class Denial(StrEnum):
    NOT_FOUND = "not_found"
    """Answered exactly as for an ID that names no child."""
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Viewer:
    role: Role
    area: str | None = None


@dataclass(frozen=True, slots=True)
class ChildView:
    """What one person may see of one child, ready to send as JSON."""

    child_id: str
    kind: ViewKind
    shielded: bool
    fields: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"view": self.kind.value, **self.fields}


_IDENTITY: Final = frozenset(
    {"contactpoint_id", "given_names", "family_name", "date_of_birth", "gender", "shielded"}
)
_RECORD: Final = _IDENTITY | {
    "preferred_name",
    "former_family_names",
    "nhs_number",
    "upn",
    "address",
    "address_status",
    "no_fixed_abode",
    "circumstances",
    "carers",
    "services",
    "provenance",
    "alternatives",
}
ALLOWED_FIELDS: Final[Mapping[ViewKind, frozenset[str]]] = {
    ViewKind.FULL: _RECORD | {"shield_origin", "archived"},
    ViewKind.PRACTITIONER: _RECORD,
    ViewKind.SHIELDED: _IDENTITY | {"parents", "team_contact"},
    ViewKind.EMERGENCY: _IDENTITY | {"child_protection_plan", "looked_after", "team_contact"},
}
"""Every key each kind of view holds (always present; null where the record has nothing)."""

CARER_FIELDS: Final = frozenset(
    {"name", "relationship", "parental_responsibility", "address", "phone", "email"}
)
SERVICE_FIELDS: Final = frozenset(
    {
        "type",
        "organisation",
        "organisation_id",
        "practitioner",
        "start_date",
        "end_date",
        "lead_professional",
        "assessment",
        "sensitive",
        "consent_to_show",
    }
)
TEAM_CONTACT_FIELDS: Final = frozenset({"organisation", "phone", "email", "contactpoint_team"})


# --- the decision ----------------------------------------------------------------------


def may_view(role: Role) -> bool:
    return role in VIEWING_ROLES


def decide(viewer: Viewer, *, in_area: bool, shielded: bool, archived: bool) -> ViewKind | Denial:
    """The role by state table of docs/access.md, and nothing else."""
    if not may_view(viewer.role):
        return Denial.REFUSED
    if viewer.role is Role.LA_ADMIN and in_area:
        return ViewKind.FULL
    if archived:
        return Denial.NOT_FOUND
    if viewer.role is Role.EMERGENCY:
        return ViewKind.EMERGENCY
    if shielded:
        return ViewKind.SHIELDED
    return ViewKind.PRACTITIONER


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_archived(record: ChildRecord, today: date) -> bool:
    """18 or over by the date of birth shown; a disputed date is settled by precedence."""
    return age_on(record.date_of_birth.value, today) >= ARCHIVE_AGE


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def in_area(record: ChildRecord, area: str | None) -> bool:
    """Whether the child is the business of the local authority team for ``area``.

    A child's area is the authority whose children's social care works, or has
    worked, with the child: a social care service on the record whose
    organisation's name begins with the area's name ("Leeds Children's Social
    Care" for "Leeds"). Where the record names no social care service the area
    is undetermined and is treated as another area's: the full view shows a
    shielded child's whereabouts and withheld services, and nobody should get
    those by default. A team with no area on record is in no area.
    """
    return any(
        sourced.value.type is ServiceType.SOCIAL_CARE
        and organisation_in_area(sourced.value.organisation, area)
        for sourced in record.services
    )


def organisation_in_area(organisation: str, area: str | None) -> bool:
    """Whether an organisation's name begins with the area's name, word for word and
    without regard to case ("Leeds Children's Social Care" for "Leeds")."""
    if not area or not area.strip():
        return False
    wanted = _fold(area)
    folded = _fold(organisation)
    return folded == wanted or folded.startswith(wanted + " ")


def withheld(service: ServiceInvolvement) -> bool:
    """Sensitive (by flag or kind) and not shown with the child's consent."""
    return service.is_sensitive and service.consent_to_show is not True


def withheld_groups(record: ChildRecord) -> frozenset[object]:
    """The services any version of which is withheld: the stricter statement wins."""
    versions: list[ServiceInvolvement] = [s.value for s in record.services]
    versions += [
        s.value
        for s in record.alternatives.get("services", ())
        if isinstance(s.value, ServiceInvolvement)
    ]
    return frozenset(service_group(s) for s in versions if withheld(s))


# --- the view --------------------------------------------------------------------------


def view_of(
    record: ChildRecord,
    viewer: Viewer,
    *,
    shield: Shield = NOT_SHIELDED,
    today: date,
    team_contact: str = DEFAULT_TEAM_CONTACT,
) -> ChildView | Denial:
    """What ``viewer`` may see of the child, or why they see nothing."""
    archived = is_archived(record, today)
    decision = decide(
        viewer,
        in_area=viewer.role is Role.LA_ADMIN and in_area(record, viewer.area),
        shielded=shield.shielded,
        archived=archived,
    )
    if isinstance(decision, Denial):
        return decision
    hidden = frozenset() if decision is ViewKind.FULL else withheld_groups(record)
    fields = _identity(record, shield.shielded)
    if decision is ViewKind.SHIELDED:
        fields["parents"] = [c.value.name for c in record.carers if c.value.parental_responsibility]
        fields["team_contact"] = _team_contact(record, hidden, today, team_contact)
    elif decision is ViewKind.EMERGENCY:
        fields["child_protection_plan"] = Circumstance.CHILD_PROTECTION_PLAN in record.circumstances
        fields["looked_after"] = Circumstance.LOOKED_AFTER in record.circumstances
        fields["team_contact"] = _team_contact(record, hidden, today, team_contact)
    else:
        fields.update(_record(record, hidden))
        if decision is ViewKind.FULL:
            fields["shield_origin"] = shield.origin.value if shield.origin else None
            fields["archived"] = archived
    if fields.keys() != ALLOWED_FIELDS[decision]:
        raise AssertionError(f"the {decision} view is out of step with ALLOWED_FIELDS")
    return ChildView(record.contactpoint_id, decision, shield.shielded, fields)


def _identity(record: ChildRecord, shielded: bool) -> dict[str, Any]:
    return {
        "contactpoint_id": record.contactpoint_id,
        "given_names": record.given_names.value,
        "family_name": record.family_name.value,
        "date_of_birth": record.date_of_birth.value.isoformat(),
        "gender": record.gender.value.value,
        "shielded": shielded,
    }


def _team_contact(
    record: ChildRecord, hidden: frozenset[object], today: date, fallback: str
) -> dict[str, Any]:
    """The child's social care team if the record names one that may be shown, and
    always the ContactPoint team, which answers 24 hours a day and can reach the rest.

    A current service is preferred to an ended one, the lead professional's to
    another, and then the most recently stated. Only the team's work contacts are
    given, never the social worker's name: the point is to reach the team.
    """
    candidates = [
        s
        for s in record.services
        if s.value.type is ServiceType.SOCIAL_CARE and service_group(s.value) not in hidden
    ]
    candidates.sort(
        key=lambda s: (
            s.value.end_date is None or s.value.end_date >= today,
            s.value.lead_professional,
            s.provenance.recorded_at,
        ),
        reverse=True,
    )
    team = candidates[0].value if candidates else None
    practitioner = team.practitioner if team is not None else None
    return {
        "organisation": team.organisation if team is not None else None,
        "phone": practitioner.phone if practitioner is not None else None,
        "email": practitioner.email if practitioner is not None else None,
        "contactpoint_team": fallback,
    }


def _record(record: ChildRecord, hidden: frozenset[object]) -> dict[str, Any]:
    def shown(sourced: Sourced[Any] | None) -> Any:
        return None if sourced is None else plain(sourced.value)

    provenance: dict[str, Any] = {
        name: _provenance(sourced.provenance)
        for name, sourced in (
            ("given_names", record.given_names),
            ("family_name", record.family_name),
            ("date_of_birth", record.date_of_birth),
            ("gender", record.gender),
            ("preferred_name", record.preferred_name),
            ("nhs_number", record.nhs_number),
            ("upn", record.upn),
            ("address", record.address),
            ("address_status", record.address_status),
            ("no_fixed_abode", record.no_fixed_abode),
        )
        if sourced is not None
    }
    return {
        "preferred_name": shown(record.preferred_name),
        "former_family_names": [
            {"name": s.value, **_provenance(s.provenance)} for s in record.former_family_names
        ],
        "nhs_number": shown(record.nhs_number),
        "upn": shown(record.upn),
        "address": shown(record.address),
        "address_status": shown(record.address_status),
        "no_fixed_abode": shown(record.no_fixed_abode),
        "circumstances": sorted(c.value for c in record.circumstances),
        "carers": [{**_carer(s.value), **_provenance(s.provenance)} for s in record.carers],
        "services": [
            {**_service(s.value), **_provenance(s.provenance)}
            for s in record.services
            if service_group(s.value) not in hidden
        ],
        "provenance": provenance,
        "alternatives": _alternatives(record.alternatives, hidden),
    }


def _alternatives(
    alternatives: Mapping[str, Iterable[Sourced[object]]], hidden: frozenset[object]
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name, values in sorted(alternatives.items()):
        kept = [
            {"value": plain(s.value), **_provenance(s.provenance)}
            for s in values
            if not (isinstance(s.value, ServiceInvolvement) and service_group(s.value) in hidden)
        ]
        if kept:
            out[name] = kept
    return out


def _provenance(provenance: Provenance) -> dict[str, str]:
    return {"source": provenance.source, "recorded_at": provenance.recorded_at.isoformat()}


def _address(address: Address) -> dict[str, Any]:
    return {"lines": list(address.lines), "town": address.town, "postcode": address.postcode}


def _carer(carer: Carer) -> dict[str, Any]:
    return {
        "name": carer.name,
        "relationship": carer.relationship,
        "parental_responsibility": carer.parental_responsibility,
        "address": _address(carer.address) if carer.address is not None else None,
        "phone": carer.phone,
        "email": carer.email,
    }


def _practitioner(practitioner: Practitioner) -> dict[str, Any]:
    return {
        "name": practitioner.name,
        "role": practitioner.role,
        "phone": practitioner.phone,
        "email": practitioner.email,
    }


def _service(service: ServiceInvolvement) -> dict[str, Any]:
    return {
        "type": service.type.value,
        "organisation": service.organisation,
        "organisation_id": service.organisation_id,
        "practitioner": (
            _practitioner(service.practitioner) if service.practitioner is not None else None
        ),
        "start_date": service.start_date.isoformat() if service.start_date else None,
        "end_date": service.end_date.isoformat() if service.end_date else None,
        "lead_professional": service.lead_professional,
        "assessment": service.assessment,
        "sensitive": service.is_sensitive,
        "consent_to_show": service.consent_to_show,
    }


def plain(value: object) -> Any:
    """A record value as JSON-ready data: dates as ISO text, vocabularies as their codes."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Address):
        return _address(value)
    if isinstance(value, Carer):
        return _carer(value)
    if isinstance(value, ServiceInvolvement):
        return _service(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value

"""A child's view, as the rows and cards a record page shows.

The view (:class:`~contactpoint.domain.views.ChildView`) already holds only
what the reader's role may see; this module only chooses words and order. It
shows a section only where the view has its key, so a field the policy
withholds cannot appear even as an empty heading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from contactpoint.domain.views import ChildView

SERVICE_NAMES: Final[Mapping[str, str]] = {
    "school": "School",
    "early_years": "Early years setting",
    "gp": "GP practice",
    "health_visitor": "Health visitor",
    "school_nurse": "School nurse",
    "social_care": "Children's social care",
    "youth_offending": "Youth offending team",
    "connexions": "Connexions",
    "camhs": "Child and adolescent mental health",
    "sexual_health": "Sexual health service",
    "substance_misuse": "Substance misuse service",
    "other": "Other service",
}
CIRCUMSTANCES: Final[Mapping[str, str]] = {
    "unaccompanied_asylum_seeking": "Unaccompanied asylum-seeking child",
    "missing": "Missing or runaway",
    "looked_after": "Looked after",
    "child_protection_plan": "Child protection plan",
    "overseas_student": "Overseas student",
    "traveller": "Traveller",
}
ADDRESS_STATUS: Final[Mapping[str, str]] = {
    "current": "Current address",
    "last_known": "Last known address",
    "none_known": "No address known",
    "left_england": "Left England",
}
SOURCES: Final[Mapping[str, str]] = {
    "nhs-pds": "NHS (Personal Demographics Service)",
    "child-benefit": "Child Benefit",
    "school-census": "School census",
    "local-authority": "Local authority",
}


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    value: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Card:
    title: str
    tag: str | None
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class RecordSections:
    identity: tuple[Row, ...]
    where: tuple[Row, ...] = ()
    circumstances: tuple[str, ...] = ()
    carers: tuple[Card, ...] = ()
    services: tuple[Card, ...] = ()
    parents: tuple[str, ...] = ()
    team_contact: tuple[Row, ...] = ()
    emergency: tuple[Row, ...] = ()
    administration: tuple[Row, ...] = ()
    alternatives: tuple[Row, ...] = ()
    keys: frozenset[str] = field(default_factory=frozenset)


def _date(value: object) -> str:
    if not isinstance(value, str):
        return "Not known"
    try:
        return date.fromisoformat(value).strftime("%-d %B %Y")
    except ValueError:
        return value


def _text(value: object, missing: str = "Not known") -> str:
    if value is None or value == "" or value == []:
        return missing
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _address_lines(address: object) -> tuple[str, ...]:
    if not isinstance(address, Mapping):
        return ()
    lines = [str(line) for line in address.get("lines") or ()]
    return tuple(line for line in (*lines, address.get("town"), address.get("postcode")) if line)


def _source(item: Mapping[str, Any]) -> str:
    source = item.get("source")
    name = SOURCES.get(str(source), str(source)) if source else None
    return f"{name}, {_date(str(item.get('recorded_at', ''))[:10])}" if name else "Not known"


def _identity(fields: Mapping[str, Any]) -> tuple[Row, ...]:
    rows = [
        Row("ContactPoint ID", _text(fields.get("contactpoint_id"))),
        Row("Given names", _text(fields.get("given_names"))),
        Row("Family name", _text(fields.get("family_name"))),
    ]
    if fields.get("preferred_name"):
        rows.append(Row("Known as", _text(fields["preferred_name"])))
    former = fields.get("former_family_names") or ()
    if former:
        rows.append(Row("Former family names", ", ".join(str(f.get("name")) for f in former)))
    rows.append(Row("Date of birth", _date(fields.get("date_of_birth"))))
    rows.append(Row("Gender", _text(fields.get("gender")).capitalize()))
    for key, label in (("nhs_number", "NHS number"), ("upn", "Unique Pupil Number")):
        if key in fields:
            rows.append(Row(label, _text(fields[key])))
    return tuple(rows)


def _where(fields: Mapping[str, Any]) -> tuple[Row, ...]:
    if "address" not in fields:
        return ()
    status = ADDRESS_STATUS.get(str(fields.get("address_status")), "Address")
    if fields.get("no_fixed_abode"):
        return (Row(status, "No fixed abode", _address_lines(fields.get("address"))),)
    lines = _address_lines(fields.get("address"))
    return (Row(status, "" if lines else "Not known", lines),)


def _carer(carer: Mapping[str, Any]) -> Card:
    rows = [
        Row("Relationship", _text(carer.get("relationship"))),
        Row("Parental responsibility", _text(carer.get("parental_responsibility"))),
    ]
    if carer.get("phone"):
        rows.append(Row("Phone", str(carer["phone"])))
    if carer.get("email"):
        rows.append(Row("Email", str(carer["email"])))
    lines = _address_lines(carer.get("address"))
    if lines:
        rows.append(Row("Address", "", lines))
    return Card(title=_text(carer.get("name")), tag=None, rows=tuple(rows))


def _service(service: Mapping[str, Any], *, full: bool) -> Card:
    kind = SERVICE_NAMES.get(str(service.get("type")), "Service")
    rows = [Row("Service", kind)]
    practitioner = service.get("practitioner")
    if isinstance(practitioner, Mapping):
        who = ", ".join(str(p) for p in (practitioner.get("name"), practitioner.get("role")) if p)
        rows.append(Row("Practitioner", who or "Not named"))
        if practitioner.get("phone"):
            rows.append(Row("Work phone", str(practitioner["phone"])))
        if practitioner.get("email"):
            rows.append(Row("Work email", str(practitioner["email"])))
    started, ended = service.get("start_date"), service.get("end_date")
    if started:
        rows.append(Row("Since", _date(started)))
    if ended:
        rows.append(Row("Ended", _date(ended)))
    if service.get("assessment"):
        rows.append(Row("Assessment", "An assessment has been carried out"))
    if full and service.get("sensitive"):
        consent = service.get("consent_to_show")
        rows.append(
            Row(
                "Sensitive",
                "Shown to practitioners with the child's consent"
                if consent
                else "Withheld from practitioners (no consent recorded)",
            )
        )
    rows.append(Row("Source", _source(service)))
    tag = "Lead professional" if service.get("lead_professional") else None
    return Card(title=_text(service.get("organisation")), tag=tag, rows=tuple(rows))


def _team_contact(contact: object) -> tuple[Row, ...]:
    if not isinstance(contact, Mapping):
        return ()
    rows = []
    if contact.get("organisation"):
        rows.append(Row("Social care team", str(contact["organisation"])))
    if contact.get("phone"):
        rows.append(Row("Phone", str(contact["phone"])))
    if contact.get("email"):
        rows.append(Row("Email", str(contact["email"])))
    rows.append(Row("ContactPoint team (24 hours)", _text(contact.get("contactpoint_team"))))
    return tuple(rows)


def _alternatives(alternatives: object) -> tuple[Row, ...]:
    if not isinstance(alternatives, Mapping):
        return ()
    rows = []
    for name, values in sorted(alternatives.items()):
        lines = tuple(
            f"{_plain(v.get('value'))} ({_source(v)})" for v in values if isinstance(v, Mapping)
        )
        rows.append(Row(name.replace("_", " ").capitalize(), "", lines))
    return tuple(rows)


def _plain(value: object) -> str:
    if isinstance(value, Mapping):
        if "organisation" in value:
            return str(value.get("organisation"))
        lines = _address_lines(value)
        return ", ".join(lines) if lines else ", ".join(f"{k}: {v}" for k, v in value.items())
    return _text(value)


def _list(values: object) -> Sequence[Mapping[str, Any]]:
    return [v for v in values if isinstance(v, Mapping)] if isinstance(values, list) else []


def record_sections(view: ChildView) -> RecordSections:
    """The view in the page's words; sections the view has no key for are left out."""
    fields = view.fields
    full = "shield_origin" in fields
    emergency: tuple[Row, ...] = ()
    if "child_protection_plan" in fields:
        emergency = (
            Row("Child protection plan", _text(fields.get("child_protection_plan"))),
            Row("Looked after", _text(fields.get("looked_after"))),
        )
    administration: tuple[Row, ...] = ()
    if full:
        administration = (
            Row("Shielded", _text(fields.get("shielded"))),
            Row("Shielded by", _text(fields.get("shield_origin"), "Not shielded")),
            Row("18 or over (archived)", _text(fields.get("archived"))),
        )
    return RecordSections(
        identity=_identity(fields),
        where=_where(fields),
        circumstances=tuple(
            CIRCUMSTANCES.get(str(c), str(c)) for c in fields.get("circumstances") or ()
        ),
        carers=tuple(_carer(c) for c in _list(fields.get("carers"))),
        services=tuple(_service(s, full=full) for s in _list(fields.get("services"))),
        parents=tuple(str(p) for p in fields.get("parents") or ()),
        team_contact=_team_contact(fields.get("team_contact")),
        emergency=emergency,
        administration=administration,
        alternatives=_alternatives(fields.get("alternatives")),
        keys=frozenset(fields),
    )

"""A child no feed covers, as the local authority team types them in, checked field by field.

The team's form asks what a feed line's ``child`` and ``services`` say, in a
person's terms: a situation instead of a list of circumstances, where the child
lives instead of an address status. :func:`check_entry` turns the answers into
that feed line's content, or into one message per field that says what to do;
the service then puts the line through the feed schema and the identity linker
exactly as a feed's line goes (``docs/team-records.md``).

No I/O here: the rules are tested without a database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date
from enum import StrEnum
from typing import Any, Final

from contactpoint.domain.child import ChildDetails, ServiceInvolvement
from contactpoint.domain.nhs_number import is_valid_nhs_number, normalise_nhs_number
from contactpoint.domain.postcode import normalise_postcode
from contactpoint.domain.views import ARCHIVE_AGE, age_on, organisation_in_area
from contactpoint.domain.vocabulary import AddressStatus, Circumstance, Gender, ServiceType

TEAM_RECORD_PREFIX: Final = "team:"
"""Source record ids beginning with this, in the ``local-authority`` source, are the
team's own records entered through ContactPoint; feeds may not use them."""

NAME_MAX: Final = 100
TEXT_MAX: Final = 200
FORMER_NAMES_MAX: Final = 10
EARLIEST_BIRTH_YEAR: Final = 1900
_CONTROL_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_PHONE: Final = re.compile(r"^\+?[0-9 ()-]+$")
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_team_record_id(source_record_id: str) -> bool:
    return source_record_id.startswith(TEAM_RECORD_PREFIX)


class Situation(StrEnum):
    """Why no feed covers the child: the form's one required choice."""

    UNACCOMPANIED_ASYLUM_SEEKING = "unaccompanied_asylum_seeking"
    RUNAWAY = "runaway"
    NO_FIXED_ABODE = "no_fixed_abode"
    TRAVELLER = "traveller"
    OVERSEAS_STUDENT = "overseas_student"


SITUATION_CIRCUMSTANCE: Final[dict[Situation, Circumstance | None]] = {
    Situation.UNACCOMPANIED_ASYLUM_SEEKING: Circumstance.UNACCOMPANIED_ASYLUM_SEEKING,
    Situation.RUNAWAY: Circumstance.MISSING,
    Situation.NO_FIXED_ABODE: None,
    Situation.TRAVELLER: Circumstance.TRAVELLER,
    Situation.OVERSEAS_STUDENT: Circumstance.OVERSEAS_STUDENT,
}
"""A runaway is the feed's ``missing``; no fixed abode is the feed's ``no_fixed_abode``
flag, not a circumstance."""


class Whereabouts(StrEnum):
    """Where the child lives, as the 2007 Regulations allow it to be recorded."""

    CURRENT = "current"
    LAST_KNOWN = "last_known"
    NO_FIXED_ABODE = "no_fixed_abode"
    NONE_KNOWN = "none_known"


@dataclass(frozen=True, slots=True)
class TeamChildEntry:
    """The form's answers as typed (stripped), so they can be shown back with errors."""

    given_names: str = ""
    family_name: str = ""
    preferred_name: str = ""
    former_family_names: str = ""
    """One per line."""
    dob_day: str = ""
    dob_month: str = ""
    dob_year: str = ""
    gender: str = ""
    situation: str = ""
    nhs_number: str = ""
    whereabouts: str = ""
    address_line_1: str = ""
    address_line_2: str = ""
    town: str = ""
    postcode: str = ""
    team: str = ""
    lead_name: str = ""
    lead_role: str = ""
    lead_phone: str = ""
    lead_email: str = ""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_answers(cls, answers: dict[str, str]) -> TeamChildEntry:
        return cls(**{name: answers.get(name, "").strip() for name in cls.field_names()})

    def answers(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.field_names()}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    """The form field's id (a :class:`TeamChildEntry` attribute name)."""
    message: str


class _Checker:
    def __init__(self, entry: TeamChildEntry, area: str, today: date) -> None:
        self.entry = entry
        self.area = area
        self.today = today
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str) -> None:
        if not any(e.field == field for e in self.errors):
            self.errors.append(FieldError(field, message))

    def text(
        self, field: str, label: str, *, required: str | None = None, limit: int = TEXT_MAX
    ) -> str | None:
        value: str = getattr(self.entry, field)
        if not value:
            if required is not None:
                self.fail(field, required)
            return None
        if len(value) > limit:
            self.fail(field, f"{label} must be {limit} characters or fewer")
        elif any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value):
            self.fail(field, f"{label} must be plain text on one line")
        return value

    def names(self) -> dict[str, Any]:
        given = self.text(
            "given_names", "Given names", required="Enter the child's given names", limit=NAME_MAX
        )
        family = self.text(
            "family_name", "Family name", required="Enter the child's family name", limit=NAME_MAX
        )
        preferred = self.text("preferred_name", "Preferred name", limit=NAME_MAX)
        former = [line.strip() for line in self.entry.former_family_names.splitlines()]
        former = [name for name in former if name]
        if len(former) > FORMER_NAMES_MAX:
            self.fail(
                "former_family_names", f"Enter at most {FORMER_NAMES_MAX} former family names"
            )
        for name in former:
            if len(name) > NAME_MAX:
                self.fail(
                    "former_family_names",
                    f"Each former family name must be {NAME_MAX} characters or fewer",
                )
            elif any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in name):
                self.fail("former_family_names", "Former family names must be plain text")
        return {
            "given_names": given,
            "family_name": family,
            "preferred_name": preferred,
            "former_family_names": former,
        }

    def date_of_birth(self) -> str | None:
        parts = {
            "dob_day": ("day", self.entry.dob_day),
            "dob_month": ("month", self.entry.dob_month),
            "dob_year": ("year", self.entry.dob_year),
        }
        missing = [(field, word) for field, (word, value) in parts.items() if not value]
        if len(missing) == 3:
            self.fail("dob_day", "Enter the child's date of birth")
            return None
        if missing:
            words = " and a ".join(word for _, word in missing)
            self.fail(missing[0][0], f"Date of birth must include a {words}")
            return None
        day, month, year = self.entry.dob_day, self.entry.dob_month, self.entry.dob_year
        if not (day.isascii() and month.isascii() and year.isascii()) or not (
            day.isdigit() and month.isdigit() and year.isdigit()
        ):
            self.fail("dob_day", "Date of birth must be a real date, in numbers")
            return None
        if len(year) != 4:
            self.fail("dob_year", "Year must include 4 numbers")
            return None
        try:
            born = date(int(year), int(month), int(day))
        except ValueError:
            self.fail("dob_day", "Date of birth must be a real date")
            return None
        if born > self.today:
            self.fail("dob_day", "Date of birth must be today or in the past")
        elif born.year < EARLIEST_BIRTH_YEAR:
            self.fail("dob_year", f"Date of birth must be after {EARLIEST_BIRTH_YEAR}")
        elif age_on(born, self.today) >= ARCHIVE_AGE:
            self.fail(
                "dob_day",
                f"The child must be under {ARCHIVE_AGE}: ContactPoint holds records of children. "
                "Check the date of birth",
            )
        return born.isoformat()

    def choice(self, field: str, allowed: type[StrEnum], message: str) -> Any:
        value: str = getattr(self.entry, field)
        try:
            return allowed(value)
        except ValueError:
            self.fail(field, message)
            return None

    def nhs_number(self) -> str | None:
        value = self.entry.nhs_number
        if not value:
            return None
        if not is_valid_nhs_number(value):
            self.fail(
                "nhs_number",
                "Enter a real NHS number, 10 numbers like 943 476 5919, or leave it blank",
            )
            return None
        return normalise_nhs_number(value)

    def whereabouts(self, situation: Situation | None) -> dict[str, Any]:
        where: Whereabouts | None = self.choice(
            "whereabouts", Whereabouts, "Select where the child lives"
        )
        line_1 = self.text("address_line_1", "Address line 1")
        line_2 = self.text("address_line_2", "Address line 2")
        town = self.text("town", "Town or city")
        postcode = None
        if self.entry.postcode:
            postcode = normalise_postcode(self.entry.postcode)
            if postcode is None:
                self.fail("postcode", "Enter a real postcode, like LS1 4AB")
        given = any((self.entry.address_line_1, self.entry.address_line_2, self.entry.town))
        given = given or bool(self.entry.postcode)
        result: dict[str, Any] = {"address": None, "no_fixed_abode": False, "address_status": None}
        if situation is Situation.NO_FIXED_ABODE and where not in (
            None,
            Whereabouts.NO_FIXED_ABODE,
        ):
            self.fail(
                "whereabouts",
                "Select 'No fixed abode', as the child's situation is no fixed abode, or "
                "choose another situation",
            )
        if where in (Whereabouts.CURRENT, Whereabouts.LAST_KNOWN):
            if not (self.entry.address_line_1 or self.entry.postcode):
                self.fail(
                    "address_line_1",
                    "Enter the first line of the address or its postcode"
                    if where is Whereabouts.CURRENT
                    else "Enter the first line of the last known address or its postcode",
                )
            result["address"] = {
                "lines": [line for line in (line_1, line_2) if line],
                "town": town,
                "postcode": postcode,
            }
            result["address_status"] = where.value
        elif where is not None and given:
            self.fail(
                "address_line_1",
                "Leave the address blank for a child with no fixed abode or no known address, "
                "or select 'Last known address'",
            )
        elif where is Whereabouts.NO_FIXED_ABODE:
            result["no_fixed_abode"] = True
        elif where is Whereabouts.NONE_KNOWN:
            result["address_status"] = AddressStatus.NONE_KNOWN.value
        return result

    def team(self) -> dict[str, Any]:
        team = self.text(
            "team",
            "The responsible team",
            required="Enter the name of the team responsible for the child",
        )
        if team is not None and not organisation_in_area(team, self.area):
            self.fail(
                "team",
                f"Enter a team of your area: its name must start with '{self.area}', "
                f"for example '{self.area} Children's Social Care'",
            )
        name = self.text("lead_name", "The lead professional's name", limit=NAME_MAX)
        role = self.text("lead_role", "The lead professional's role")
        phone = self.text("lead_phone", "The telephone number")
        email = self.text("lead_email", "The email address")
        if phone is not None and (
            not _PHONE.match(phone) or not 7 <= sum(ch.isdigit() for ch in phone) <= 15
        ):
            self.fail("lead_phone", "Enter a telephone number, like 0113 496 0000")
        if email is not None and not _EMAIL.match(email):
            self.fail(
                "lead_email", "Enter an email address in the right form, like name@example.org"
            )
        if phone is None and email is None:
            self.fail(
                "lead_phone",
                "Enter a work telephone number or email address, so practitioners can get "
                "in touch with the team",
            )
        return {
            "type": ServiceType.SOCIAL_CARE.value,
            "organisation": team,
            "practitioner": {"name": name, "role": role, "phone": phone, "email": email},
            "lead_professional": name is not None,
        }


def check_entry(
    entry: TeamChildEntry, *, area: str, today: date
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The feed line's ``child`` and ``services`` for a valid entry, or what to fix.

    Errors come in the order of the form, one per field, so the error summary
    reads top to bottom as the page does.
    """
    checker = _Checker(entry, area, today)
    names = checker.names()
    born = checker.date_of_birth()
    gender: Gender | None = checker.choice("gender", Gender, "Select the child's gender")
    situation: Situation | None = checker.choice(
        "situation", Situation, "Select why no feed covers the child"
    )
    nhs_number = checker.nhs_number()
    where = checker.whereabouts(situation)
    service = checker.team()
    order = TeamChildEntry.field_names()
    checker.errors.sort(key=lambda e: order.index(e.field))
    if checker.errors or gender is None or situation is None or born is None:
        return None, checker.errors
    circumstance = SITUATION_CIRCUMSTANCE[situation]
    child: dict[str, Any] = {
        **names,
        "date_of_birth": born,
        "gender": gender.value,
        "nhs_number": nhs_number,
        **where,
        "circumstances": [] if circumstance is None else [circumstance.value],
    }
    return {"child": child, "services": [service]}, []


_SITUATION_ORDER: Final = (
    Situation.UNACCOMPANIED_ASYLUM_SEEKING,
    Situation.RUNAWAY,
    Situation.TRAVELLER,
    Situation.OVERSEAS_STUDENT,
)


def team_service(
    services: tuple[ServiceInvolvement, ...], area: str | None
) -> ServiceInvolvement | None:
    """The record's social care service of the team's area: the mark of the team's own record."""
    for service in services:
        if service.type is ServiceType.SOCIAL_CARE and organisation_in_area(
            service.organisation, area
        ):
            return service
    return None


def entry_from_record(
    child: ChildDetails, services: tuple[ServiceInvolvement, ...], area: str | None
) -> TeamChildEntry:
    """The answers that would give this record: the update form, filled in."""
    situation = next(
        (s for s in _SITUATION_ORDER if SITUATION_CIRCUMSTANCE[s] in child.circumstances),
        Situation.NO_FIXED_ABODE if child.no_fixed_abode else None,
    )
    if child.no_fixed_abode:
        where = Whereabouts.NO_FIXED_ABODE
    elif child.address_status is AddressStatus.LAST_KNOWN:
        where = Whereabouts.LAST_KNOWN
    elif child.address is not None:
        where = Whereabouts.CURRENT
    else:
        where = Whereabouts.NONE_KNOWN
    entry = TeamChildEntry(
        given_names=child.given_names,
        family_name=child.family_name,
        preferred_name=child.preferred_name or "",
        former_family_names="\n".join(child.former_family_names),
        dob_day=str(child.date_of_birth.day),
        dob_month=str(child.date_of_birth.month),
        dob_year=str(child.date_of_birth.year),
        gender=child.gender.value,
        situation=situation.value if situation is not None else "",
        nhs_number=child.nhs_number or "",
        whereabouts=where.value,
    )
    if child.address is not None:
        lines = (*child.address.lines, "", "")
        entry = replace(
            entry,
            address_line_1=lines[0],
            address_line_2=lines[1],
            town=child.address.town or "",
            postcode=child.address.postcode or "",
        )
    service = team_service(services, area)
    if service is not None:
        practitioner = service.practitioner
        entry = replace(
            entry,
            team=service.organisation,
            lead_name=(practitioner.name or "") if practitioner else "",
            lead_role=(practitioner.role or "") if practitioner else "",
            lead_phone=(practitioner.phone or "") if practitioner else "",
            lead_email=(practitioner.email or "") if practitioner else "",
        )
    return entry

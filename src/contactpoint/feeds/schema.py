"""The feed line schema, strict by design.

Unknown keys are refused (data minimisation: nothing is stored that the schema
does not name), and a child's photograph or own telephone number is refused with
a reason that says why: the children asked that neither is ever held.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contactpoint.domain.child import (
    Address,
    Carer,
    ChildDetails,
    Practitioner,
    ServiceInvolvement,
    SourceRecord,
)
from contactpoint.domain.nhs_number import is_valid_nhs_number, normalise_nhs_number
from contactpoint.domain.postcode import normalise_postcode
from contactpoint.domain.upn import normalise_upn
from contactpoint.domain.vocabulary import (
    AddressStatus,
    Circumstance,
    FeedAction,
    Gender,
    ServiceType,
)

EARLIEST_DATE = date(1900, 1, 1)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (tabs, line breaks and the like)")
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_no_control_characters),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _not_in_future(value: date | None, info: ValidationInfo) -> date | None:
    if value is None:
        return None
    today = (info.context or {}).get("today")
    if today is not None and value > today:
        raise ValueError("is in the future: dates must be on or before today")
    if value < EARLIEST_DATE:
        raise ValueError("is before 1900: check the year")
    return value


class FeedAddress(_Strict):
    lines: list[Text] = Field(default_factory=list, max_length=6)
    town: Text | None = None
    postcode: str | None = None

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalised = normalise_postcode(value)
        if normalised is None:
            raise ValueError("is not a well-formed UK postcode (for example 'LS1 4AB')")
        return normalised

    def to_domain(self) -> Address:
        return Address(lines=tuple(self.lines), town=self.town, postcode=self.postcode)


FORBIDDEN_CHILD_KEYS: dict[str, str] = {
    # Keys a feed might use for what is never held; refused with their own reason.
    "photo": "photograph",
    "photograph": "photograph",
    "picture": "photograph",
    "image": "photograph",
    "phone": "telephone number",
    "telephone": "telephone number",
    "mobile": "telephone number",
    "phone_number": "telephone number",
    "telephone_number": "telephone number",
}


class FeedChild(_Strict):
    given_names: Name
    family_name: Name
    former_family_names: list[Name] = Field(default_factory=list, max_length=10)
    preferred_name: Name | None = None
    date_of_birth: date
    gender: Gender
    nhs_number: str | None = None
    upn: str | None = None
    address: FeedAddress | None = None
    no_fixed_abode: bool = False
    circumstances: list[Circumstance] = Field(default_factory=list, max_length=6)
    address_status: AddressStatus | None = None

    _dob_not_in_future = field_validator("date_of_birth")(_not_in_future)

    @field_validator("nhs_number")
    @classmethod
    def _nhs_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_valid_nhs_number(value):
            raise ValueError(
                "is not a valid NHS number (ten digits whose last is the modulus 11 check "
                "digit): check it was copied correctly, or leave it out"
            )
        return normalise_nhs_number(value)

    @field_validator("upn")
    @classmethod
    def _upn(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalised = normalise_upn(value)
        if normalised is None:
            raise ValueError("is not a Unique Pupil Number (a letter then twelve characters)")
        return normalised

    @model_validator(mode="after")
    def _address_or_no_fixed_abode(self) -> Self:
        if self.no_fixed_abode and self.address is not None:
            raise ValueError("gives an address and no_fixed_abode: true; send one or the other")
        if self.address_status is AddressStatus.NONE_KNOWN and self.address is not None:
            raise ValueError(
                "gives an address with address_status 'none_known'; send one or the other"
            )
        if self.address_status is AddressStatus.LAST_KNOWN and self.address is None:
            raise ValueError("has address_status 'last_known' but no address")
        return self

    def to_domain(self) -> ChildDetails:
        return ChildDetails(
            given_names=self.given_names,
            family_name=self.family_name,
            former_family_names=tuple(self.former_family_names),
            preferred_name=self.preferred_name,
            date_of_birth=self.date_of_birth,
            gender=self.gender,
            nhs_number=self.nhs_number,
            upn=self.upn,
            address=self.address.to_domain() if self.address else None,
            no_fixed_abode=self.no_fixed_abode,
            circumstances=frozenset(self.circumstances),
            address_status=self.address_status,
        )


class FeedCarer(_Strict):
    name: Name
    relationship: Text | None = None
    parental_responsibility: bool = False
    address: FeedAddress | None = None
    phone: Text | None = None
    email: Text | None = None

    def to_domain(self) -> Carer:
        return Carer(
            name=self.name,
            relationship=self.relationship,
            parental_responsibility=self.parental_responsibility,
            address=self.address.to_domain() if self.address else None,
            phone=self.phone,
            email=self.email,
        )


class FeedPractitioner(_Strict):
    name: Name | None = None
    role: Text | None = None
    phone: Text | None = None
    email: Text | None = None

    def to_domain(self) -> Practitioner:
        return Practitioner(name=self.name, role=self.role, phone=self.phone, email=self.email)


class FeedService(_Strict):
    type: ServiceType
    organisation: Text
    organisation_id: Text | None = None
    practitioner: FeedPractitioner | None = None
    start_date: date | None = None
    end_date: date | None = None
    lead_professional: bool = False
    assessment: bool = False
    sensitive: bool = False
    consent_to_show: bool | None = None

    _dates_not_in_future = field_validator("start_date", "end_date")(_not_in_future)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("has an end_date before its start_date")
        return self

    def to_domain(self) -> ServiceInvolvement:
        return ServiceInvolvement(
            type=self.type,
            organisation=self.organisation,
            organisation_id=self.organisation_id,
            practitioner=self.practitioner.to_domain() if self.practitioner else None,
            start_date=self.start_date,
            end_date=self.end_date,
            lead_professional=self.lead_professional,
            assessment=self.assessment,
            sensitive=self.sensitive,
            consent_to_show=self.consent_to_show,
        )


SourceRecordId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$"
    ),
]


class FeedLine(_Strict):
    source_record_id: SourceRecordId
    action: FeedAction = FeedAction.UPSERT
    child: FeedChild | None = None
    carers: list[FeedCarer] = Field(default_factory=list, max_length=20)
    services: list[FeedService] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _upsert_needs_child(self) -> Self:
        if self.action is FeedAction.UPSERT and self.child is None:
            raise ValueError('an upsert needs a \'child\' object (or use "action": "end")')
        return self

    def to_domain(self, source: str) -> SourceRecord:
        if self.child is None:
            raise ValueError("an 'end' line has no record to convert")
        return SourceRecord(
            source=source,
            source_record_id=self.source_record_id,
            child=self.child.to_domain(),
            carers=tuple(c.to_domain() for c in self.carers),
            services=tuple(s.to_domain() for s in self.services),
        )

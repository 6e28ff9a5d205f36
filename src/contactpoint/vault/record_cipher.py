"""A source record to ciphertext columns and back, one column per field.

Fields are encrypted separately so that a view can decrypt only what the
viewer may see (a shielded child's address is never decrypted for a
practitioner), and each is bound to its row and column by associated data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, cast

from contactpoint.domain.child import (
    Address,
    Carer,
    ChildDetails,
    Practitioner,
    ServiceInvolvement,
    SourceRecord,
)
from contactpoint.domain.vocabulary import AddressStatus, Circumstance, Gender, ServiceType
from contactpoint.vault.envelope import JSONValue, Vault, field_aad

TABLE = "source_records"


def _address_json(address: Address | None, status: AddressStatus | None = None) -> JSONValue:
    """The child's address column also carries its status, so no new plaintext appears."""
    if address is None and status is None:
        return None
    value: dict[str, Any] = {"status": status.value if status else None}
    if address is not None:
        value |= {"lines": list(address.lines), "town": address.town, "postcode": address.postcode}
    return value


def _address(value: Any) -> Address | None:
    if value is None or "lines" not in value:
        return None
    return Address(lines=tuple(value["lines"]), town=value["town"], postcode=value["postcode"])


def _address_status(value: Any) -> AddressStatus | None:
    if value is None or value.get("status") is None:
        return None
    return AddressStatus(value["status"])


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _carer_json(carer: Carer) -> JSONValue:
    return {
        "name": carer.name,
        "relationship": carer.relationship,
        "parental_responsibility": carer.parental_responsibility,
        "address": _address_json(carer.address),
        "phone": carer.phone,
        "email": carer.email,
    }


def _service_json(service: ServiceInvolvement) -> JSONValue:
    practitioner = service.practitioner
    return {
        "type": service.type.value,
        "organisation": service.organisation,
        "organisation_id": service.organisation_id,
        "practitioner": None
        if practitioner is None
        else {
            "name": practitioner.name,
            "role": practitioner.role,
            "phone": practitioner.phone,
            "email": practitioner.email,
        },
        "start_date": service.start_date.isoformat() if service.start_date else None,
        "end_date": service.end_date.isoformat() if service.end_date else None,
        "lead_professional": service.lead_professional,
        "assessment": service.assessment,
        "sensitive": service.sensitive,
        "consent_to_show": service.consent_to_show,
    }


def field_values(record: SourceRecord) -> dict[str, JSONValue]:
    child = record.child
    return {
        "given_names": child.given_names,
        "family_name": child.family_name,
        "former_family_names": list(child.former_family_names),
        "preferred_name": child.preferred_name,
        "date_of_birth": child.date_of_birth.isoformat(),
        "gender": child.gender.value,
        "nhs_number": child.nhs_number,
        "upn": child.upn,
        "address": _address_json(child.address, child.address_status),
        "no_fixed_abode": child.no_fixed_abode,
        "circumstances": sorted(c.value for c in child.circumstances),
        "carers": [_carer_json(c) for c in record.carers],
        "services": [_service_json(s) for s in record.services],
    }


def encrypt_record(vault: Vault, record_id: uuid.UUID, record: SourceRecord) -> dict[str, bytes]:
    row = str(record_id)
    return {
        f"{name}_enc": vault.encrypt(value, field_aad(TABLE, row, name))
        for name, value in field_values(record).items()
    }


def encrypt_field(vault: Vault, record_id: uuid.UUID, name: str, value: JSONValue) -> bytes:
    return vault.encrypt(value, field_aad(TABLE, str(record_id), name))


def decrypt_field(vault: Vault, record_id: uuid.UUID | str, name: str, blob: bytes) -> Any:
    """The field's value; ``record_id`` may be given in its text form, which is what the
    associated data holds."""
    return vault.decrypt(blob, field_aad(TABLE, record_id, name))


def decrypt_fields(
    vault: Vault, record_id: uuid.UUID, row: Mapping[Any, Any], names: Iterable[str]
) -> dict[str, Any]:
    return {
        name: vault.decrypt(row[f"{name}_enc"], field_aad(TABLE, record_id, name)) for name in names
    }


CHILD_FIELDS = (
    "given_names",
    "family_name",
    "former_family_names",
    "preferred_name",
    "date_of_birth",
    "gender",
    "nhs_number",
    "upn",
    "address",
    "no_fixed_abode",
    "circumstances",
)


def details_from_fields(values: Mapping[str, Any]) -> ChildDetails:
    return ChildDetails(
        given_names=values["given_names"],
        family_name=values["family_name"],
        former_family_names=tuple(values["former_family_names"]),
        preferred_name=values["preferred_name"],
        date_of_birth=cast(date, _date(values["date_of_birth"])),
        gender=Gender(values["gender"]),
        nhs_number=values["nhs_number"],
        upn=values["upn"],
        address=_address(values["address"]),
        no_fixed_abode=values["no_fixed_abode"],
        circumstances=frozenset(Circumstance(c) for c in values["circumstances"]),
        address_status=_address_status(values["address"]),
    )


def carers_from_json(values: list[Any]) -> tuple[Carer, ...]:
    return tuple(
        Carer(
            name=v["name"],
            relationship=v["relationship"],
            parental_responsibility=v["parental_responsibility"],
            address=_address(v["address"]),
            phone=v["phone"],
            email=v["email"],
        )
        for v in values
    )


def services_from_json(values: list[Any]) -> tuple[ServiceInvolvement, ...]:
    return tuple(
        ServiceInvolvement(
            type=ServiceType(v["type"]),
            organisation=v["organisation"],
            organisation_id=v["organisation_id"],
            practitioner=None
            if v["practitioner"] is None
            else Practitioner(
                name=v["practitioner"]["name"],
                role=v["practitioner"]["role"],
                phone=v["practitioner"]["phone"],
                email=v["practitioner"]["email"],
            ),
            start_date=_date(v["start_date"]),
            end_date=_date(v["end_date"]),
            lead_professional=v["lead_professional"],
            assessment=v["assessment"],
            sensitive=v["sensitive"],
            consent_to_show=v["consent_to_show"],
        )
        for v in values
    )

"""Building match features for tests, close to what a feed says."""

from __future__ import annotations

from datetime import date
from typing import Any

from contactpoint.domain.child import Address, ChildDetails
from contactpoint.domain.vocabulary import Gender
from contactpoint.identity.features import MatchFeatures


def features(**changes: Any) -> MatchFeatures:
    values: dict[str, Any] = {
        "given_names": "Amelia Rose",
        "family_name": "Featherstonehaugh",
        "date_of_birth": date(2014, 3, 7),
        "gender": Gender.FEMALE,
        "nhs_number": None,
        "upn": None,
        "address": Address(lines=("12 High Street",), town="Leeds", postcode="LS1 4AB"),
    }
    postcode = changes.pop("postcode", "unchanged")
    values.update(changes)
    if postcode is None:
        values["address"] = None
    elif postcode != "unchanged":
        values["address"] = Address(lines=("1 New Road",), town="Elsewhere", postcode=postcode)
    return MatchFeatures.of(ChildDetails(**values))

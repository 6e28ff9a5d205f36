"""A valid feed line to vary in tests."""

from __future__ import annotations

import copy
import json
from typing import Any

GOOD_LINE: dict[str, Any] = {
    "source_record_id": "SC-000123",
    "action": "upsert",
    "child": {
        "given_names": "Amelia Rose",
        "family_name": "Khan",
        "former_family_names": ["Smith"],
        "preferred_name": "Millie",
        "date_of_birth": "2014-03-07",
        "gender": "female",
        "nhs_number": "9434765919",
        "upn": "A123456789012",
        "address": {"lines": ["12 High Street"], "town": "Leeds", "postcode": "LS1 4AB"},
        "no_fixed_abode": False,
        "circumstances": ["unaccompanied_asylum_seeking"],
    },
    "carers": [
        {
            "name": "Sara Khan",
            "relationship": "mother",
            "parental_responsibility": True,
            "address": None,
            "phone": "0113 496 0000",
            "email": None,
        }
    ],
    "services": [
        {
            "type": "school",
            "organisation": "Leeds Park Primary",
            "organisation_id": "URN:123456",
            "practitioner": {
                "name": "J Patel",
                "role": "Head teacher",
                "phone": "0113 496 0001",
                "email": None,
            },
            "start_date": "2019-09-01",
            "end_date": None,
            "lead_professional": False,
            "assessment": False,
            "sensitive": False,
            "consent_to_show": None,
        }
    ],
}


def line(**child_changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD_LINE)
    for key, value in child_changes.items():
        if key.startswith("_"):
            data[key[1:]] = value
        else:
            data["child"][key] = value
    return data


def dumps(*lines: dict[str, Any]) -> bytes:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in lines).encode("utf-8")

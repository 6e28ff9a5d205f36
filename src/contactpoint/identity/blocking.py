"""The blind-index keys under which a source record can be found."""

from __future__ import annotations

from contactpoint.domain.child import ChildDetails
from contactpoint.identity.normalise import compact_postcode, first_given_name, normalise_name
from contactpoint.vault.blind_index import IndexKind


def index_keys(child: ChildDetails) -> set[tuple[IndexKind, str]]:
    keys: set[tuple[IndexKind, str]] = {
        (IndexKind.DATE_OF_BIRTH, child.date_of_birth.isoformat()),
    }
    for family in (child.family_name, *child.former_family_names):
        normalised = normalise_name(family)
        if normalised:
            keys.add((IndexKind.FAMILY_NAME, normalised))
    given = first_given_name(child.given_names)
    if given:
        keys.add((IndexKind.GIVEN_NAME, given))
    if child.preferred_name:
        preferred = first_given_name(child.preferred_name)
        if preferred:
            keys.add((IndexKind.GIVEN_NAME, preferred))
    if child.nhs_number:
        keys.add((IndexKind.NHS_NUMBER, child.nhs_number))
    if child.upn:
        keys.add((IndexKind.UPN, child.upn))
    if child.address and child.address.postcode:
        keys.add((IndexKind.POSTCODE, compact_postcode(child.address.postcode)))
    return keys


def identifier_keys(child: ChildDetails) -> set[tuple[IndexKind, str]]:
    """The keys deterministic linking looks under: national identifiers only."""
    keys: set[tuple[IndexKind, str]] = set()
    if child.nhs_number:
        keys.add((IndexKind.NHS_NUMBER, child.nhs_number))
    if child.upn:
        keys.add((IndexKind.UPN, child.upn))
    return keys

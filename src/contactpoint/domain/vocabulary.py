"""The closed vocabularies of the feed contract (CONTRACT.md section 2).

Kept as enums so that a value outside the list is refused at the edge and every
layer below can rely on it.
"""

from __future__ import annotations

from enum import StrEnum


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Circumstance(StrEnum):
    """Circumstances that mark the children the children said would be missed."""

    UNACCOMPANIED_ASYLUM_SEEKING = "unaccompanied_asylum_seeking"
    MISSING = "missing"
    LOOKED_AFTER = "looked_after"
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    OVERSEAS_STUDENT = "overseas_student"
    TRAVELLER = "traveller"


class AddressStatus(StrEnum):
    """What the address means (the 2007 Regulations' choices for a child's address)."""

    CURRENT = "current"
    LAST_KNOWN = "last_known"
    NONE_KNOWN = "none_known"
    LEFT_ENGLAND = "left_england"
    """Left England, intending to return within three years; the address is the last one."""


class ServiceType(StrEnum):
    SCHOOL = "school"
    EARLY_YEARS = "early_years"
    GP = "gp"
    HEALTH_VISITOR = "health_visitor"
    SCHOOL_NURSE = "school_nurse"
    SOCIAL_CARE = "social_care"
    YOUTH_OFFENDING = "youth_offending"
    CONNEXIONS = "connexions"
    CAMHS = "camhs"
    SEXUAL_HEALTH = "sexual_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    OTHER = "other"


ALWAYS_SENSITIVE: frozenset[ServiceType] = frozenset(
    {ServiceType.CAMHS, ServiceType.SEXUAL_HEALTH, ServiceType.SUBSTANCE_MISUSE}
)
"""Services recorded only with the child's consent, whatever the feed's flag says."""


class FeedAction(StrEnum):
    UPSERT = "upsert"
    END = "end"


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    EMERGENCY = "emergency"
    LA_ADMIN = "la_admin"
    AUDITOR = "auditor"
    FEED = "feed"

"""Why a person is looking at a child's record: no reason, no answer.

Every look at a child — a search or a view — must say why, from a closed list
(so the audit log can be read, counted and challenged) plus optional free text
(so the reason can be specific). The list is documented in docs/access.md and
is deliberately short: a reason no practitioner recognises would be chosen at
random, and a random reason is worse than none for the person reading the log.

The free text is the practitioner's words and may name people, so it never
reaches the audit log or a log line as written: callers record only its length
or a keyed fingerprint of it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from contactpoint.errors import ContactPointError


class ReasonCode(StrEnum):
    """The purposes for which ContactPoint may be consulted (docs/access.md)."""

    CHILD_PROTECTION_ENQUIRY = "child_protection_enquiry"
    """Making or supporting enquiries under section 47 of the Children Act 1989."""
    ASSESSMENT = "assessment"
    """Carrying out or contributing to an assessment of the child's needs."""
    COORDINATING_SERVICES = "coordinating_services"
    """Finding the other practitioners involved to coordinate support."""
    EMERGENCY_CARE = "emergency_care"
    """Urgent care where the child's safety or health is at stake now."""
    EDUCATION_WELFARE = "education_welfare"
    """Attendance, a child missing education, or a school move."""
    HEALTH_CARE = "health_care"
    """Providing or arranging health care for the child."""
    YOUTH_JUSTICE = "youth_justice"
    """Work with the child by a youth offending team."""
    DATA_QUALITY = "data_quality"
    """Checking or correcting the record itself (local authority staff)."""


_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control and format characters, lone surrogates, line and paragraph separators."""

DETAIL_MAX_LENGTH = 200
"""Enough for a case reference or a sentence; short enough that nobody writes a case note."""


@dataclass(frozen=True, slots=True)
class AccessReason:
    code: ReasonCode
    detail: str
    """Free text, stripped; empty when none was given. Never audited as written."""


def _advice() -> str:
    codes = ", ".join(c.value for c in ReasonCode)
    return f"give one of: {codes} (see docs/access.md)"


def parse_reason(code: str | None, detail: str | None) -> AccessReason:
    """Check a reason as given at the edge; refuse with advice rather than guess.

    The code is matched after stripping and lowering case because it is typed by
    people and their tools; the detail is stripped, bounded, and refused if it
    holds control characters, which have no place in a sentence and could forge
    lines in whatever displays it.
    """
    if code is None or not code.strip():
        raise ContactPointError(f"A reason for access is required: {_advice()}.")
    normalised = code.strip().lower()
    try:
        reason_code = ReasonCode(normalised)
    except ValueError:
        raise ContactPointError(f"Unknown access reason code; {_advice()}.") from None
    text = (detail or "").strip()
    if len(text) > DETAIL_MAX_LENGTH:
        raise ContactPointError(
            f"The reason's free text is {len(text)} characters; "
            f"keep it to {DETAIL_MAX_LENGTH} (a case reference or one sentence)."
        )
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in text):
        raise ContactPointError(
            "The reason's free text contains control characters; use plain text on one line."
        )
    return AccessReason(code=reason_code, detail=text)


def parse_reason_header(value: str | None) -> AccessReason:
    """Read ``X-Access-Reason``: ``code`` or ``code: free text`` (docs/access.md).

    The first colon ends the code, so the free text may hold colons of its own.
    """
    if value is None:
        return parse_reason(None, None)
    code, _, detail = value.partition(":")
    return parse_reason(code, detail)

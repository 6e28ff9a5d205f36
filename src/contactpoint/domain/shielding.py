"""Whether a child is shielded, on whose decision, and how shields combine.

Regulation 6(5) lets the local authority restrict a child's record where
knowing their whereabouts raises the risk of significant harm. The failure to
avoid is a duplicate record that escaped its shield, so a shield follows the
child's identity: when records are joined the survivor is shielded if either
part was, and when records are split off the new child inherits the shield.

Two origins are kept apart because only one of them may be lifted without a
person deciding to: ``review`` is put on a provisional child by the matcher
while its record might belong to a shielded child, and ends with the review;
``local_authority`` is a person's decision and is only ever lifted by another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contactpoint.errors import ContactPointError


class ShieldOrigin(StrEnum):
    LOCAL_AUTHORITY = "local_authority"
    REVIEW = "review"


class ShieldReason(StrEnum):
    """Why the local authority shields a child: a closed list, recorded in the audit log."""

    RISK_OF_SIGNIFICANT_HARM = "risk_of_significant_harm"
    DOMESTIC_ABUSE_REFUGE = "domestic_abuse_refuge"
    COURT_ORDER = "court_order"
    POLICE_REQUEST = "police_request"
    ADOPTION_PLACEMENT = "adoption_placement"


class UnshieldReason(StrEnum):
    """Why the local authority lifts a shield: a closed list, recorded in the audit log."""

    RISK_ENDED = "risk_ended"
    COURT_ORDER_ENDED = "court_order_ended"
    APPLIED_IN_ERROR = "applied_in_error"


@dataclass(frozen=True, slots=True)
class Shield:
    shielded: bool
    origin: ShieldOrigin | None

    @classmethod
    def of(cls, shielded: bool, origin: str | None) -> Shield:
        """Read a stored pair; a shield with no recorded origin predates origins and
        is taken as the local authority's, so it is never lifted automatically."""
        if not shielded:
            return NOT_SHIELDED
        return cls(True, ShieldOrigin(origin) if origin else ShieldOrigin.LOCAL_AUTHORITY)


NOT_SHIELDED = Shield(False, None)
BY_LOCAL_AUTHORITY = Shield(True, ShieldOrigin.LOCAL_AUTHORITY)
BY_REVIEW = Shield(True, ShieldOrigin.REVIEW)


def combine(*shields: Shield) -> Shield:
    """Shielded if any part is; a local-authority decision outranks a review shield."""
    origins = {s.origin for s in shields if s.shielded}
    if ShieldOrigin.LOCAL_AUTHORITY in origins:
        return BY_LOCAL_AUTHORITY
    if ShieldOrigin.REVIEW in origins:
        return BY_REVIEW
    return NOT_SHIELDED


def after_accept(target: Shield, provisional: Shield, review_pending: bool) -> Shield:
    """The target keeps its shield and gains a local-authority one from the provisional
    child; the provisional child's review shield has done its work and is not carried,
    unless another open item now on the target still has a shielded candidate."""
    carried = provisional if provisional.origin is ShieldOrigin.LOCAL_AUTHORITY else NOT_SHIELDED
    return combine(target, carried, BY_REVIEW if review_pending else NOT_SHIELDED)


def after_review_closed(current: Shield, review_pending: bool) -> Shield:
    """A review shield ends with its last open item that has a shielded candidate;
    a local-authority shield never ends this way."""
    if current.origin is ShieldOrigin.REVIEW and not review_pending:
        return NOT_SHIELDED
    return current


def after_shield(current: Shield) -> Shield:
    if current.origin is ShieldOrigin.LOCAL_AUTHORITY:
        raise ContactPointError(
            "This child is already shielded by the local authority: nothing to do."
        )
    return BY_LOCAL_AUTHORITY


def after_unshield(current: Shield, review_pending: bool) -> Shield:
    """Lifting a shield leaves a review shield where one is still owed, so an unshield
    cannot expose a possible duplicate of a shielded child. A review shield with no
    open item left to justify it (one carried by a merge, say) may be lifted."""
    if not current.shielded:
        raise ContactPointError("This child is not shielded: nothing to do.")
    if not review_pending:
        return NOT_SHIELDED
    if current.origin is ShieldOrigin.REVIEW:
        raise ContactPointError(
            "This child is shielded while a review item about it has a shielded candidate: "
            "resolve the item with 'contactpoint review accept' or 'reject' instead."
        )
    return BY_REVIEW


def parse_reason(value: str, allowed: type[ShieldReason] | type[UnshieldReason]) -> str:
    """The reason code, or an error listing the codes there are."""
    try:
        return allowed(value.strip().lower()).value
    except ValueError:
        codes = ", ".join(r.value for r in allowed)
        raise ContactPointError(f"Give a reason code, one of: {codes}.") from None

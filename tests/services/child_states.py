"""A child in each state the view policy knows, placed in the test database.

Used by the service and the API tests of the child view; the expected kind of
view for every role and state is the domain test's matrix, so all three layers
are held to one table.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import Clock
from contactpoint.domain.views import Denial, ViewKind
from contactpoint.services import shielding
from contactpoint.vault.envelope import Vault
from tests.domain.test_views import (
    CAMHS_CONSENTED,
    EXPECTED_FIELDS,
    EXPECTED_KIND,
    FLAGGED_OTHER,
    MOTHER,
    NEIGHBOUR,
    SCHOOL,
    SEXUAL_HEALTH_NO_CONSENT,
    SOCIAL_CARE,
    STATES,
)
from tests.services.placement import add_child, add_record, details

__all__ = ["EXPECTED_FIELDS", "EXPECTED_KIND", "STATES", "outcome_of", "place_child"]

DENIED_TEXT = (
    "Headingley",
    "K Lowe",
    "0113 496 0300",
    "Young Carers",
    "sexual_health",
)
"""What a non-consented sensitive service would show; no view but the LA's may hold it."""

SHIELDED_DENIED_TEXT = (
    "High Street",
    "LS1 4AB",
    "Smith",
    "Millie",
    "9434765919",
    "0113 496 0000",
    "Pat Green",
    "Dee Okafor",
    "Leeds Park Primary",
)
"""What a shielded child's view must not show: address, contacts, services, other names."""


def place_child(
    sessions: sessionmaker[Session],
    *,
    vault: Vault,
    clock: Clock,
    audit_key: bytes,
    actor: Actor,
    state: str,
) -> str:
    """One child in ``state``, held by one local-authority record, shielded by ``actor``
    (an la_admin or an operator) if the state says so."""
    today = clock.today()
    born = today.replace(year=today.year - 18) if state == "archived" else date(2014, 3, 7)
    services = (SOCIAL_CARE, SCHOOL)
    if state == "sensitive_consented":
        services += (CAMHS_CONSENTED,)
    if state == "sensitive_not_consented":
        services += (SEXUAL_HEALTH_NO_CONSENT, FLAGGED_OTHER)
    with sessions.begin() as session:
        child_id = add_child(session, clock.now())
        add_record(
            session,
            vault,
            child_id,
            clock.now(),
            source="local-authority",
            child=details(
                family_name="Khan",
                date_of_birth=born,
                former_family_names=("Smith",),
                preferred_name="Millie",
                upn="A123456789012",
            ),
            carers=(MOTHER, NEIGHBOUR),
            services=services,
        )
    if state == "shielded":
        with sessions.begin() as session:
            shielding.shield(
                session,
                clock=clock,
                audit_key=audit_key,
                actor=actor,
                child_id=child_id,
                reason_code="risk_of_significant_harm",
            )
    return child_id


def outcome_of(expected: ViewKind | Denial, state: str) -> str:
    """The audit outcome a view of a child in ``state`` records."""
    if isinstance(expected, Denial):
        return expected.value
    if state == "shielded" and expected is not ViewKind.FULL:
        return "shielded_view"
    return "shown"

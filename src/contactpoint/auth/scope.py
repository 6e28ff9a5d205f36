"""Whose account an area's administrator may disable, add, or give a new second factor.

An ``la_admin`` answers for one area. Users tied to another area are that
area's business; users tied to none (most practitioners today) may be
disabled by any area's administrator, because stopping a misused account
quickly matters more than whose it is, and every disable is audited. An
administrator with no area on record gets no wider reach than that.

Adding and resetting give access rather than take it away, so they are
narrower: only the administrator's own area (docs/access.md, "Managing users").
"""

from __future__ import annotations

from typing import Final

from contactpoint.domain.vocabulary import Role

ROLES_AN_ADMINISTRATOR_ADDS: Final[frozenset[Role]] = frozenset(
    {Role.PRACTITIONER, Role.EMERGENCY, Role.LA_ADMIN}
)
"""Auditors watch administrators, so an administrator may not make one; a feed account
writes records about any child in England. Both are an operator's, at the command line."""


def may_disable(admin_area: str | None, target_area: str | None) -> bool:
    return target_area is None or (admin_area is not None and admin_area == target_area)


def may_add(admin_area: str | None, role: Role) -> bool:
    """The new account's area is always the administrator's own, so an administrator
    with no area adds nobody; and only the roles above."""
    return bool(admin_area and admin_area.strip()) and role in ROLES_AN_ADMINISTRATOR_ADDS


def may_reset_second_factor(admin_area: str | None, target_area: str | None) -> bool:
    """Stricter than disabling: the administrator sees the new secret, so only accounts
    of their own area, never an unattached one."""
    return bool(admin_area and admin_area.strip()) and admin_area == target_area

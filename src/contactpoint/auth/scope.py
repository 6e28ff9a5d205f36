"""Whose account an area's administrator may disable.

An ``la_admin`` answers for one area. Users tied to another area are that
area's business; users tied to none (most practitioners today) may be
disabled by any area's administrator, because stopping a misused account
quickly matters more than whose it is, and every disable is audited. An
administrator with no area on record gets no wider reach than that.
"""

from __future__ import annotations


def may_disable(admin_area: str | None, target_area: str | None) -> bool:
    return target_area is None or (admin_area is not None and admin_area == target_area)

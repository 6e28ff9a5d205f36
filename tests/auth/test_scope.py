"""Which accounts an area's administrator may disable, add, or reset."""

from __future__ import annotations

from contactpoint.auth.scope import may_add, may_disable, may_reset_second_factor
from contactpoint.domain.vocabulary import Role


def test_own_area_and_unattached_users_only() -> None:
    assert may_disable("Leeds", "Leeds")
    assert may_disable("Leeds", None)
    assert not may_disable("Leeds", "Bristol")


def test_an_administrator_without_an_area_reaches_only_unattached_users() -> None:
    assert may_disable(None, None)
    assert not may_disable(None, "Leeds")


def test_an_administrator_adds_only_ordinary_roles_and_only_with_an_area() -> None:
    assert may_add("Leeds", Role.PRACTITIONER)
    assert may_add("Leeds", Role.EMERGENCY)
    assert may_add("Leeds", Role.LA_ADMIN)
    assert not may_add("Leeds", Role.AUDITOR)
    assert not may_add("Leeds", Role.FEED)
    assert not may_add(None, Role.PRACTITIONER)
    assert not may_add("  ", Role.PRACTITIONER)


def test_a_second_factor_is_reset_only_within_the_administrators_own_area() -> None:
    assert may_reset_second_factor("Leeds", "Leeds")
    assert not may_reset_second_factor("Leeds", "Bristol")
    assert not may_reset_second_factor("Leeds", None)
    assert not may_reset_second_factor(None, None)

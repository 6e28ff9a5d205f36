"""Which accounts an area's administrator may disable."""

from __future__ import annotations

from contactpoint.auth.scope import may_disable


def test_own_area_and_unattached_users_only() -> None:
    assert may_disable("Leeds", "Leeds")
    assert may_disable("Leeds", None)
    assert not may_disable("Leeds", "Bristol")


def test_an_administrator_without_an_area_reaches_only_unattached_users() -> None:
    assert may_disable(None, None)
    assert not may_disable(None, "Leeds")

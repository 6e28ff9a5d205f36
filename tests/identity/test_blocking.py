"""Blocking keys: one error in any field leaves a key in common, and no key spans every age."""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.identity.blocking import blocking_keys, name_pair_in_years
from contactpoint.identity.features import MatchFeatures
from contactpoint.vault.blind_index import RETIRED_KINDS, TOKEN_BITS, IndexKind
from tests.identity.records import features

ELSEWHERE = "M1 1AA"


def shared(a: MatchFeatures, b: MatchFeatures) -> set[IndexKind]:
    return {kind for kind, _ in blocking_keys(a) & blocking_keys(b)}


@pytest.mark.parametrize(
    "wrong_birth",
    [date(2014, 3, 8), date(2014, 4, 7), date(2013, 3, 7), date(2015, 3, 7), date(2014, 7, 3)],
)
def test_a_wrong_date_of_birth_and_a_move_still_share_a_name_pair_key(wrong_birth: date) -> None:
    original = features()
    later = features(date_of_birth=wrong_birth, postcode=ELSEWHERE)
    assert shared(original, later) & {IndexKind.NAME_PAIR_YEAR, IndexKind.NAME_PAIR_DAY}


def test_swapped_names_share_the_name_pair_keys() -> None:
    original = features(given_names="Amelia", family_name="Khan")
    swapped = features(given_names="Khan", family_name="Amelia", postcode=ELSEWHERE)
    assert {IndexKind.NAME_PAIR_YEAR, IndexKind.NAME_PAIR_DAY} <= shared(original, swapped)


def test_children_of_the_same_names_in_other_years_share_no_key() -> None:
    """A common pair of names is in every year group: its block must not hold them all."""
    child = features(given_names="Oliver", family_name="Smith")
    for other_birth in (date(2010, 1, 2), date(2012, 5, 30), date(2019, 11, 11)):
        other = features(
            given_names="Oliver", family_name="Smith", date_of_birth=other_birth, postcode=None
        )
        assert shared(child, other) == set(), other_birth


def test_only_live_kinds_are_made_and_each_has_its_token_size() -> None:
    kinds = {kind for kind, _ in blocking_keys(features(nhs_number="9434765919"))}
    assert not kinds & RETIRED_KINDS
    assert all(kind in TOKEN_BITS for kind in kinds)


def test_a_query_without_a_birth_date_reaches_the_pair_in_every_year() -> None:
    child = features(given_names="Oliver", family_name="Smith")
    query = features(given_names="Smith", family_name="Oliver", date_of_birth=date(1900, 1, 1))
    keys = name_pair_in_years(query, range(2000, 2027))
    assert keys & blocking_keys(child)
    assert {kind for kind, _ in keys} == {IndexKind.NAME_PAIR_YEAR}
    assert name_pair_in_years(features(given_names="", family_name="Smith"), range(2014, 2015)) == (
        set()
    )

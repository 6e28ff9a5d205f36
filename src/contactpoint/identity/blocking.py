"""The blocking keys under which a record is indexed and its candidates found.

Each key combines fields, so that a candidate set stays small at national
scale, and the combined kinds overlap, so that one error in any field
(a nickname, a new surname, a transposed date, a house move, swapped names)
still leaves at least one key in common with the true child. In the database
each key is only ever present as a truncated keyed token
(:mod:`contactpoint.vault.blind_index`); in memory (the bulk load) the key
itself is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from contactpoint.identity.features import MatchFeatures
from contactpoint.vault.blind_index import IndexKind

BlockingKey = tuple[IndexKind, str]


def birth_key(born: date) -> str:
    """The date of birth with day and month in either order, so a transposed
    date (12/10 for 10/12) falls in the same block as the true one."""
    low, high = sorted((born.month, born.day))
    return f"{born.year}-{low:02d}-{high:02d}"


def name_pair(record: MatchFeatures) -> str | None:
    """First given name and family name in either order (so swapped names agree)."""
    if record.first and record.family:
        return "|".join(sorted((record.first, record.family)))
    return None


def name_pair_in_years(record: MatchFeatures, years: Iterable[int]) -> set[BlockingKey]:
    """The name pair's keys for each of these years of birth: for a query that gives
    no date of birth, every block the pair is filed in."""
    pair = name_pair(record)
    if pair is None:
        return set()
    return {(IndexKind.NAME_PAIR_YEAR, f"{pair}|{year}") for year in years}


def blocking_keys(record: MatchFeatures) -> set[BlockingKey]:
    """The record's keys. The name pair (first and family name, in either order) is
    the only key a wrong date of birth leaves, so it is kept twice: with the year of
    birth, and with the day and month. A date one day or one year out still shares
    one of them, while neither block holds every child of a common pair of names."""
    born = birth_key(record.date_of_birth)
    keys: set[BlockingKey] = set()
    for family in (record.family, *record.former):
        if family:
            keys.add((IndexKind.FAMILY_DOB, f"{family}|{born}"))
    for given in (record.first, record.preferred):
        if given:
            keys.add((IndexKind.GIVEN_DOB, f"{given}|{born}"))
    pair = name_pair(record)
    if pair:
        year, _, day = born.partition("-")
        keys.add((IndexKind.NAME_PAIR_YEAR, f"{pair}|{year}"))
        keys.add((IndexKind.NAME_PAIR_DAY, f"{pair}|{day}"))
    if record.postcode:
        keys.add((IndexKind.POSTCODE_DOB, f"{record.postcode}|{born}"))
    if record.nhs_number:
        keys.add((IndexKind.NHS_NUMBER, record.nhs_number))
    if record.upn:
        keys.add((IndexKind.UPN, record.upn))
    return keys

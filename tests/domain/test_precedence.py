from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contactpoint.domain.child import Address, ChildDetails, Provenance
from contactpoint.domain.precedence import Statement, combine
from contactpoint.domain.vocabulary import Circumstance, Gender


def statement(source: str, day: int, **changes: object) -> Statement:
    base = {
        "given_names": "Amelia",
        "family_name": "Khan",
        "date_of_birth": date(2014, 3, 7),
        "gender": Gender.FEMALE,
    }
    base.update(changes)
    return Statement(
        provenance=Provenance(source, f"{source}-1", datetime(2026, 1, day, tzinfo=UTC)),
        child=ChildDetails(**base),  # type: ignore[arg-type]
        carers=(),
        services=(),
    )


def test_newest_value_wins_and_older_disagreement_is_kept() -> None:
    old = statement("child-benefit", 1, address=Address(("1 Old Rd",), "Leeds", "LS1 4AB"))
    new = statement("school-census", 5, address=Address(("9 New St",), "Leeds", "LS2 7AB"))
    record = combine("X", [old, new])
    assert record.address is not None
    assert record.address.value.lines == ("9 New St",)
    assert record.address.provenance.source == "school-census"
    assert [a.provenance.source for a in record.alternatives["address"]] == ["child-benefit"]


def test_a_source_that_says_nothing_does_not_erase_another() -> None:
    with_nhs = statement("nhs-pds", 1, nhs_number="9434765919")
    without = statement("school-census", 9)
    record = combine("X", [with_nhs, without])
    assert record.nhs_number is not None
    assert record.nhs_number.value == "9434765919"
    assert "nhs_number" not in record.alternatives


def test_circumstances_from_every_source_are_kept() -> None:
    a = statement("local-authority", 1, circumstances=frozenset({Circumstance.LOOKED_AFTER}))
    b = statement("nhs-pds", 2)
    assert combine("X", [a, b]).circumstances == {Circumstance.LOOKED_AFTER}


def test_no_statements_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        combine("X", [])

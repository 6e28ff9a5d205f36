"""No reason, no answer: the reason list and its free text, checked at the edge."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.domain.reasons import (
    DETAIL_MAX_LENGTH,
    AccessReason,
    ReasonCode,
    parse_reason,
    parse_reason_header,
)
from contactpoint.errors import ContactPointError


def test_the_list_is_fixed_and_documented() -> None:
    assert {c.value for c in ReasonCode} == {
        "child_protection_enquiry",
        "assessment",
        "coordinating_services",
        "emergency_care",
        "education_welfare",
        "health_care",
        "youth_justice",
        "data_quality",
    }
    text = (Path(__file__).parents[2] / "docs" / "access.md").read_text(encoding="utf-8")
    for code in ReasonCode:
        assert f"`{code.value}`" in text


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_code_parses(code: ReasonCode) -> None:
    assert parse_reason(code.value, None) == AccessReason(code, "")


def test_the_code_is_read_as_people_type_it_and_the_text_is_stripped() -> None:
    assert parse_reason("  Assessment ", "  EHCP review, ref 2291  ") == AccessReason(
        ReasonCode.ASSESSMENT, "EHCP review, ref 2291"
    )


@pytest.mark.parametrize("code", [None, "", "   "])
def test_no_reason_no_answer(code: str | None) -> None:
    with pytest.raises(ContactPointError, match="reason for access is required") as caught:
        parse_reason(code, "looking")
    for listed in ReasonCode:
        assert listed.value in str(caught.value)


@pytest.mark.parametrize("code", ["curiosity", "testing", "child protection enquiry", "*"])
def test_an_unknown_code_is_refused_with_the_list_and_not_echoed(code: str) -> None:
    with pytest.raises(ContactPointError, match="Unknown access reason code") as caught:
        parse_reason(code, None)
    assert "data_quality" in str(caught.value)
    assert code not in str(caught.value)


def test_the_free_text_is_bounded() -> None:
    assert parse_reason("assessment", "x" * DETAIL_MAX_LENGTH).detail == "x" * DETAIL_MAX_LENGTH
    with pytest.raises(ContactPointError, match=str(DETAIL_MAX_LENGTH)):
        parse_reason("assessment", "x" * (DETAIL_MAX_LENGTH + 1))


@pytest.mark.parametrize(
    "detail",
    ["two\nlines", "nul\x00", "bell\x07", "bidi\u202eoverride", "sep\u2028arator", "\ud800"],
)
def test_control_characters_are_refused(detail: str) -> None:
    with pytest.raises(ContactPointError, match="control characters"):
        parse_reason("assessment", detail)


def test_unicode_text_is_kept() -> None:
    assert parse_reason("health_care", "Zoë's GP, réf 12").detail == "Zoë's GP, réf 12"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("assessment", AccessReason(ReasonCode.ASSESSMENT, "")),
        ("assessment:", AccessReason(ReasonCode.ASSESSMENT, "")),
        (
            "child_protection_enquiry: s47 ref: 2291",
            AccessReason(ReasonCode.CHILD_PROTECTION_ENQUIRY, "s47 ref: 2291"),
        ),
        (
            " EMERGENCY_CARE :arrived by ambulance",
            AccessReason(ReasonCode.EMERGENCY_CARE, "arrived by ambulance"),
        ),
    ],
)
def test_the_header_is_code_then_free_text(header: str, expected: AccessReason) -> None:
    assert parse_reason_header(header) == expected


@pytest.mark.parametrize("header", [None, "", ": just text", "because: I wanted to"])
def test_a_header_without_a_code_is_refused(header: str | None) -> None:
    with pytest.raises(ContactPointError):
        parse_reason_header(header)


@given(st.text(max_size=250))
def test_any_free_text_is_either_clean_or_refused_with_advice(detail: str) -> None:
    try:
        reason = parse_reason("assessment", detail)
    except ContactPointError:
        return
    assert reason.detail == reason.detail.strip()
    assert len(reason.detail) <= DETAIL_MAX_LENGTH
    assert not any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in reason.detail
    )

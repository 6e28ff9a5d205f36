from __future__ import annotations

import io
import json
import pickle
from datetime import date
from pathlib import Path

import pytest

from contactpoint.feeds.reader import (
    MAX_LINE_BYTES,
    FeedFileError,
    ParsedLine,
    Rejection,
    open_feed,
    parse_stream,
    read_lines,
)
from tests.feeds.lines import GOOD_LINE, dumps, line

TODAY = date(2026, 11, 24)


def parse(data: bytes) -> list[ParsedLine | Rejection]:
    return list(parse_stream(io.BytesIO(data), TODAY))


def only_rejection(data: bytes) -> str:
    (result,) = parse(data)
    assert isinstance(result, Rejection), result
    return result.reason


def test_the_contract_example_is_accepted_and_normalised() -> None:
    (result,) = parse(
        dumps(line(nhs_number="943 476 5919", address={"lines": [], "postcode": "ls14ab"}))
    )
    assert isinstance(result, ParsedLine)
    assert result.line.child is not None
    assert result.line.child.nhs_number == "9434765919"
    assert result.line.child.address is not None
    assert result.line.child.address.postcode == "LS1 4AB"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"nhs_number": "9434765918"}, "not a valid NHS number"),
        ({"date_of_birth": "2099-01-01"}, "in the future"),
        ({"date_of_birth": "07/03/2014"}, "child.date_of_birth"),
        ({"date_of_birth": 20140307}, "child.date_of_birth"),
        ({"gender": "f"}, "'female', 'male', 'other' or 'unknown'"),
        ({"family_name": 42}, "child.family_name"),
        ({"family_name": ""}, "child.family_name"),
        ({"given_names": "Amy\nRose"}, "control characters"),
        ({"address": {"lines": [], "postcode": "NOT A CODE"}}, "UK postcode"),
        ({"upn": "12"}, "Unique Pupil Number"),
        ({"circumstances": ["rich"]}, "child.circumstances"),
        ({"nickname": "Millie"}, "'child.nickname' is not a field ContactPoint holds"),
        ({"_extra": 1}, "'extra' is not a field"),
        ({"photo": "base64..."}, "photograph"),
        ({"phone": "07700 900000"}, "telephone number"),
        ({"mobile": "07700 900000"}, "telephone number"),
        ({"_source_record_id": ""}, "source_record_id"),
    ],
)
def test_bad_lines_are_rejected_with_a_reason(changes: dict[str, object], expected: str) -> None:
    reason = only_rejection(dumps(line(**changes)))
    assert expected in reason


def test_reasons_never_repeat_personal_values() -> None:
    reason = only_rejection(dumps(line(nhs_number="9434765918", given_names="Zebedee\t")))
    assert "9434765918" not in reason
    assert "Zebedee" not in reason


def test_photo_reason_comes_first_among_several_problems() -> None:
    reason = only_rejection(dumps(line(photo="x", gender="f")))
    assert reason.startswith("'child.photo' is the child's photograph")


def test_malformed_json() -> None:
    assert "not valid JSON" in only_rejection(b'{"source_record_id": "A", \n')


def test_truncated_last_line_is_called_truncated() -> None:
    whole = dumps(GOOD_LINE)
    results = parse(whole + whole[: len(whole) // 2])
    assert isinstance(results[0], ParsedLine)
    assert isinstance(results[1], Rejection)
    assert "truncated" in results[1].reason


def test_a_complete_last_line_without_newline_is_fine() -> None:
    (result,) = parse(dumps(GOOD_LINE).rstrip(b"\n"))
    assert isinstance(result, ParsedLine)


def test_ten_megabyte_line_is_rejected_without_stopping_the_file() -> None:
    huge = b'{"source_record_id": "' + b"x" * (10 * 1024 * 1024) + b'"}\n'
    results = parse(dumps(GOOD_LINE) + huge + dumps(GOOD_LINE))
    assert [type(r) for r in results] == [ParsedLine, Rejection, ParsedLine]
    assert f"{MAX_LINE_BYTES:,}" in results[1].reason  # type: ignore[union-attr]
    assert [r.line_number for r in results] == [1, 2, 3]


def test_json_that_is_not_an_object() -> None:
    assert "not a JSON object" in only_rejection(b"[1, 2, 3]\n")


def test_upsert_needs_a_child_but_end_does_not() -> None:
    assert "needs a 'child'" in only_rejection(dumps({"source_record_id": "A"}))
    (end,) = parse(dumps({"source_record_id": "A", "action": "end"}))
    assert isinstance(end, ParsedLine)


def test_blank_lines_are_skipped_and_numbering_kept() -> None:
    results = parse(b"\n" + dumps(GOOD_LINE) + b"   \n" + b"{bad\n")
    assert [r.line_number for r in results] == [2, 4]


def test_non_latin_and_sql_looking_names_pass_intact() -> None:
    names = {"given_names": "Robert'); DROP TABLE children;--", "family_name": "Ó Súilleabháin-李"}
    (result,) = parse(dumps(line(**names)))
    assert isinstance(result, ParsedLine)
    assert result.line.child is not None
    assert result.line.child.given_names == names["given_names"]
    assert result.line.child.family_name == names["family_name"]


def test_empty_file_gives_nothing() -> None:
    assert parse(b"") == []


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FeedFileError, match="No feed file"):
        open_feed(tmp_path / "missing.jsonl")
    with pytest.raises(FeedFileError, match="not a file"):
        open_feed(tmp_path)


def test_service_dates_and_end_before_start() -> None:
    bad = line()
    bad["services"][0]["end_date"] = "2018-01-01"
    assert "end_date before its start_date" in only_rejection(dumps(bad))
    json.dumps(bad)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"address_status": "none_known"}, "address_status 'none_known'"),
        ({"address_status": "last_known", "address": None}, "no address"),
        ({"address_status": "somewhere"}, "child.address_status"),
    ],
)
def test_contradictory_address_status_is_rejected(
    changes: dict[str, object], expected: str
) -> None:
    assert expected in only_rejection(dumps(line(**changes)))


@pytest.mark.parametrize("status", ["current", "last_known", "left_england"])
def test_address_status_with_an_address_is_accepted(status: str) -> None:
    (result,) = parse(dumps(line(address_status=status)))
    assert isinstance(result, ParsedLine)


def test_a_byte_order_mark_at_the_start_is_ignored() -> None:
    (result,) = parse(b"\xef\xbb\xbf" + dumps(GOOD_LINE))
    assert isinstance(result, ParsedLine)


def test_raw_lines_cross_to_a_helper_process_whole() -> None:
    lines = list(read_lines(io.BytesIO(b"first\n\nlast without a newline")))
    copies = pickle.loads(pickle.dumps(lines))  # noqa: S301 - our own bytes, just made
    assert copies == lines
    assert [(c.number, c.content, c.size, c.ended) for c in copies] == [
        (1, b"first\n", 6, True),
        (2, b"\n", 1, True),
        (3, b"last without a newline", 22, False),
    ]

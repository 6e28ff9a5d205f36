"""Reading a feed file line by line into validated lines or reasoned rejections.

The file is read in binary and in bounded pieces, so an absurd line (10 MB of
garbage, a file that is not JSON Lines at all) costs a rejection, not the memory
of the process. Rejection reasons name the field and say what to do; they never
repeat the value, because the value may be personal data and reports get shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contactpoint.feeds.schema import FORBIDDEN_CHILD_KEYS, FeedLine

MAX_LINE_BYTES = 256 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    line_number: int
    line: FeedLine
    raw: bytes


@dataclass(frozen=True, slots=True)
class Rejection:
    line_number: int
    reason: str


class FeedFileError(Exception):
    """The file as a whole cannot be processed (missing, unreadable, not a file)."""


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(part)
    return "".join(parts)


def _forbidden_child_key(error: ErrorDetails) -> tuple[str, str] | None:
    loc = error["loc"]
    if error["type"] == "extra_forbidden" and len(loc) == 2 and loc[0] == "child":
        key = str(loc[1])
        what = FORBIDDEN_CHILD_KEYS.get(key.lower())
        if what is not None:
            return key, what
    return None


def _describe(error: ErrorDetails) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
    where = _location(loc)
    kind = error["type"]
    forbidden = _forbidden_child_key(error)
    if forbidden is not None:
        key, what = forbidden
        return (
            f"'child.{key}' is the child's {what}: ContactPoint never holds a child's "
            f"photograph or telephone number, so remove the '{key}' key"
        )
    if kind == "extra_forbidden":
        return (
            f"'{where}' is not a field ContactPoint holds: remove it "
            "(unknown keys are refused so nothing unnamed is stored)"
        )
    if kind == "missing":
        return f"'{where}' is required but missing"
    message = error["msg"]
    if kind in {"value_error", "assertion_error"}:
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return f"'{where}' {message}" if where else message
    return f"'{where}': {message}" if where else message


def describe_validation_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if errors and errors[0]["type"] == "json_invalid":
        return "is not valid JSON: each line must be one complete JSON object"
    if errors and errors[0]["type"] == "model_type":
        return "is not a JSON object: each line must be one JSON object"
    errors.sort(key=lambda e: _forbidden_child_key(e) is None)
    described = [_describe(e) for e in errors[:3]]
    more = f" (and {len(errors) - 3} more problems)" if len(errors) > 3 else ""
    return "; ".join(described) + more


@dataclass(frozen=True, slots=True)
class RawLine:
    """One line as read, not yet parsed: reading is cheap and must stay in order,
    parsing is the costly part and may run in another process (ingest's helper)."""

    number: int
    content: bytes | None
    """``None`` when the line is over ``MAX_LINE_BYTES`` (it was skipped, not kept)."""
    size: int
    ended: bool
    """The line ended with a newline (a last line without one may be a truncated file)."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its four values: the reading process sends every line to a helper,
        and the dataclass's own pickling took it twice as long."""
        return RawLine, (self.number, self.content, self.size, self.ended)


def read_lines(stream: BinaryIO) -> Iterator[RawLine]:
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
        if number == 1 and chunk.startswith(_BOM):
            chunk = chunk[len(_BOM) :]
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            size = len(chunk)
            ended = False
            while True:
                more = stream.readline(1024 * 1024)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    ended = bool(more)
                    break
            yield RawLine(number, None, size, ended)
            continue
        yield RawLine(number, chunk, len(chunk), chunk.endswith(b"\n"))


def parse_line(raw: RawLine, today: date) -> ParsedLine | Rejection | None:
    """A validated line, a reasoned rejection, or ``None`` for a blank line."""
    if raw.content is None:
        return Rejection(
            raw.number,
            f"is {raw.size:,} bytes, over the limit of {MAX_LINE_BYTES:,}: "
            "a feed line holds one child, so check the file is JSON Lines",
        )
    if not raw.content.strip():
        return None
    try:
        line = FeedLine.model_validate_json(raw.content, context={"today": today})
    except ValidationError as exc:
        reason = describe_validation_error(exc)
        if not raw.ended and reason.startswith("is not valid JSON"):
            reason = "is not valid JSON and has no line ending: the file looks truncated"
        return Rejection(raw.number, reason)
    return ParsedLine(raw.number, line, raw.content.rstrip(b"\r\n"))


def parse_stream(stream: BinaryIO, today: date) -> Iterator[ParsedLine | Rejection]:
    for raw in read_lines(stream):
        parsed = parse_line(raw, today)
        if parsed is not None:
            yield parsed


def open_feed(path: Path) -> BinaryIO:
    if not path.exists():
        raise FeedFileError(f"No feed file at {path}: check the path and try again.")
    if not path.is_file():
        raise FeedFileError(f"{path} is not a file: give the path of one JSON Lines feed file.")
    try:
        return path.open("rb")
    except OSError as exc:
        raise FeedFileError(f"Cannot read {path} ({exc.strerror}): check its permissions.") from exc

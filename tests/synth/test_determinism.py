"""Same inputs, same bytes; different seed, different data; the split of work is invisible."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from contactpoint.synth import write_synthetic_feeds
from contactpoint.synth.population import BLOCK_CHILDREN
from contactpoint.synth.rates import SOURCES

FILES = [f"{s}.jsonl" for s in SOURCES] + ["truth.csv", "people.jsonl", "noise.csv"]


def _bytes(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = write_synthetic_feeds(tmp_path / "a", 3000, seed=11, as_of=date(2024, 2, 29))
    second = write_synthetic_feeds(tmp_path / "b", 3000, seed=11, as_of=date(2024, 2, 29))
    assert first.lines == second.lines
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    write_synthetic_feeds(tmp_path / "a", 2000, seed=1, as_of=date(2025, 1, 15))
    write_synthetic_feeds(tmp_path / "b", 2000, seed=2, as_of=date(2025, 1, 15))
    a, b = _bytes(tmp_path / "a"), _bytes(tmp_path / "b")
    assert all(a[name] != b[name] for name in FILES)


def test_as_of_moves_the_whole_population(tmp_path: Path) -> None:
    write_synthetic_feeds(tmp_path / "a", 500, seed=1, as_of=date(2025, 1, 15))
    write_synthetic_feeds(tmp_path / "b", 500, seed=1, as_of=date(2026, 1, 15))
    assert _bytes(tmp_path / "a")["people.jsonl"] != _bytes(tmp_path / "b")["people.jsonl"]


def test_two_processes_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    children = BLOCK_CHILDREN + 1500  # two blocks, so the second process has one to make
    seen: list[int] = []
    one = write_synthetic_feeds(
        tmp_path / "one", children, seed=5, as_of=date(2025, 6, 1), workers=1
    )
    two = write_synthetic_feeds(
        tmp_path / "two", children, seed=5, as_of=date(2025, 6, 1), workers=2, progress=seen.append
    )
    assert one.lines == two.lines
    assert _bytes(tmp_path / "one") == _bytes(tmp_path / "two")
    assert seen[-1] == children
    assert not list((tmp_path / "two").glob(".*"))


def test_progress_is_reported_as_children_are_generated(tmp_path: Path) -> None:
    seen: list[int] = []
    summary = write_synthetic_feeds(
        tmp_path, 4321, seed=3, as_of=date(2025, 6, 1), progress=seen.append
    )
    assert seen == sorted(seen)
    assert seen[-1] == summary.children == 4321
    assert len(seen) >= 4
    assert all(b - a <= 1010 for a, b in zip([0, *seen], seen, strict=False))


def test_exact_number_of_children_and_empty_population(tmp_path: Path) -> None:
    for n in (0, 1, 7):
        summary = write_synthetic_feeds(tmp_path / str(n), n, seed=9, as_of=date(2025, 6, 1))
        people = (tmp_path / str(n) / "people.jsonl").read_text(encoding="utf-8").splitlines()
        assert summary.children == len(people) == n
    with pytest.raises(ValueError, match="zero or more"):
        write_synthetic_feeds(tmp_path / "bad", -1)
    with pytest.raises(ValueError, match="workers"):
        write_synthetic_feeds(tmp_path / "bad", 10, workers=3)


def test_default_reference_day_is_today(tmp_path: Path) -> None:
    write_synthetic_feeds(tmp_path, 200, seed=1)
    text = (tmp_path / "people.jsonl").read_text(encoding="utf-8")
    assert (
        max(text.split('"date_of_birth":"')[i][:10] for i in range(1, 201))
        <= date.today().isoformat()  # noqa: DTZ011 - the default is today
    )

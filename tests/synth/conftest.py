"""One synthetic England of 20,000 children, generated once and read back for every test.

The tests read the files as a consumer would (JSON Lines, CSV), never the
generator's objects, so they check what was written rather than what was meant.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contactpoint.synth import SynthSummary, write_synthetic_feeds
from contactpoint.synth.rates import SOURCES

AS_OF = date(2025, 6, 1)
CHILDREN = 20_000
SEED = 7


@dataclass
class Generated:
    directory: Path
    summary: SynthSummary
    people: dict[str, dict[str, Any]]
    raw_lines: dict[str, list[str]]
    lines: dict[str, list[dict[str, Any]]]
    truth: dict[tuple[str, str], str]
    truth_rows: list[dict[str, str]]
    labels: dict[tuple[str, str], list[str]]
    by_person: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def person_of(self, source: str, line: dict[str, Any]) -> dict[str, Any]:
        return self.people[self.truth[(source, line["source_record_id"])]]

    def labels_of(self, source: str, line: dict[str, Any]) -> list[str]:
        return self.labels[(source, line["source_record_id"])]


def read(directory: Path, summary: SynthSummary) -> Generated:
    people: dict[str, dict[str, Any]] = {}
    with open(directory / "people.jsonl", encoding="utf-8") as handle:
        for raw in handle:
            person = json.loads(raw)
            people[person["person_id"]] = person
    raw_lines: dict[str, list[str]] = {}
    lines: dict[str, list[dict[str, Any]]] = {}
    for source in SOURCES:
        with open(directory / f"{source}.jsonl", encoding="utf-8", newline="") as handle:
            raw_lines[source] = handle.read().split("\n")
        assert raw_lines[source][-1] == "", f"{source} must end with a newline"
        raw_lines[source].pop()
        lines[source] = [json.loads(raw) for raw in raw_lines[source]]
    with open(directory / "truth.csv", encoding="utf-8", newline="") as handle:
        truth_rows = list(csv.DictReader(handle))
    truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in truth_rows}
    with open(directory / "noise.csv", encoding="utf-8", newline="") as handle:
        labels = {
            (r["source"], r["source_record_id"]): [x for x in r["noise"].split(";") if x]
            for r in csv.DictReader(handle)
        }
    generated = Generated(directory, summary, people, raw_lines, lines, truth, truth_rows, labels)
    by_person: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for source, source_lines in lines.items():
        for line in source_lines:
            by_person[truth[(source, line["source_record_id"])]][source].append(line)
    generated.by_person = by_person
    return generated


@pytest.fixture(scope="session")
def england(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    directory = tmp_path_factory.mktemp("synthetic-england")
    summary = write_synthetic_feeds(directory, CHILDREN, seed=SEED, as_of=AS_OF)
    return read(directory, summary)

"""docs/synthetic-data.md quotes the error rates of rates.py; the two must not drift apart."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from contactpoint.synth import rates
from contactpoint.synth.rates import NoiseRates

DOC = Path(__file__).resolve().parents[2] / "docs" / "synthetic-data.md"
ROW = re.compile(r"^\| `(\w+)` \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \|")


def test_error_table_matches_rates() -> None:
    table: dict[str, list[float]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            table[match.group(1)] = [round(float(x) / 100, 6) for x in match.groups()[1:]]
    assert set(table) == {f.name for f in fields(NoiseRates)}
    for label, documented in table.items():
        actual = [getattr(rates.NOISE[source], label) for source in rates.SOURCES]
        assert documented == [round(a, 6) for a in actual], label


def test_doc_names_every_source_and_file() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in [*rates.SOURCES, "truth.csv", "people.jsonl", "noise.csv"]:
        assert name in text

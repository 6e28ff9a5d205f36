"""The demo's guide picks its team's area and children a newcomer can find."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from contactpoint.cli.demo_guide import busiest_social_care_area, examples
from contactpoint.synth import write_synthetic_feeds


def test_the_team_area_is_where_the_feeds_put_most_social_care(tmp_path: Path) -> None:
    (tmp_path / "local-authority.jsonl").write_text(
        "\n".join(
            json.dumps({"services": [{"type": "social_care", "organisation": organisation}]})
            for organisation in (
                "Kent Children's Social Care",
                "Kent Children's Social Care",
                "Leeds Children's Social Care",
                "Kent Youth Service",
            )
        )
    )
    assert busiest_social_care_area(tmp_path) == "Kent"
    assert busiest_social_care_area(tmp_path / "missing") == "Leeds"


def test_examples_are_children_of_the_synthetic_population_under_18(tmp_path: Path) -> None:
    today = date(2026, 11, 24)
    write_synthetic_feeds(tmp_path, 300, seed=5, as_of=today)
    area = busiest_social_care_area(tmp_path)
    found = examples(tmp_path, area, today)
    people = [json.loads(line) for line in (tmp_path / "people.jsonl").read_text().splitlines()]
    assert found
    for example in found:
        person = next(
            p
            for p in people
            if p["family_name"] == example.family_name
            and p["date_of_birth"] == example.date_of_birth.isoformat()
        )
        assert example.given_name == person["given_names"][0]
        assert (today - example.date_of_birth).days < 18 * 365
    assert any(area in example.why for example in found)

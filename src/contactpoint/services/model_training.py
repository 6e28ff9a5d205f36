"""Training a match model from feed files (``contactpoint linkage train``).

Reads feeds with the same strict parser as ingest, so a model is trained on
exactly what the matcher will see; the records never leave memory and nothing
is written but the model, which holds weights and name frequencies only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from contactpoint.errors import ContactPointError
from contactpoint.feeds.reader import ParsedLine, open_feed, parse_stream
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.model import DEFAULT_THRESHOLDS, MatchModel
from contactpoint.identity.training import train


def read_features(feeds: Mapping[str, Path], today: date) -> list[MatchFeatures]:
    records: list[MatchFeatures] = []
    for path in sorted(feeds.values()):
        with open_feed(path) as stream:
            for item in parse_stream(stream, today):
                if isinstance(item, ParsedLine) and item.line.child is not None:
                    records.append(MatchFeatures.of(item.line.child.to_domain()))
    return records


def train_from_feeds(
    feeds: Mapping[str, Path],
    *,
    children: int,
    version: str,
    today: date,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> MatchModel:
    records = read_features(feeds, today)
    if len(records) < 1000:
        raise ContactPointError(
            f"Only {len(records):,} usable records in those feeds; training needs at least "
            "1,000. Give a larger sample (for example 'contactpoint synth --children 100000')."
        )
    return train(
        records,
        thresholds=DEFAULT_THRESHOLDS,
        version=version,
        children=children,
        seed=seed,
        progress=progress,
    )

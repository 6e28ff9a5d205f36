"""Estimating the match model from unlabelled records, as Splink does.

* ``u`` (how often two *different* children agree at each level) comes from
  random pairs: at national scale nearly every random pair is two different
  children.
* ``m`` (how often two records of the *same* child agree at each level) comes
  from expectation-maximisation over blocked pairs, one blocking rule at a
  time; a comparison the rule blocks on is held fixed in that round (its
  agreement is forced by the blocking), and each ``m`` is the mean of the
  rounds that could estimate it.
* Name frequencies for the term-frequency adjustment are counted from the
  sample.

No ground truth is used. Thresholds are policy, passed in by the caller.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from contactpoint.identity.comparisons import COMPARISONS, D, F, G, Levels, N, P, U, compare
from contactpoint.identity.features import MatchFeatures
from contactpoint.identity.model import MatchModel, Thresholds

MAX_BLOCK = 40
"""Larger blocks are skipped in training: they are common-name collisions, not
clusters of one child, and would swamp the estimate with quadratic pairs."""
MIN_NAME_COUNT = 3


@dataclass(frozen=True)
class TrainingRule:
    name: str
    key: Callable[[MatchFeatures], str | None]
    fixed: tuple[int, ...]


TRAINING_RULES: tuple[TrainingRule, ...] = (
    TrainingRule("nhs_number", lambda f: f.nhs_number, (N,)),
    TrainingRule("upn", lambda f: f.upn, (U,)),
    TrainingRule("family_and_birth", lambda f: f"{f.family}|{f.date_of_birth}", (F, D)),
    TrainingRule("given_and_family", lambda f: f"{f.first}|{f.family}", (G, F)),
    TrainingRule(
        "postcode_and_birth",
        lambda f: f"{f.postcode}|{f.date_of_birth}" if f.postcode else None,
        (P, D),
    ),
)


def _blocked_pairs(
    records: Sequence[MatchFeatures], key: Callable[[MatchFeatures], str | None]
) -> Iterator[tuple[int, int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        value = key(record)
        if value is not None:
            blocks[value].append(index)
    for members in blocks.values():
        if 1 < len(members) <= MAX_BLOCK:
            for i, first in enumerate(members):
                for second in members[i + 1 :]:
                    yield first, second


def estimate_u(
    records: Sequence[MatchFeatures], pairs: int, rng: random.Random
) -> list[list[float]]:
    counts = [Counter[int]() for _ in COMPARISONS]
    n = len(records)
    for _ in range(pairs):
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        for index, level in enumerate(compare(records[i], records[j])):
            counts[index][level] += 1
    return [
        _distribution(c, len(comparison.levels))
        for c, comparison in zip(counts, COMPARISONS, strict=True)
    ]


def _distribution(counts: Counter[int], levels: int, smoothing: float = 0.5) -> list[float]:
    """Proportions over the non-null levels, smoothed so no level has u = 0."""
    total = sum(counts[level] for level in range(1, levels)) + smoothing * (levels - 1)
    return [0.0] + [(counts[level] + smoothing) / total for level in range(1, levels)]


def _initial_m() -> list[list[float]]:
    """Start from "records of one child nearly always agree", as Splink's defaults do.

    A start that lets disagreement look likely for a match lets EM settle on
    the wrong fixed point, where twins (alike in all but given name and
    identifiers) count as one child.
    """
    m = []
    for comparison in COMPARISONS:
        k = len(comparison.levels) - 1
        tail = [0.5**i for i in range(1, k)]
        scale = 0.1 / sum(tail)
        m.append([0.0, 0.9, *(t * scale for t in tail)])
    return m


def expectation_maximisation(
    patterns: Counter[Levels],
    m: list[list[float]],
    u: list[list[float]],
    fixed: Sequence[int],
    iterations: int = 25,
    prior: float = 0.3,
) -> tuple[list[list[float]], float]:
    m = [list(levels) for levels in m]
    items = list(patterns.items())
    for _ in range(iterations):
        sums = [[0.0] * len(c.levels) for c in COMPARISONS]
        matched = 0.0
        total = 0.0
        for levels, count in items:
            ratio = 1.0
            for index, level in enumerate(levels):
                if level and index not in fixed:
                    ratio *= m[index][level] / u[index][level]
            posterior = prior * ratio / (prior * ratio + (1 - prior))
            weight = posterior * count
            matched += weight
            total += count
            for index, level in enumerate(levels):
                if level:
                    sums[index][level] += weight
        prior = matched / total if total else prior
        for index, comparison in enumerate(COMPARISONS):
            if index in fixed:
                continue
            m[index] = _distribution_from_sums(sums[index], len(comparison.levels))
    return m, prior


def _distribution_from_sums(sums: list[float], levels: int, floor: float = 1e-6) -> list[float]:
    total = sum(sums[1:]) + floor * (levels - 1)
    return [0.0] + [(sums[level] + floor) / total for level in range(1, levels)]


def train(
    records: Sequence[MatchFeatures],
    *,
    thresholds: Thresholds,
    version: str,
    children: int,
    seed: int = 0,
    u_pairs: int = 300_000,
    progress: Callable[[str], None] | None = None,
) -> MatchModel:
    """Estimate a model from ``records`` drawn from a population of ``children``.

    The population size (known from how the sample was drawn, not from any
    labels) fixes the prior, which :meth:`MatchModel.for_population` rescales.
    """
    if len(records) < 1000:
        raise ValueError("training needs at least 1,000 records")
    rng = random.Random(seed)  # noqa: S311 - sampling pairs, not secrets
    say = progress or (lambda _message: None)
    say(f"estimating u from {u_pairs:,} random pairs")
    u = estimate_u(records, u_pairs, rng)
    estimates: dict[int, list[list[float]]] = defaultdict(list)
    matches_found = 0.0
    rounds: list[dict[str, Any]] = []
    for rule in TRAINING_RULES:
        patterns = Counter(
            compare(records[i], records[j]) for i, j in _blocked_pairs(records, rule.key)
        )
        say(f"EM on {sum(patterns.values()):,} pairs blocked by {rule.name}")
        m, prior = expectation_maximisation(patterns, _initial_m(), u, rule.fixed)
        pairs_in_rule = sum(patterns.values())
        matches_found = max(matches_found, prior * pairs_in_rule)
        rounds.append({"rule": rule.name, "pairs": pairs_in_rule, "match_share": round(prior, 4)})
        for index in range(len(COMPARISONS)):
            if index not in rule.fixed:
                estimates[index].append(m[index])
    m_final = []
    for index, comparison in enumerate(COMPARISONS):
        rows = estimates[index]
        m_final.append(
            [sum(row[level] for row in rows) / len(rows) for level in range(len(comparison.levels))]
        )
    n = len(records)
    given = Counter(r.first for r in records if r.first)
    family = Counter(r.family for r in records if r.family)
    return MatchModel(
        version=version,
        prior=matches_found / (n * (n - 1) / 2),
        m=m_final,
        u=u,
        given_frequency={k: v / n for k, v in sorted(given.items()) if v >= MIN_NAME_COUNT},
        family_frequency={k: v / n for k, v in sorted(family.items()) if v >= MIN_NAME_COUNT},
        rare_frequency=MIN_NAME_COUNT / n,
        thresholds=thresholds,
        provenance={
            "records": n,
            "children": children,
            "seed": seed,
            "u_pairs": u_pairs,
            "em_rounds": rounds,
        },
    )

"""Pairwise linkage metrics against small examples counted by hand and by brute force."""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping
from itertools import combinations

import pytest

from linkage_metrics import (
    CLEAN,
    GroupRecall,
    contingency,
    pairs,
    pairwise_quality,
    quality_from_contingency,
    recall_by_label,
    recall_by_source_pair,
)

# Truth: persons P1 = {a, b, c}, P2 = {d, e}, P3 = {f}.
TRUTH = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P2", "f": "P3"}


def test_pairs_counts_unordered_pairs() -> None:
    assert [pairs(n) for n in range(6)] == [0, 0, 1, 3, 6, 10]
    with pytest.raises(ValueError, match="cannot have"):
        pairs(-1)


def test_hand_computed_example() -> None:
    # Predicted X = {a, b}, Y = {c, d, e}, Z = {f}.
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Z"}
    q = pairwise_quality(predicted, TRUTH)
    # Cells: (X,P1)=2 -> 1 pair, (Y,P1)=1 -> 0, (Y,P2)=2 -> 1, (Z,P3)=1 -> 0.
    assert q.true_positive_pairs == 2
    assert q.predicted_pairs == 1 + 3 + 0
    assert q.true_pairs == 3 + 1 + 0
    assert q.precision == pytest.approx(0.5)
    assert q.recall == pytest.approx(0.5)
    assert q.f1 == pytest.approx(0.5)
    assert q.false_positive_pairs == 2
    assert q.false_negative_pairs == 2
    assert q.false_merges == 1  # Y holds P1 and P2
    assert q.split_persons == 1  # P1 is in X and Y
    assert (q.records, q.predicted_clusters, q.true_clusters) == (6, 3, 3)


def test_perfect_prediction() -> None:
    predicted = {key: f"cluster-{person}" for key, person in TRUTH.items()}
    q = pairwise_quality(predicted, TRUTH)
    assert (q.precision, q.recall, q.f1) == (1.0, 1.0, 1.0)
    assert (q.false_merges, q.split_persons) == (0, 0)


def test_all_singletons_predicted_has_precision_one_and_recall_zero() -> None:
    predicted = {key: key for key in TRUTH}
    q = pairwise_quality(predicted, TRUTH)
    assert q.predicted_pairs == 0
    assert q.precision == 1.0  # nothing claimed, so nothing claimed wrongly
    assert q.recall == 0.0
    assert q.f1 == 0.0
    assert q.false_merges == 0
    assert q.split_persons == 2  # P1 and P2; P3 has one record


def test_one_big_cluster_has_full_recall() -> None:
    predicted = dict.fromkeys(TRUTH, "everyone")
    q = pairwise_quality(predicted, TRUTH)
    assert q.predicted_pairs == 15
    assert q.true_positive_pairs == 4
    assert q.precision == pytest.approx(4 / 15)
    assert q.recall == 1.0
    assert q.f1 == pytest.approx(2 * (4 / 15) / (4 / 15 + 1))
    assert q.false_merges == 1
    assert q.split_persons == 0


def test_truth_of_singletons_has_recall_one() -> None:
    truth = {key: key for key in "xyz"}
    q = pairwise_quality(dict.fromkeys(truth, "one"), truth)
    assert q.true_pairs == 0
    assert q.recall == 1.0
    assert q.precision == 0.0
    assert q.f1 == 0.0


def test_records_must_match() -> None:
    with pytest.raises(ValueError, match="1 only in the prediction, 2 only in the truth"):
        pairwise_quality({"a": 1, "z": 1}, {"a": 1, "b": 1, "c": 1})


def test_contingency_counts_cells() -> None:
    cells = contingency({"a": "X", "b": "X", "c": "Y"}, {"a": "P", "b": "Q", "c": "P"})
    assert cells == {("X", "P"): 1, ("X", "Q"): 1, ("Y", "P"): 1}
    assert quality_from_contingency({("X", "P"): 0}).records == 0


def _brute_force(
    predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]
) -> tuple[int, int, int]:
    tp = predicted_pairs = true_pairs = 0
    for a, b in combinations(sorted(predicted, key=str), 2):
        same_predicted = predicted[a] == predicted[b]
        same_true = truth[a] == truth[b]
        predicted_pairs += same_predicted
        true_pairs += same_true
        tp += same_predicted and same_true
    return tp, predicted_pairs, true_pairs


@pytest.mark.parametrize("seed", range(25))
def test_agrees_with_enumerating_pairs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    truth = {i: rng.randrange(max(1, n // 3)) for i in range(n)}
    predicted = {i: rng.randrange(max(1, n // rng.randint(1, 4))) for i in range(n)}
    q = pairwise_quality(predicted, truth)
    assert (q.true_positive_pairs, q.predicted_pairs, q.true_pairs) == _brute_force(
        predicted, truth
    )


def test_recall_by_label() -> None:
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Z"}
    labels = {"c": ["typo_given"], "d": ["typo_given", "case"]}
    result = recall_by_label(predicted, TRUTH, labels)
    # typo_given on c (P1) and d (P2). True pairs touching them: P1 has ab, ac, bc, of
    # which ac and bc touch c; P2's de touches d: 3. Found: de only (c is apart from a, b).
    assert result["typo_given"] == GroupRecall(true_pairs=3, found_pairs=1)
    assert result["case"] == GroupRecall(true_pairs=1, found_pairs=1)
    # Clean pairs (neither labelled): ab only; found.
    assert result[CLEAN] == GroupRecall(true_pairs=1, found_pairs=1)
    assert result["typo_given"].recall == pytest.approx(1 / 3)


def test_recall_by_label_agrees_with_enumerating_pairs() -> None:
    rng = random.Random(7)
    keys = range(60)
    truth = {k: rng.randrange(15) for k in keys}
    predicted = {k: rng.randrange(20) for k in keys}
    labels = {k: rng.sample(["x", "y", "z"], rng.randint(0, 2)) for k in keys}
    result = recall_by_label(predicted, truth, labels)
    for label in ("x", "y", "z", CLEAN):
        true_pairs = found = 0
        for a, b in combinations(keys, 2):
            if label == CLEAN:
                counted = not labels[a] and not labels[b]
            else:
                counted = label in labels[a] or label in labels[b]
            if counted and truth[a] == truth[b]:
                true_pairs += 1
                found += predicted[a] == predicted[b]
        assert result[label] == GroupRecall(true_pairs=true_pairs, found_pairs=found)


def test_recall_by_source_pair() -> None:
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Z"}
    source_of = {"a": "pds", "b": "cb", "c": "cb", "d": "pds", "e": "cb", "f": "pds"}
    result = recall_by_source_pair(predicted, TRUTH, source_of)
    # P1: a(pds) b(cb) c(cb): cb-pds pairs ab, ac; cb-cb pair bc. P2: d(pds) e(cb).
    assert result[("cb", "pds")] == GroupRecall(true_pairs=3, found_pairs=2)  # ab, de
    assert result[("cb", "cb")] == GroupRecall(true_pairs=1, found_pairs=0)
    assert ("pds", "pds") not in result
    assert GroupRecall(true_pairs=0, found_pairs=0).recall == 1.0

"""Pairwise linkage quality, counted from cluster sizes rather than by listing pairs.

Every source record is put in one predicted cluster (a ContactPoint child, or a
Splink cluster) and one true cluster (a person in the synthetic truth). Two
records are *predicted* to match when they share a predicted cluster and *truly*
match when they share a true cluster. Over all pairs of records:

- true positive pairs = the sum, over every non-empty cell (predicted cluster ∩
  true cluster) of the contingency table, of C(n, 2);
- predicted pairs = the sum over predicted clusters of C(n, 2);
- true pairs = the sum over true clusters of C(n, 2).

Precision = true positive pairs / predicted pairs, recall = true positive pairs /
true pairs, F1 their harmonic mean. By convention a prediction with no predicted
pairs (every record alone) has precision 1.0: it claims nothing, so nothing it
claims is wrong. Likewise a truth with no true pairs gives recall 1.0. F1 is 0.0
when precision and recall are both 0.

Counting from cluster sizes keeps this linear in the number of records: a million
children's records hold billions of pairs, which must never be enumerated.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
"""A record's key, e.g. ``(source, source_record_id)``."""

Cell = tuple[Hashable, Hashable]
"""(predicted cluster, true cluster)."""

CLEAN = "(clean)"
"""The pseudo-label for pairs where neither record carries any noise label."""


def pairs(n: int) -> int:
    """C(n, 2): how many unordered pairs n records make."""
    if n < 0:
        raise ValueError(f"a cluster cannot have {n} records")
    return n * (n - 1) // 2


def _ratio(numerator: int, denominator: int) -> float:
    return 1.0 if denominator == 0 else numerator / denominator


def f1_score(precision: float, recall: float) -> float:
    total = precision + recall
    return 0.0 if total == 0 else 2 * precision * recall / total


@dataclass(frozen=True)
class PairwiseQuality:
    records: int
    predicted_clusters: int
    true_clusters: int
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    false_merges: int
    """Predicted clusters holding records of more than one true person."""
    split_persons: int
    """True persons whose records are spread over more than one predicted cluster."""

    @property
    def precision(self) -> float:
        """1.0 when nothing is predicted to match (see the module docstring)."""
        return _ratio(self.true_positive_pairs, self.predicted_pairs)

    @property
    def recall(self) -> float:
        """1.0 when nothing truly matches: there was nothing to find."""
        return _ratio(self.true_positive_pairs, self.true_pairs)

    @property
    def f1(self) -> float:
        return f1_score(self.precision, self.recall)

    @property
    def false_positive_pairs(self) -> int:
        return self.predicted_pairs - self.true_positive_pairs

    @property
    def false_negative_pairs(self) -> int:
        return self.true_pairs - self.true_positive_pairs

    def as_dict(self) -> dict[str, int | float]:
        return {
            "records": self.records,
            "predicted_clusters": self.predicted_clusters,
            "true_clusters": self.true_clusters,
            "true_positive_pairs": self.true_positive_pairs,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
            "false_positive_pairs": self.false_positive_pairs,
            "false_negative_pairs": self.false_negative_pairs,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "false_merges": self.false_merges,
            "split_persons": self.split_persons,
        }


def _same_keys(predicted: Mapping[K, Hashable], truth: Mapping[K, Hashable]) -> None:
    if predicted.keys() != truth.keys():
        only_predicted = len(predicted.keys() - truth.keys())
        only_true = len(truth.keys() - predicted.keys())
        raise ValueError(
            "predicted and true clusterings must cover the same records: "
            f"{only_predicted} only in the prediction, {only_true} only in the truth"
        )


def contingency(predicted: Mapping[K, Hashable], truth: Mapping[K, Hashable]) -> Counter[Cell]:
    """How many records fall in each (predicted cluster, true cluster) cell."""
    _same_keys(predicted, truth)
    return Counter((cluster, truth[key]) for key, cluster in predicted.items())


def quality_from_contingency(cells: Mapping[Cell, int]) -> PairwiseQuality:
    predicted_sizes: Counter[Hashable] = Counter()
    true_sizes: Counter[Hashable] = Counter()
    persons_per_cluster: Counter[Hashable] = Counter()
    clusters_per_person: Counter[Hashable] = Counter()
    true_positive = 0
    for (predicted, true), n in cells.items():
        if n <= 0:
            continue
        predicted_sizes[predicted] += n
        true_sizes[true] += n
        persons_per_cluster[predicted] += 1
        clusters_per_person[true] += 1
        true_positive += pairs(n)
    return PairwiseQuality(
        records=sum(predicted_sizes.values()),
        predicted_clusters=len(predicted_sizes),
        true_clusters=len(true_sizes),
        true_positive_pairs=true_positive,
        predicted_pairs=sum(pairs(n) for n in predicted_sizes.values()),
        true_pairs=sum(pairs(n) for n in true_sizes.values()),
        false_merges=sum(1 for count in persons_per_cluster.values() if count > 1),
        split_persons=sum(1 for count in clusters_per_person.values() if count > 1),
    )


def pairwise_quality(
    predicted: Mapping[K, Hashable], truth: Mapping[K, Hashable]
) -> PairwiseQuality:
    """Pairwise precision, recall and F1 of ``predicted`` against ``truth``.

    Both map every record key to its cluster; they must hold the same keys.
    """
    return quality_from_contingency(contingency(predicted, truth))


@dataclass(frozen=True)
class GroupRecall:
    true_pairs: int
    found_pairs: int

    @property
    def recall(self) -> float:
        return _ratio(self.found_pairs, self.true_pairs)


def recall_by_label(
    predicted: Mapping[K, Hashable],
    truth: Mapping[K, Hashable],
    labels: Mapping[K, Collection[str]],
) -> dict[str, GroupRecall]:
    """Recall over the true pairs touched by each noise label.

    For a label L, the true pairs counted are those in which at least one of the
    two records carries L; a true pair is found when both records are also in one
    predicted cluster. Per cluster of n records of which k carry L, that is
    C(n, 2) − C(n − k, 2) pairs. The pseudo-label :data:`CLEAN` counts the true
    pairs in which *neither* record carries any label: C(k, 2) over clean records.
    A record missing from ``labels`` has no labels.
    """
    _same_keys(predicted, truth)
    cell_sizes: Counter[Cell] = Counter()
    true_sizes: Counter[Hashable] = Counter()
    cell_labelled: dict[str, Counter[Cell]] = defaultdict(Counter)
    true_labelled: dict[str, Counter[Hashable]] = defaultdict(Counter)
    for key, cluster in predicted.items():
        person = truth[key]
        cell = (cluster, person)
        cell_sizes[cell] += 1
        true_sizes[person] += 1
        for label in set(labels.get(key, ())) or {CLEAN}:
            cell_labelled[label][cell] += 1
            true_labelled[label][person] += 1

    def touched(n: int, k: int, label: str) -> int:
        return pairs(k) if label == CLEAN else pairs(n) - pairs(n - k)

    result: dict[str, GroupRecall] = {}
    for label in sorted(true_labelled):
        true_pairs = sum(touched(true_sizes[p], k, label) for p, k in true_labelled[label].items())
        found = sum(touched(cell_sizes[c], k, label) for c, k in cell_labelled[label].items())
        result[label] = GroupRecall(true_pairs=true_pairs, found_pairs=found)
    return result


def recall_by_source_pair(
    predicted: Mapping[K, Hashable],
    truth: Mapping[K, Hashable],
    source_of: Mapping[K, str],
) -> dict[tuple[str, str], GroupRecall]:
    """Recall over the true pairs between records of two sources (or within one).

    Per cluster holding a records of source A and b of source B, A ≠ B, there are
    a·b such pairs; within one source, C(a, 2). Keys are sorted source names.
    """
    _same_keys(predicted, truth)
    per_cell: dict[Cell, Counter[str]] = defaultdict(Counter)
    per_person: dict[Hashable, Counter[str]] = defaultdict(Counter)
    for key, cluster in predicted.items():
        source = source_of[key]
        per_cell[(cluster, truth[key])][source] += 1
        per_person[truth[key]][source] += 1

    def pair_counts(groups: Collection[Counter[str]]) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for by_source in groups:
            sources = sorted(by_source)
            for i, a in enumerate(sources):
                counts[(a, a)] += pairs(by_source[a])
                for b in sources[i + 1 :]:
                    counts[(a, b)] += by_source[a] * by_source[b]
        return counts

    true_counts = pair_counts(list(per_person.values()))
    found_counts = pair_counts(list(per_cell.values()))
    return {
        pair: GroupRecall(true_pairs=n, found_pairs=found_counts[pair])
        for pair, n in sorted(true_counts.items())
        if n > 0
    }

"""The comparison system for the linkage benchmark: Splink 5 with DuckDB.

The four feeds are flattened into one table (one row per line, names normalised
as ContactPoint normalises them) and deduplicated as a whole. The model is
trained the way Splink's tutorials train one, without the truth: the chance two
random records match from deterministic rules, u by random sampling, m by
expectation maximisation over a few blocking rules. The truth is only used
afterwards, to score the clusters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.duckdb.database_api import DuckDBAPI
from splink.internals.splink_dataframe import SplinkDataFrame

from contactpoint.identity.normalise import first_given_name, normalise_name

RecordKey = tuple[str, str]
"""(source, source_record_id)."""

FIXED_THRESHOLD = 0.9
"""The match probability the headline Splink figure is clustered at, chosen before looking."""
SWEEP_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)
"""Also clustered, to show how the threshold trades precision for recall."""
PREDICT_FLOOR = min(SWEEP_THRESHOLDS)
"""Scored pairs below this probability are not kept: no threshold swept goes lower."""

PRIOR_RECALL = 0.7
"""A guess, not taken from the truth: the share of true pairs the deterministic rules
(same NHS number, same UPN, same first name + family name + date of birth) find."""
U_MAX_PAIRS = 1e7
EM_MAX_PAIRS = 5e6
SEED = 2026

COLUMNS = (
    "unique_id",
    "source",
    "source_record_id",
    "first_name",
    "other_given_names",
    "given_names",
    "family_name",
    "former_family_names",
    "preferred_name",
    "dob",
    "gender",
    "nhs_number",
    "upn",
    "postcode",
    "postcode_district",
    "town",
)


def _or_none(value: str) -> str | None:
    return value or None


def _postcode(raw: str | None) -> tuple[str | None, str | None]:
    """The postcode in one form (``LS1 4AB``) and its outward code (``LS1``)."""
    if not raw:
        return None, None
    compact = "".join(raw.split()).upper()
    if len(compact) < 5:
        return compact, None
    return f"{compact[:-3]} {compact[-3:]}", compact[:-3]


def flatten_line(source: str, line: Mapping[str, Any]) -> dict[str, Any] | None:
    """One feed line as one row for Splink, or None for an ``end`` line."""
    if line.get("action", "upsert") != "upsert":
        return None
    child: Mapping[str, Any] = line["child"]
    given_parts = normalise_name(child.get("given_names") or "").split()
    address = child.get("address") or {}
    postcode, district = _postcode(address.get("postcode"))
    preferred = child.get("preferred_name")
    gender = child.get("gender")
    former = [normalise_name(name) for name in child.get("former_family_names") or []]
    return {
        "unique_id": f"{source}|{line['source_record_id']}",
        "source": source,
        "source_record_id": line["source_record_id"],
        "first_name": given_parts[0] if given_parts else None,
        "other_given_names": _or_none(" ".join(given_parts[1:])),
        "given_names": given_parts or None,
        "family_name": _or_none(normalise_name(child.get("family_name") or "")),
        "former_family_names": [name for name in former if name] or None,
        "preferred_name": _or_none(first_given_name(preferred)) if preferred else None,
        "dob": child.get("date_of_birth"),
        "gender": gender if gender in ("female", "male", "other") else None,
        "nhs_number": child.get("nhs_number") or None,
        "upn": child.get("upn") or None,
        "postcode": postcode,
        "postcode_district": district,
        "town": _or_none(normalise_name(address.get("town") or "")),
    }


def read_feeds(feeds: Mapping[str, Path]) -> dict[str, list[Any]]:
    """All the feeds' lines as columns (a dict of lists: light on memory at a million)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for source, path in feeds.items():
        with path.open(encoding="utf-8") as handle:
            for text in handle:
                if not text.strip():
                    continue
                row = flatten_line(source, json.loads(text))
                if row is None:
                    continue
                for name in COLUMNS:
                    columns[name].append(row[name])
    return columns


def _name_levels(column: str) -> list[ComparisonLevelCreator]:
    return [
        cll.JaroWinklerLevel(column, 0.92),
        cll.JaroWinklerLevel(column, 0.88),
    ]


def comparisons() -> list[ComparisonCreator]:
    first_name = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name", term_frequency_adjustments=True),
            cll.CustomLevel(
                "first_name_l = preferred_name_r OR preferred_name_l = first_name_r "
                "OR preferred_name_l = preferred_name_r",
                label_for_charts="First name matches the other's preferred name",
            ),
            *_name_levels("first_name"),
            cll.CustomLevel(
                "list_has_any(given_names_l, given_names_r)",
                label_for_charts="Some given name in common",
            ),
            cll.JaroWinklerLevel("first_name", 0.7),
            cll.ElseLevel(),
        ],
    )
    family_name = cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[
            cll.NullLevel("family_name"),
            cll.ExactMatchLevel("family_name", term_frequency_adjustments=True),
            cll.CustomLevel(
                "replace(family_name_l, ' ', '') = replace(family_name_r, ' ', '')",
                label_for_charts="Same letters, spaced differently",
            ),
            cll.CustomLevel(
                "list_contains(former_family_names_r, family_name_l) "
                "OR list_contains(former_family_names_l, family_name_r) "
                "OR list_has_any(former_family_names_l, former_family_names_r)",
                label_for_charts="One's family name is among the other's former names",
            ),
            *_name_levels("family_name"),
            cll.CustomLevel(
                "list_has_any(string_split(family_name_l, ' '), string_split(family_name_r, ' '))",
                label_for_charts="A part of a compound family name in common",
            ),
            cll.JaroWinklerLevel("family_name", 0.7),
            cll.ElseLevel(),
        ],
    )
    date_of_birth = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
                "AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                label_for_charts="Day and month transposed",
            ),
            cll.LevenshteinLevel("dob", 1),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4)",
                label_for_charts="Same year of birth",
            ),
            cll.ElseLevel(),
        ],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel(
                "postcode_district_l = postcode_district_r",
                label_for_charts="Same postcode district (outward code)",
            ),
            cll.ElseLevel(),
        ],
    )
    return [
        first_name,
        family_name,
        date_of_birth,
        cl.ExactMatch("gender"),
        postcode,
        cl.ExactMatch("nhs_number"),
        cl.ExactMatch("upn"),
    ]


def prediction_rules() -> list[BlockingRuleCreator]:
    return [
        block_on("nhs_number"),
        block_on("upn"),
        block_on("dob", "substr(first_name, 1, 1)"),
        block_on("family_name", "substr(dob, 1, 4)"),
        block_on("postcode", "dob"),
        block_on("first_name", "family_name"),
    ]


def deterministic_rules() -> list[BlockingRuleCreator]:
    return [
        block_on("nhs_number"),
        block_on("upn"),
        block_on("first_name", "family_name", "dob"),
    ]


def training_rules() -> list[BlockingRuleCreator]:
    """EM rounds: each estimates m for the comparisons its blocking leaves free.

    Blocking on date of birth or postcode alone was tried first: those blocks are
    full of twins and siblings (same family name, address and often birthday), and
    EM learnt "same household" rather than "same child" (m for a different first
    name came out at 0.3). First name + date of birth keeps twins apart, and the
    national identifiers give blocks that are nearly all true matches, from which
    EM estimates how names and dates vary for one child.
    """
    return [
        block_on("first_name", "dob"),
        block_on("nhs_number"),
        block_on("upn"),
    ]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=list(comparisons()),
        blocking_rules_to_generate_predictions=list(prediction_rules()),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        additional_columns_to_retain=["source", "source_record_id"],
    )


def describe_model() -> dict[str, Any]:
    """What the report and docs say about the model, in words rather than SQL."""
    return {
        "splink_link_type": "dedupe_only over the union of the four feeds",
        "comparisons": {
            "first_name": "null / exact (term-frequency adjusted) / first or preferred name "
            "equals the other's preferred name / Jaro-Winkler >= 0.92 / >= 0.88 / "
            "some given name in common / Jaro-Winkler >= 0.7 / else",
            "family_name": "null / exact (term-frequency adjusted) / same letters ignoring "
            "spaces / one's name among the other's former names / Jaro-Winkler >= 0.92 / "
            ">= 0.88 / a part of a compound name in common / Jaro-Winkler >= 0.7 / else",
            "dob": "null / exact / day and month transposed / Levenshtein <= 1 / same year / else",
            "gender": "null (or 'unknown') / exact / else",
            "postcode": "null / exact / same outward code (district) / else",
            "nhs_number": "null / exact / else",
            "upn": "null / exact / else",
        },
        "probability_two_random_records_match": (
            "from deterministic rules (same NHS number; same UPN; same first name, family "
            f"name and date of birth) with an assumed recall of {PRIOR_RECALL}"
        ),
        "u": f"random sampling, max_pairs {U_MAX_PAIRS:.0e}, seed {SEED}",
        "m": "expectation maximisation, three rounds blocked on first_name + dob; "
        f"nhs_number; upn (each sampled to at most {EM_MAX_PAIRS:.0e} pairs)",
        "prediction_blocking_rules": [
            "nhs_number",
            "upn",
            "dob + first letter of first_name",
            "family_name + year of birth",
            "postcode + dob",
            "first_name + family_name",
        ],
        "clustering": "connected components over pairs at or above the threshold",
        "fixed_threshold": FIXED_THRESHOLD,
        "swept_thresholds": list(SWEEP_THRESHOLDS),
    }


@dataclass
class SplinkRun:
    records: int
    prepare_seconds: float
    """Reading and flattening the feeds, loading them into DuckDB (not in ``seconds``)."""
    train_seconds: float
    predict_seconds: float
    scored_pairs: int
    """Pairs scored at or above :data:`PREDICT_FLOOR`."""
    probability_two_random_records_match: float
    model_path: Path
    cluster_seconds: dict[float, float] = field(default_factory=dict)
    """Connected components at each threshold, each timed on its own."""

    def seconds(self, threshold: float = FIXED_THRESHOLD) -> float:
        """Training, prediction and clustering at one threshold: what one run costs."""
        return self.train_seconds + self.predict_seconds + self.cluster_seconds[threshold]

    def records_per_second(self, threshold: float = FIXED_THRESHOLD) -> float:
        seconds = self.seconds(threshold)
        return self.records / seconds if seconds > 0 else 0.0


def _cluster_map(db_api: DuckDBAPI, clustered: SplinkDataFrame) -> dict[RecordKey, str]:
    rows = db_api.duckdb_con.execute(
        f"SELECT source, source_record_id, CAST(cluster_id AS VARCHAR) "
        f"FROM {clustered.physical_name}"
    ).fetchall()
    return {(str(source), str(record)): str(cluster) for source, record, cluster in rows}


def _thresholds(extra: Sequence[float]) -> Iterator[float]:
    yield FIXED_THRESHOLD
    for threshold in extra:
        if threshold != FIXED_THRESHOLD:
            yield threshold


def run_splink(
    feeds: Mapping[str, Path],
    model_path: Path,
    workdir: Path,
    on_clusters: Callable[[float, dict[RecordKey, str]], None],
    *,
    threads: int = 2,
    memory_limit: str = "8GB",
    log: logging.Logger | None = None,
) -> SplinkRun:
    """Train, predict, and cluster at every swept threshold.

    ``feeds`` maps source name to JSONL file. Each threshold's clusters (record
    key to cluster id) are handed to ``on_clusters`` and then dropped, so only
    one clustering of a large run is held at a time. DuckDB gets ``threads``
    threads and spills to ``workdir`` beyond ``memory_limit``.
    """
    say = log.info if log else (lambda *_: None)
    started = time.perf_counter()
    columns = read_feeds(feeds)
    records = len(columns["unique_id"])
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET threads = {int(threads)}")
    connection.execute(f"SET memory_limit = '{memory_limit}'")
    connection.execute(f"SET temp_directory = '{workdir / 'duckdb-spill'}'")
    db_api = DuckDBAPI(connection=connection)
    table = db_api.register(columns, table_name="feed_records")
    del columns
    prepare_seconds = time.perf_counter() - started
    say("Splink: %s records loaded in %.1f s", records, prepare_seconds)

    started = time.perf_counter()
    linker = Linker(table, settings(), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        list(deterministic_rules()), recall=PRIOR_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    for rule in training_rules():
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, max_pairs=EM_MAX_PAIRS
        )
    train_seconds = time.perf_counter() - started
    say("Splink: trained in %.1f s", train_seconds)

    started = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=PREDICT_FLOOR, warning_mode="never"
    )
    predict_seconds = time.perf_counter() - started
    scored = connection.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()
    scored_pairs = int(scored[0][0])
    say("Splink: %s pairs scored in %.1f s", scored_pairs, predict_seconds)

    cluster_seconds: dict[float, float] = {}
    for threshold in _thresholds(SWEEP_THRESHOLDS):
        started = time.perf_counter()
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        cluster_seconds[threshold] = time.perf_counter() - started
        clusters = _cluster_map(db_api, clustered)
        clustered.drop_table_from_database_and_remove_from_cache()
        on_clusters(threshold, clusters)
        del clusters

    model_path.parent.mkdir(parents=True, exist_ok=True)
    model = linker.misc.save_model_to_json(str(model_path), overwrite=True)
    connection.close()
    return SplinkRun(
        records=records,
        prepare_seconds=prepare_seconds,
        train_seconds=train_seconds,
        predict_seconds=predict_seconds,
        cluster_seconds=cluster_seconds,
        scored_pairs=scored_pairs,
        probability_two_random_records_match=float(
            model.get("probability_two_random_records_match", 0.0)
        ),
        model_path=model_path,
    )

"""Linkage quality: ContactPoint's linker scored against synthetic truth, with Splink beside it.

Run ``.venv/bin/python benchmarks/linkage.py`` (optionally ``--sizes 10000,100000
--databases postgresql,sqlite --systems contactpoint,splink``). For each size it
generates a synthetic population with ``contactpoint synth`` (fixed seed and
reference date), ingests the four feeds into a fresh ContactPoint per database
(timed), exports the links, and scores them pairwise against ``truth.csv``; then
deduplicates the same feeds with Splink 5 on DuckDB and scores that the same way.
The pairwise definitions are in ``linkage_metrics.py``; see ``docs/linkage.md``.

Results are printed as tables and written to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from ingest import (
    DEFAULT_PG_ADMIN_URL,
    BenchmarkError,
    Machine,
    contactpoint_command,
    describe_machine,
    fresh_postgres_database,
    ingest_file,
    postgres_line,
    require_success,
    run_child,
    run_main,
    write_results,
)
from linkage_metrics import (
    GroupRecall,
    PairwiseQuality,
    contingency,
    quality_from_contingency,
    recall_by_label,
    recall_by_source_pair,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SOURCES = ("nhs-pds", "child-benefit", "school-census", "local-authority")
"""Ingested in this order: the national identifiers first, as a live index would hold them."""
AS_OF = "2026-06-01"
DEFAULT_SEED = 2026
SEARCH_STATE_FILE = "search-bench.json"
"""What ``benchmarks/search.py --reuse DIR`` reads from a kept population's directory."""

GOAL_PRECISION = 0.999
GOAL_RECALL = 0.99
GOAL_RECORDS_PER_SECOND = 2000.0
GOAL_LOAD_SECONDS = 30 * 60.0
"""From the issue: precision ≥ 0.999, recall ≥ 0.99, F1 above Splink's, and ingest
(with linking) of at least 2,000 records/s on PostgreSQL."""

RecordKey = tuple[str, str]

console = Console()


@dataclass(frozen=True)
class Synthetic:
    directory: Path
    children: int
    lines: dict[str, int]
    seconds: float
    truth: dict[RecordKey, str]
    labels: dict[RecordKey, tuple[str, ...]]
    seed: int = DEFAULT_SEED

    @property
    def records(self) -> int:
        return sum(self.lines.values())

    def feeds(self) -> dict[str, Path]:
        return {source: self.directory / f"{source}.jsonl" for source in SOURCES}


@dataclass
class SystemResult:
    children: int
    system: str
    quality: PairwiseQuality
    records: int
    seconds: float
    review_share: float | None
    by_label: dict[str, GroupRecall]
    by_source_pair: dict[tuple[str, str], GroupRecall]
    merged_person_sets: list[frozenset[str]] = field(repr=False)
    """The true persons of each falsely merged cluster (classified once people are read)."""
    detail: dict[str, Any] = field(default_factory=dict)
    merge_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "children": self.children,
            "system": self.system,
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records_per_second, 1),
            "review_share": self.review_share,
            **self.quality.as_dict(),
            "false_merge_kinds": self.merge_kinds,
            "recall_by_noise_label": {
                label: {**asdict(g), "recall": g.recall} for label, g in self.by_label.items()
            },
            "recall_by_source_pair": {
                f"{a}/{b}": {**asdict(g), "recall": g.recall}
                for (a, b), g in self.by_source_pair.items()
            },
            **self.detail,
        }


def child_environment(
    home: Path, database_url: str | None, population: int | None = None
) -> dict[str, str]:
    """The caller's environment without any ContactPoint setting but the ones given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONTACTPOINT_") or key == "CONTACTPOINT_LOG_LEVEL"
    }
    env["CONTACTPOINT_HOME"] = str(home)
    if database_url is not None:
        env["CONTACTPOINT_DATABASE_URL"] = database_url
    if population is not None:
        env["CONTACTPOINT_POPULATION"] = str(population)
    return env


def open_review_items(database_url: str) -> list[tuple[RecordKey, list[str]]]:
    """Each open review item: the queued record and its candidate children, best first."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT sr.source, sr.source_record_id, ri.candidates FROM review_items ri "
                    "JOIN source_records sr ON sr.id = ri.record_id WHERE ri.status = 'open'"
                )
            ).all()
    finally:
        engine.dispose()
    return [
        ((row.source, row.source_record_id), [c["child_id"] for c in json.loads(row.candidates)])
        for row in rows
    ]


def resolve_with_truth(
    predicted: Mapping[RecordKey, Hashable],
    items: list[tuple[RecordKey, list[str]]],
    truth: Mapping[RecordKey, str],
) -> dict[RecordKey, Hashable]:
    """What the index would be once a perfect reviewer had worked through the queue.

    Accept the first candidate child holding a record of the same person, else
    reject (the record stays a child of its own). Measures how much of the
    missing recall the queue holds, not how good reviewers are.
    """
    resolved = dict(predicted)
    members: dict[Hashable, set[RecordKey]] = defaultdict(set)
    for key, child in resolved.items():
        members[child].add(key)
    for key, candidates in items:
        person = truth.get(key)
        for candidate in candidates:
            if any(truth.get(other) == person for other in members.get(candidate, ())):
                source_child = resolved[key]
                for moved in members.pop(source_child, {key}):
                    resolved[moved] = candidate
                    members[candidate].add(moved)
                break
    return resolved


def read_truth(path: Path) -> dict[RecordKey, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            (row["source"], row["source_record_id"]): row["person_id"]
            for row in csv.DictReader(handle)
        }


def read_labels(path: Path) -> dict[RecordKey, tuple[str, ...]]:
    """noise.csv: each record's error labels (separated by ';'); clean records are left out."""
    labels: dict[RecordKey, tuple[str, ...]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names = tuple(name for name in (row["noise"] or "").split(";") if name)
            if names:
                labels[(row["source"], row["source_record_id"])] = names
    return labels


def generate(children: int, seed: int, workdir: Path) -> Synthetic:
    directory = workdir / f"synth-{children}"
    env = child_environment(workdir / "synth-home", None)
    result = run_child(
        [
            contactpoint_command(),
            "synth",
            "--children",
            str(children),
            "--out",
            str(directory),
            "--seed",
            str(seed),
            "--as-of",
            AS_OF,
        ],
        env,
        workdir,
    )
    require_success(f"contactpoint synth --children {children}", result)
    lines = {}
    for source in SOURCES:
        with (directory / f"{source}.jsonl").open("rb") as handle:
            lines[source] = sum(1 for line in handle if line.strip())
    truth = read_truth(directory / "truth.csv")
    if len(truth) != sum(lines.values()):
        raise BenchmarkError(f"truth.csv has {len(truth)} records, the feeds {sum(lines.values())}")
    return Synthetic(
        directory=directory,
        children=children,
        lines=lines,
        seconds=result.seconds,
        truth=truth,
        labels=read_labels(directory / "noise.csv"),
        seed=seed,
    )


def read_links(path: Path) -> dict[RecordKey, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            (row["source"], row["source_record_id"]): row["child_id"]
            for row in csv.DictReader(handle)
        }


def complete_prediction(
    predicted: Mapping[RecordKey, str], truth: Mapping[RecordKey, str]
) -> tuple[dict[RecordKey, Hashable], int]:
    """Every truth record with a cluster: one not held (rejected) is a cluster of its own."""
    extra = predicted.keys() - truth.keys()
    if extra:
        raise BenchmarkError(f"{len(extra)} linked records are not in truth.csv, e.g. {min(extra)}")
    complete: dict[RecordKey, Hashable] = dict(predicted)
    missing = 0
    for key in truth:
        if key not in complete:
            complete[key] = ("not held", key)
            missing += 1
    return complete, missing


def score(
    children: int,
    system: str,
    predicted: Mapping[RecordKey, Hashable],
    synthetic: Synthetic,
    *,
    records: int,
    seconds: float,
    review_share: float | None,
    breakdowns: bool = True,
) -> SystemResult:
    truth = synthetic.truth
    cells = contingency(predicted, truth)
    quality = quality_from_contingency(cells)
    persons: dict[Hashable, set[str]] = defaultdict(set)
    for cluster, person in cells:
        persons[cluster].add(str(person))
    merged = [frozenset(group) for group in persons.values() if len(group) > 1]
    return SystemResult(
        children=children,
        system=system,
        quality=quality,
        records=records,
        seconds=seconds,
        review_share=review_share,
        by_label=recall_by_label(predicted, truth, synthetic.labels) if breakdowns else {},
        by_source_pair=(
            recall_by_source_pair(predicted, truth, {key: key[0] for key in truth})
            if breakdowns
            else {}
        ),
        merged_person_sets=merged,
    )


REPORT_KEYS = ("lines", "accepted", "created", "linked", "updated", "queued_for_review", "rejected")


def ingest_feeds(
    command: str, env: dict[str, str], workdir: Path, database: str, synthetic: Synthetic
) -> tuple[float, dict[str, dict[str, Any]]]:
    seconds = 0.0
    per_source: dict[str, dict[str, Any]] = {}
    for source, feed in synthetic.feeds().items():
        report_path = workdir / f"report-{database}-{source}.json"
        result, report = ingest_file(command, source, feed, report_path, env, workdir)
        seconds += result.seconds
        per_source[source] = {key: report.get(key) for key in REPORT_KEYS}
        per_source[source]["seconds"] = round(result.seconds, 3)
        per_source[source]["peak_rss_mib"] = round(result.peak_rss_mib, 1)
        console.print(
            f"  {database:<10} {source:<16} {synthetic.lines[source]:>9,} lines "
            f"{result.seconds:8.1f} s {synthetic.lines[source] / result.seconds:8,.0f}/s  "
            f"created {report.get('created', 0):,} linked {report.get('linked', 0):,} "
            f"review {report.get('queued_for_review', 0):,} "
            f"rejected {report.get('rejected', 0):,}"
        )
        rejections = report.get("rejections") or []
        if rejections:
            console.print(f"    [yellow]first rejections:[/yellow] {rejections[:3]}")
    return seconds, per_source


def bulk_load(
    command: str, env: dict[str, str], workdir: Path, database: str, synthetic: Synthetic
) -> tuple[float, dict[str, dict[str, Any]]]:
    report_path = workdir / f"report-{database}-load.json"
    feeds = [str(path) for path in synthetic.feeds().values()]
    result = run_child([command, "load", *feeds, "--report", str(report_path)], env, workdir)
    require_success(f"contactpoint load ({database})", result)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    per_source = {
        feed["source"]: {key: feed.get(key) for key in REPORT_KEYS} for feed in report["feeds"]
    }
    console.print(
        f"  {database:<10} bulk load        {synthetic.records:>9,} records "
        f"{result.seconds:8.1f} s {synthetic.records / result.seconds:8,.0f}/s  "
        f"{report['children']:,} children, peak RSS {result.peak_rss_mib:,.0f} MiB"
    )
    per_source["all"] = {
        "seconds": round(result.seconds, 3),
        "peak_rss_mib": round(result.peak_rss_mib, 1),
    }
    return result.seconds, per_source


def keep_for_search(
    directory: Path, synthetic: Synthetic, database_url: str, links: Path, load_seconds: float
) -> None:
    """Leave the loaded database, its keys, the synthetic truth and the linker's links
    where ``benchmarks/search.py --reuse`` finds them, so one load serves both benchmarks."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(links, directory / "links.csv")
    state = {
        "database_url": database_url,
        "home": str(directory / "home"),
        "children": synthetic.children,
        "seed": synthetic.seed,
        "load_seconds": round(load_seconds, 1),
    }
    (directory / SEARCH_STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")


def run_contactpoint(
    database: str,
    synthetic: Synthetic,
    workdir: Path,
    admin_url: str,
    mode: str = "ingest",
    keep_in: Path | None = None,
) -> list[SystemResult]:
    """Incremental ingest feed by feed (``ingest``), or the bulk initial load (``load``).
    With ``keep_in`` (PostgreSQL only) the database and its keys stay, for the search
    benchmark."""
    command = contactpoint_command()
    home = (
        keep_in / "home"
        if keep_in is not None
        else workdir / f"home-{database}-{synthetic.children}"
    )

    def measure(url: str | None) -> list[SystemResult]:
        env = child_environment(home, url, population=synthetic.children)
        require_success("contactpoint init", run_child([command, "init"], env, workdir))
        if mode == "load":
            seconds, per_source = bulk_load(command, env, workdir, database, synthetic)
        else:
            seconds, per_source = ingest_feeds(command, env, workdir, database, synthetic)
        links = workdir / f"links-{database}-{synthetic.children}.csv"
        require_success(
            "contactpoint linkage export",
            run_child([command, "linkage", "export", "--out", str(links)], env, workdir),
        )
        predicted, missing = complete_prediction(read_links(links), synthetic.truth)
        if keep_in is not None and url is not None:
            keep_for_search(keep_in, synthetic, url, links, seconds)
        links.unlink()
        review = sum(int(s.get("queued_for_review") or 0) for s in per_source.values())
        scored = score(
            synthetic.children,
            f"ContactPoint {mode} ({database})",
            predicted,
            synthetic,
            records=synthetic.records,
            seconds=seconds,
            review_share=review / synthetic.records,
        )
        scored.detail = {
            "database": database,
            "mode": mode,
            "queued_for_review": review,
            "records_not_held": missing,
            "per_source": per_source,
        }
        items = open_review_items(url or f"sqlite:///{home / 'contactpoint.db'}")
        reviewed = score(
            synthetic.children,
            f"ContactPoint {mode} ({database}) after review",
            resolve_with_truth(predicted, items, synthetic.truth),
            synthetic,
            records=synthetic.records,
            seconds=seconds,
            review_share=0.0,
            breakdowns=False,
        )
        reviewed.detail = {"database": database, "review_items_resolved": len(items)}
        return [scored, reviewed]

    try:
        if database == "postgresql":
            with fresh_postgres_database(admin_url, keep=keep_in is not None) as url:
                return measure(url)
        return measure(None)
    finally:
        if keep_in is None:
            shutil.rmtree(home, ignore_errors=True)


def run_splink_side(
    synthetic: Synthetic, workdir: Path, model_path: Path
) -> tuple[list[SystemResult], dict[str, Any]]:
    """The fixed-threshold row, the best-F1 row (chosen with the truth), and the sweep."""
    import linkage_splink

    scored: dict[float, SystemResult] = {}

    def take(threshold: float, clusters: dict[RecordKey, str]) -> None:
        predicted, missing = complete_prediction(clusters, synthetic.truth)
        if missing:
            raise BenchmarkError(f"Splink's clusters left out {missing} records")
        scored[threshold] = score(
            synthetic.children,
            f"Splink p ≥ {threshold:g}",
            predicted,
            synthetic,
            records=synthetic.records,
            seconds=0.0,
            review_share=None,
            breakdowns=threshold == linkage_splink.FIXED_THRESHOLD,
        )

    run = linkage_splink.run_splink(synthetic.feeds(), model_path, workdir, take)
    if run.records != synthetic.records:
        raise BenchmarkError(
            f"Splink saw {run.records} records, the feeds hold {synthetic.records}"
        )
    fixed_threshold = linkage_splink.FIXED_THRESHOLD
    sweep: list[dict[str, Any]] = []
    for threshold, result in scored.items():
        result.seconds = run.seconds(threshold)
        q = result.quality
        sweep.append(
            {
                "threshold": threshold,
                "precision": q.precision,
                "recall": q.recall,
                "f1": q.f1,
                "false_merges": q.false_merges,
                "split_persons": q.split_persons,
                "cluster_seconds": round(run.cluster_seconds[threshold], 3),
            }
        )
    fixed = scored[linkage_splink.FIXED_THRESHOLD]
    fixed.system = f"Splink p ≥ {linkage_splink.FIXED_THRESHOLD:g} (fixed)"
    best_threshold = max(scored, key=lambda t: (scored[t].quality.f1, -t))
    timing = {
        "prepare_seconds": round(run.prepare_seconds, 3),
        "train_seconds": round(run.train_seconds, 3),
        "predict_seconds": round(run.predict_seconds, 3),
        "scored_pairs": run.scored_pairs,
        "probability_two_random_records_match": run.probability_two_random_records_match,
        "model_path": str(run.model_path),
    }
    fixed.detail = {"threshold": linkage_splink.FIXED_THRESHOLD, **timing}
    rows = [fixed]
    if best_threshold != linkage_splink.FIXED_THRESHOLD:
        best = scored[best_threshold]
        best.system = f"Splink p ≥ {best_threshold:g} (best F1, chosen with truth)"
        best.detail = {"threshold": best_threshold, "chosen_with_truth": True, **timing}
        rows.append(best)
    summary = {
        **timing,
        "fixed_threshold": linkage_splink.FIXED_THRESHOLD,
        "best_f1_threshold_chosen_with_truth": best_threshold,
        "sweep": sorted(sweep, key=lambda s: float(s["threshold"])),
        "model": linkage_splink.describe_model(),
    }
    console.print(
        f"  Splink: {run.records:,} records; prepare {run.prepare_seconds:.1f} s, train "
        f"{run.train_seconds:.1f} s, predict {run.predict_seconds:.1f} s "
        f"({run.scored_pairs:,} pairs ≥ {linkage_splink.PREDICT_FLOOR:g}), cluster at "
        f"{fixed_threshold:g} {run.cluster_seconds[fixed_threshold]:.1f} s"
    )
    console.print(f"  Splink model saved to {run.model_path}")
    return rows, summary


PERSON_ID = re.compile(r'"person_id"\s*:\s*"([^"]+)"')


def classify_merges(people_path: Path, results: Iterable[SystemResult]) -> None:
    """Whether each false merge joined children of one family (twins, siblings) or strangers.

    Reads only the people named in some false merge, so a million children's
    people.jsonl is scanned once and mostly not parsed.
    """
    results = list(results)
    wanted = {person for r in results for group in r.merged_person_sets for person in group}
    family: dict[str, str] = {}
    twin: set[str] = set()
    if wanted:
        with people_path.open(encoding="utf-8") as handle:
            for line in handle:
                found = PERSON_ID.search(line, 0, 200)
                if found is None or found.group(1) not in wanted:
                    continue
                person = json.loads(line)
                family[person["person_id"]] = str(person.get("family_id"))
                if person.get("twin"):
                    twin.add(person["person_id"])
    for r in results:
        kinds = {"twins": 0, "other_siblings": 0, "different_families": 0}
        for group in r.merged_person_sets:
            if len({family.get(p, p) for p in group}) > 1:
                kinds["different_families"] += 1
            elif len(group & twin) >= 2:
                kinds["twins"] += 1
            else:
                kinds["other_siblings"] += 1
        r.merge_kinds = kinds


def ratio(value: float) -> str:
    return f"{value:.4f}"


def results_table(results: list[SystemResult], seed: int) -> Table:
    table = Table(
        title=f"Pairwise linkage quality against synthetic truth (seed {seed}, as of {AS_OF})"
    )
    for name in ("children", "system"):
        table.add_column(name)
    for name in (
        "precision",
        "recall",
        "F1",
        "false merges",
        "split persons",
        "to review",
        "records/s",
        "seconds",
    ):
        table.add_column(name, justify="right")
    for r in results:
        q = r.quality
        table.add_row(
            f"{r.children:,}",
            r.system,
            ratio(q.precision),
            ratio(q.recall),
            ratio(q.f1),
            f"{q.false_merges:,}",
            f"{q.split_persons:,}",
            "—" if r.review_share is None else f"{r.review_share:.2%}",
            f"{r.records_per_second:,.0f}",
            f"{r.seconds:.1f}",
        )
    return table


def breakdown_table(
    title: str,
    header: str,
    results: list[SystemResult],
    rows: dict[str, dict[str, GroupRecall]],
) -> Table:
    table = Table(title=title)
    table.add_column(header)
    table.add_column("true pairs", justify="right")
    for r in results:
        table.add_column(r.system.replace(" deterministic", ""), justify="right")
    for name, per_system in rows.items():
        true_pairs = next(iter(per_system.values())).true_pairs
        cells = [
            f"{per_system[r.system].recall:.4f}" if r.system in per_system else "—" for r in results
        ]
        table.add_row(name, f"{true_pairs:,}", *cells)
    return table


def print_breakdowns(children: int, results: list[SystemResult]) -> None:
    shown = [r for r in results if r.by_label]
    if not shown:
        return
    by_label: dict[str, dict[str, GroupRecall]] = defaultdict(dict)
    by_pair: dict[str, dict[str, GroupRecall]] = defaultdict(dict)
    for r in shown:
        for label, g in r.by_label.items():
            by_label[label][r.system] = g
        for (a, b), g in r.by_source_pair.items():
            by_pair[f"{a} / {b}"][r.system] = g
    console.print(
        breakdown_table(
            f"Recall by noise label, {children:,} children",
            "true pairs where either record has",
            shown,
            dict(sorted(by_label.items())),
        )
    )
    console.print(
        breakdown_table(
            f"Recall by source pair, {children:,} children", "sources", shown, dict(by_pair)
        )
    )


def goal_verdicts(results: list[SystemResult]) -> list[dict[str, Any]]:
    verdicts: list[dict[str, Any]] = []
    splink_f1 = {
        r.children: r.quality.f1
        for r in results
        if r.system.startswith("Splink") and "fixed" in r.system
    }
    for r in results:
        if not r.system.startswith("ContactPoint") or "after review" in r.system:
            continue
        q = r.quality
        checks: list[tuple[str, bool | None, str]] = [
            ("precision ≥ 0.999", q.precision >= GOAL_PRECISION, ratio(q.precision)),
            ("recall ≥ 0.99", q.recall >= GOAL_RECALL, ratio(q.recall)),
        ]
        if r.children in splink_f1:
            checks.append(
                (
                    "F1 above Splink's",
                    q.f1 > splink_f1[r.children],
                    f"{ratio(q.f1)} vs {ratio(splink_f1[r.children])}",
                )
            )
        if (
            r.detail.get("database") == "postgresql"
            and r.detail.get("mode") == "load"
            and "after review" not in r.system
            and r.children >= 1_000_000
        ):
            checks.append(
                (
                    "initial load of 1M children under 30 minutes",
                    r.seconds < GOAL_LOAD_SECONDS * r.children / 1_000_000,
                    f"{r.seconds / 60:.1f} min",
                )
            )
        if (
            r.detail.get("database") == "postgresql"
            and r.detail.get("mode") == "ingest"
            and "after review" not in r.system
        ):
            checks.append(
                (
                    "ingest ≥ 2,000 records/s on PostgreSQL",
                    r.records_per_second >= GOAL_RECORDS_PER_SECOND,
                    f"{r.records_per_second:,.0f}/s",
                )
            )
        for goal, met, measured in checks:
            verdicts.append(
                {
                    "children": r.children,
                    "system": r.system,
                    "goal": goal,
                    "measured": measured,
                    "met": met,
                }
            )
    return verdicts


def print_machine(machine: Machine) -> None:
    console.print(
        f"Machine: {machine.cpu}, {machine.cores} cores, {machine.ram_gib} GiB RAM, {machine.os}"
    )
    console.print(f"Python {machine.python}, SQLite {machine.sqlite}, {postgres_line(machine)}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", default="10000,100000", help="comma-separated numbers of children"
    )
    parser.add_argument(
        "--databases",
        default="postgresql,sqlite",
        help="comma-separated: postgresql, sqlite (ContactPoint runs once per database)",
    )
    parser.add_argument(
        "--systems",
        default="contactpoint,splink",
        help="comma-separated: contactpoint, splink (default both)",
    )
    parser.add_argument(
        "--modes",
        default="ingest,load",
        help="comma-separated: ingest (feed by feed), load (bulk initial load)",
    )
    parser.add_argument(
        "--ingest-max",
        type=int,
        default=100_000,
        help="skip feed-by-feed ingest above this many children (the bulk load still runs)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="synthetic data seed")
    parser.add_argument(
        "--keep-for-search",
        type=Path,
        metavar="DIR",
        help="keep the PostgreSQL load's database, keys and synthetic truth in DIR for "
        "benchmarks/search.py --reuse DIR (one size, PostgreSQL, load mode)",
    )
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("CONTACTPOINT_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="PostgreSQL URL of a database to run CREATE DATABASE from",
    )
    args = parser.parse_args(argv)

    def split(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    try:
        args.size_list = [int(s.replace("_", "")) for s in split(args.sizes)]
    except ValueError:
        parser.error("--sizes must be comma-separated whole numbers, e.g. 10000,100000")
    if not args.size_list or min(args.size_list) < 10:
        parser.error("--sizes must be at least 10 children")
    args.database_list = split(args.databases)
    unknown = set(args.database_list) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--databases takes postgresql and/or sqlite, not {sorted(unknown)}")
    args.mode_list = split(args.modes)
    if not args.mode_list or set(args.mode_list) - {"ingest", "load"}:
        parser.error("--modes takes ingest and/or load")
    args.system_list = split(args.systems)
    unknown = set(args.system_list) - {"contactpoint", "splink"}
    if unknown or not args.system_list:
        parser.error(f"--systems takes contactpoint and/or splink, not {sorted(unknown)}")
    if "contactpoint" in args.system_list and not args.database_list:
        parser.error("ContactPoint needs at least one database in --databases")
    if args.keep_for_search is not None:
        if (
            len(args.size_list) != 1
            or "postgresql" not in args.database_list
            or "load" not in args.mode_list
            or "contactpoint" not in args.system_list
        ):
            parser.error(
                "--keep-for-search keeps one PostgreSQL load: give one size, and "
                "postgresql, load and contactpoint among --databases, --modes and --systems"
            )
        if (args.keep_for_search / SEARCH_STATE_FILE).exists():
            parser.error(f"{args.keep_for_search} already holds a kept population")
        args.keep_for_search = args.keep_for_search.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not console.is_terminal:
        console.width = max(console.width, 150)
    want_contactpoint = "contactpoint" in args.system_list
    want_postgres = want_contactpoint and "postgresql" in args.database_list
    machine = describe_machine(args.pg_admin_url, want_postgres)
    if want_postgres and machine.postgresql is None:
        console.print(
            f"[red]PostgreSQL is not reachable at {args.pg_admin_url}.[/red] Start it "
            "(scripts/ensure-postgres) or run with --databases sqlite."
        )
        return 2
    print_machine(machine)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results: list[SystemResult] = []
    sizes: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="cp-linkage-") as temporary:
        workdir = Path(temporary)
        for children in args.size_list:
            console.print(f"\n[bold]{children:,} children[/bold] (seed {args.seed}, as of {AS_OF})")
            synthetic = generate(children, args.seed, workdir)
            console.print(
                f"  synthetic feeds: {synthetic.records:,} records "
                f"({', '.join(f'{s} {n:,}' for s, n in synthetic.lines.items())}) "
                f"in {synthetic.seconds:.1f} s"
            )
            size_results: list[SystemResult] = []
            info: dict[str, Any] = {
                "seed": args.seed,
                "as_of": AS_OF,
                "lines": synthetic.lines,
                "records": synthetic.records,
                "persons": len(set(synthetic.truth.values())),
                "synth_seconds": round(synthetic.seconds, 3),
            }
            if want_contactpoint:
                for database in args.database_list:
                    for mode in args.mode_list:
                        if mode == "ingest" and children > args.ingest_max:
                            continue
                        keep_in = (
                            args.keep_for_search
                            if database == "postgresql" and mode == "load"
                            else None
                        )
                        size_results.extend(
                            run_contactpoint(
                                database, synthetic, workdir, args.pg_admin_url, mode, keep_in
                            )
                        )
            if "splink" in args.system_list:
                model_path = RESULTS / f"splink-model-{children}-{stamp}.json"
                rows, info["splink"] = run_splink_side(synthetic, workdir, model_path)
                size_results.extend(rows)
            classify_merges(synthetic.directory / "people.jsonl", size_results)
            print_breakdowns(children, size_results)
            results.extend(size_results)
            sizes[children] = info
            if args.keep_for_search is not None:
                shutil.move(synthetic.directory, args.keep_for_search / "synth")
                console.print(
                    f"Kept for the search benchmark: benchmarks/search.py --reuse "
                    f"{args.keep_for_search}"
                )
            shutil.rmtree(synthetic.directory, ignore_errors=True)

    console.print()
    print_machine(machine)
    console.print(results_table(results, args.seed))
    for r in results:
        if r.merge_kinds and r.quality.false_merges:
            kinds = ", ".join(
                f"{n:,} {kind.replace('_', ' ')}" for kind, n in r.merge_kinds.items()
            )
            console.print(f"  {r.children:,} {r.system}: false merges joined {kinds}")
    for s, info in sizes.items():
        if "splink" in info:
            sweep = ", ".join(
                f"{p['threshold']:g}: F1 {p['f1']:.4f}" for p in info["splink"]["sweep"]
            )
            console.print(f"  Splink threshold sweep at {s:,} children: {sweep}")
    verdicts = goal_verdicts(results)
    if verdicts:
        console.print("\n[bold]Goals from the issue[/bold]")
    for v in verdicts:
        mark = "[green]met[/green]" if v["met"] else "[red]NOT met[/red]"
        console.print(f"  {v['children']:,} {v['system']}: {v['goal']}: {v['measured']}, {mark}")

    write_results(
        RESULTS / f"linkage-{stamp}.json",
        machine,
        {
            "sizes": {str(k): v for k, v in sizes.items()},
            "goals": {
                "precision": GOAL_PRECISION,
                "recall": GOAL_RECALL,
                "f1": "above Splink's (fixed threshold)",
                "records_per_second_postgresql": GOAL_RECORDS_PER_SECOND,
            },
            "verdicts": verdicts,
            "results": [r.as_json() for r in results],
        },
    )
    return 0


if __name__ == "__main__":
    run_main(main)
